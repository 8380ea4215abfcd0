/**
 * Builders for Service and EndpointSlice JSON in proxy tests and benchmarks (kept in src so unit
 * tests beside the code and bench/ can share them).
 */
import { spawn } from 'node:child_process';
import type { NftSession, Spawner } from './backends/nftables/session.js';
import type { EndpointSliceLike, ServiceLike } from './model.js';
import { SERVICE_NAME_LABEL } from './model.js';

type Spec = NonNullable<ServiceLike['spec']>;

/** A Service `namespace/name` with the given spec (type ClusterIP unless overridden). */
export function makeService(nn: string, spec: Spec, status?: ServiceLike['status']): ServiceLike {
  const [namespace, name] = nn.split('/') as [string, string];
  return { metadata: { namespace, name }, spec: { type: 'ClusterIP', ...spec }, ...(status ? { status } : {}) };
}

/** One endpoint of {@link makeSlice}. */
export interface SliceEndpoint {
  ip: string;
  node?: string;
  zone?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice for Service `namespace/name`. */
export function makeSlice(
  nn: string,
  sliceName: string,
  ports: Array<{ name?: string; port: number; protocol?: string }>,
  endpoints: Array<string | SliceEndpoint>,
): EndpointSliceLike {
  const [namespace, name] = nn.split('/') as [string, string];
  return {
    metadata: { namespace, name: sliceName, labels: { [SERVICE_NAME_LABEL]: name } },
    addressType: 'IPv4',
    ports: ports.map((p) => ({ name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' })),
    endpoints: endpoints.map((e) => {
      const ep: SliceEndpoint = typeof e === 'string' ? { ip: e } : e;
      const ready = ep.ready ?? true;
      return {
        addresses: [ep.ip],
        conditions: { ready, serving: ep.serving ?? ready, terminating: ep.terminating ?? false },
        ...(ep.node ? { nodeName: ep.node } : {}),
        ...(ep.zone ? { zone: ep.zone } : {}),
      };
    }),
  };
}

/** Spawns inside the namespaces of process `pid` (a test sandbox's init) with stdin and stdout piped: for {@link NftSession}. */
export function nsenterSpawner(pid: number): Spawner {
  return (argv) =>
    spawn('nsenter', ['--target', String(pid), '--net', '--mount', '--pid', '--', ...argv], { stdio: ['pipe', 'pipe', 'ignore'] });
}

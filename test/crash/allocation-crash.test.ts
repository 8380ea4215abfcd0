/**
 * Issue 3's allocation crash test: `kill -9` in the middle of 500 Service creates (ClusterIP and
 * NodePort), restart on the same data directory, then no cluster IP or node port is held by two
 * Services and none has leaked — filling both ranges afterwards yields exactly their size minus
 * what the stored Services hold. Small ranges keep the exhaustion fast.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { StatusError } from '../../src/api/errors.js';
import type { KubeObject } from '../../src/api/meta.js';
import type { HttpClient } from '../../src/client/http.js';
import { R } from '../../src/client/types.js';
import { burst, startSvcnet } from './svcnet-process.js';

const SERVICE_CIDR = '10.96.0.0/22';
/** A /22 minus its network and broadcast addresses. */
const CLUSTER_IPS = 1024 - 2;
const PORT_RANGE = '30000-30599';
const NODE_PORTS = 600;
const NS = 'alloc';
const TOTAL = 500;

function service(name: string, type: 'ClusterIP' | 'NodePort'): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { type, selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

interface Held {
  ips: string[];
  ports: number[];
}

async function held(client: HttpClient): Promise<Held> {
  const all = await client.list(R.services);
  const ips: string[] = [];
  const ports: number[] = [];
  for (const s of all.items) {
    for (const ip of (s.spec.clusterIPs as string[] | undefined) ?? []) if (ip !== 'None') ips.push(ip);
    for (const p of (s.spec.ports as { nodePort?: number }[]) ?? []) if (p.nodePort) ports.push(p.nodePort);
    if (s.spec.healthCheckNodePort) ports.push(s.spec.healthCheckNodePort as number);
  }
  return { ips, ports };
}

/**
 * Creates Services of `type` (8 at a time) until the server says a range is full; returns how many
 * were made and the error that stopped them.
 */
async function fill(client: HttpClient, type: 'ClusterIP' | 'NodePort', prefix: string): Promise<{ made: number; error: StatusError }> {
  let made = 0;
  let next = 0;
  const errors: StatusError[] = [];
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (;;) {
        try {
          await client.create(R.services, service(`${prefix}-${next++}`, type));
          made++;
        } catch (e) {
          assert.ok(e instanceof StatusError, String(e));
          errors.push(e);
          return;
        }
      }
    }),
  );
  assert.equal(new Set(errors.map((e) => e.message)).size, 1, 'every worker stopped for the same reason');
  return { made, error: errors[0] };
}

const duplicates = <T>(xs: T[]) => xs.filter((x, i) => xs.indexOf(x) !== i);

test('kill -9 during 500 Service creates: afterwards no IP or port is held twice and none leaked', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'svcnet-crash-alloc-'));
  const args = ['--service-cluster-ip-range', SERVICE_CIDR, '--service-node-port-range', PORT_RANGE, '--simulated-nodes', '0'];
  let svc = await startSvcnet(dataDir, args);
  try {
    await svc.client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    let acked = 0;
    let killed = false;
    let killing: Promise<void> | undefined;
    const victim = svc;
    // Kill somewhere in the middle, at a point that varies from run to run.
    const killAt = 150 + Math.floor(Math.random() * 200);
    await burst(
      16,
      TOTAL,
      async (i) => {
        await victim.client.create(R.services, service(`s-${i}`, i % 2 ? 'NodePort' : 'ClusterIP'));
        if (++acked >= killAt && !killed) {
          killed = true;
          killing = victim.kill9();
        }
      },
      () => killed,
    );
    await killing;
    assert.equal(victim.child.signalCode, 'SIGKILL', 'svcnet was killed mid-burst');

    svc = await startSvcnet(dataDir, args);
    const before = await held(svc.client);
    assert.deepEqual(duplicates(before.ips), [], 'a cluster IP held by two Services');
    assert.deepEqual(duplicates(before.ports), [], 'a node port held by two Services');
    const stored = (await svc.client.list(R.services, { namespace: NS })).items.length;
    assert.ok(stored >= acked, `acknowledged ${acked} Services, ${stored} stored`);

    // Node ports first (each NodePort Service takes a cluster IP too), then the remaining IPs.
    const ports = await fill(svc.client, 'NodePort', 'np');
    assert.equal(ports.error.message, 'Internal error occurred: failed to allocate a nodePort: range is full');
    assert.equal(ports.made, NODE_PORTS - before.ports.length, 'node ports left = range size − held');
    const ips = await fill(svc.client, 'ClusterIP', 'ip');
    assert.equal(ips.error.message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
    assert.equal(ports.made + ips.made, CLUSTER_IPS - before.ips.length, 'cluster IPs left = range size − held');

    const after = await held(svc.client);
    assert.deepEqual(duplicates(after.ips), []);
    assert.deepEqual(duplicates(after.ports), []);
    assert.equal(after.ips.length, CLUSTER_IPS);
    assert.equal(after.ports.length, NODE_PORTS);
    t.diagnostic(`acknowledged ${acked} before kill -9, ${stored} stored; held ${before.ips.length} IPs, ${before.ports.length} ports`);
  } finally {
    await svc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/**
 * A real multi-node `svcnet up` cluster inside a sandbox (its own network, mount and pid
 * namespaces), for the packet-flow conformance suite and the network programming bench.
 *
 * Everything — the cluster, kubectl, curl, the load generator — runs inside the sandbox: the
 * sandbox's root namespace plays "the host" (it owns svcnet0 at 172.18.0.1 and routes the service
 * CIDR via node-1). Killing the sandbox removes every namespace, link, rule and process it held.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ExecResult, type Sandbox, sandboxExec, startInSandbox } from '../helpers/sandbox.js';

/** The checkout's root (bin/svcnet.js, the load generator). */
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** The three service proxy modes the suite runs against. */
export type ProxyMode = 'iptables' | 'nftables' | 'userspace';

/** Node IPs on svcnet0 by node name (svcnet's address plan: node-N is 172.18.0.(N+1)). */
export const nodeIP = (node: number): string => `172.18.0.${node + 1}`;

/** The address the sandbox's root namespace ("the host") has on svcnet0. */
export const HOST_IP = '172.18.0.1';

export interface ConformanceCluster {
  readonly mode: ProxyMode;
  readonly nodes: number;
  readonly sandbox: Sandbox;
  readonly dataDir: string;
  /** Runs a shell script in the sandbox's root namespace with KUBECONFIG set and the checkout as cwd. */
  sh(script: string, timeoutMs?: number): Promise<ExecResult>;
  /** Like {@link sh} but rejects (with what it printed) on a non-zero exit; resolves with stdout. */
  shOk(script: string, timeoutMs?: number): Promise<string>;
  /** `kubectl ARGS…`; rejects on failure; resolves with stdout. */
  kubectl(args: readonly string[], input?: string): Promise<string>;
  /** `kubectl apply -f -` of a manifest. */
  apply(manifest: string): Promise<void>;
  /** Runs argv inside node-N's network namespace (`svcnet node shell node-N -- argv`). */
  nodeShell(node: number, argv: readonly string[]): Promise<ExecResult>;
  /** Kills the sandbox (and so everything in it) and removes the data directory. */
  stop(): Promise<void>;
}

/** Single-quotes a word for sh. */
export const shq = (word: string): string => `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * Starts `svcnet up --nodes N --proxy-mode MODE` in a fresh sandbox and waits for every node to be
 * Ready. The sandbox is torn down if anything fails.
 */
export async function startConformanceCluster(mode: ProxyMode, nodes = 3): Promise<ConformanceCluster> {
  const root = mkdtempSync(join(tmpdir(), `svcnet-conf-${mode}-`));
  const dataDir = join(root, 'data');
  const env = { KUBECONFIG: join(dataDir, 'kubeconfig'), HOME: join(root, 'home') };
  const sandbox = await startInSandbox();
  const sh = (script: string, timeoutMs = 60_000) => sandboxExec(sandbox, ['sh', '-c', `cd ${shq(ROOT)}\n${script}`], { env, timeoutMs });
  const shOk = async (script: string, timeoutMs?: number) => {
    const r = await sh(script, timeoutMs);
    if (r.code !== 0) throw new Error(`script failed (exit ${r.code}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
    return r.stdout;
  };
  const kubectl = async (args: readonly string[], input?: string) => {
    const r = await sandboxExec(sandbox, ['kubectl', ...args], { env, input, timeoutMs: 60_000 });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const cluster: ConformanceCluster = {
    mode,
    nodes,
    sandbox,
    dataDir,
    sh,
    shOk,
    kubectl,
    apply: async (manifest) => {
      await kubectl(['apply', '-f', '-'], manifest);
    },
    nodeShell: (node, argv) =>
      sandboxExec(sandbox, [process.execPath, join(ROOT, 'bin/svcnet.js'), 'node', 'shell', `node-${node}`, '--', ...argv], {
        env,
        timeoutMs: 30_000,
      }),
    stop: async () => {
      await sandbox.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  try {
    await shOk(
      `node bin/svcnet.js up --nodes ${nodes} --proxy-mode ${mode} --data-dir ${shq(dataDir)} --port 0 >/dev/null
for i in $(seq 1 200); do
  [ "$(kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ')" = ${nodes} ] && exit 0
  sleep 0.1
done
echo "nodes not Ready" >&2; kubectl get nodes >&2; exit 1`,
      90_000,
    );
    return cluster;
  } catch (err) {
    await cluster.stop();
    throw err;
  }
}

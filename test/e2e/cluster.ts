/**
 * Test fixture: a real `svcnet up` cluster in a temporary data directory on a free port, and a
 * way to run the real kubectl against it with only the environment a user would have
 * (KUBECONFIG, and a private HOME so kubectl's discovery cache starts empty).
 */
import { type SpawnOptions, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SVCNET_BIN = fileURLToPath(new URL('../../bin/svcnet.js', import.meta.url));

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(cmd: string, args: string[], opts: SpawnOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { ...opts, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin!.end(opts.input ?? '');
  });
}

export interface TestCluster {
  dataDir: string;
  home: string;
  kubeconfig: string;
  env: NodeJS.ProcessEnv;
  kubectl(args: string[], input?: string): Promise<RunResult>;
  svcnet(args: string[]): Promise<RunResult>;
  stop(): Promise<void>;
}

export async function startCluster(extraArgs: string[] = []): Promise<TestCluster> {
  const root = mkdtempSync(join(tmpdir(), 'svcnet-e2e-'));
  const dataDir = join(root, 'data');
  const home = join(root, 'home');
  const kubeconfig = join(dataDir, 'kubeconfig');
  const env = { ...process.env, HOME: home, KUBECONFIG: kubeconfig };
  const svcnet = (args: string[]) => run(process.execPath, [SVCNET_BIN, ...args], { env });
  const up = await svcnet(['up', '--data-dir', dataDir, '--port', '0', ...extraArgs]);
  if (up.code !== 0) throw new Error(`svcnet up failed: ${up.stdout}${up.stderr}`);
  return {
    dataDir,
    home,
    kubeconfig,
    env,
    svcnet,
    kubectl: (args, input) => run('kubectl', args, { env, input }),
    stop: async () => {
      await svcnet(['down', '--data-dir', dataDir]);
      rmSync(root, { recursive: true, force: true });
    },
  };
}

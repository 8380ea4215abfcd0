/**
 * Crash-test fixture: `svcnet up --foreground` as a child process on a data directory, which the
 * test can kill with SIGKILL and start again on the same directory.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { HttpClient } from '../../src/client/http.js';
import { loadKubeconfig } from '../../src/cluster/kubeconfig.js';
import { SVCNET_BIN } from '../e2e/cluster.js';

export interface SvcnetProcess {
  child: ChildProcess;
  /** An HTTPS client from the kubeconfig this run wrote (the port changes between runs). */
  client: HttpClient;
  /** SIGKILL, then wait until the process is gone. */
  kill9(): Promise<void>;
  /** SIGTERM (a clean `svcnet down`), then wait. */
  stop(): Promise<void>;
}

/** Starts `svcnet up --foreground` on `dataDir` (a free port, SQLite) and resolves once it serves. */
export async function startSvcnet(dataDir: string, extraArgs: string[] = []): Promise<SvcnetProcess> {
  const args = [SVCNET_BIN, 'up', '--foreground', '--data-dir', dataDir, '--port', '0', '--store', 'sqlite', ...extraArgs];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (d: string) => {
      log += d;
      if (log.includes('API server listening on')) resolve();
    });
    child.once('exit', (code, signal) => reject(new Error(`svcnet exited during start-up (${code ?? signal}):\n${log}`)));
  });
  const client = new HttpClient(loadKubeconfig(`${dataDir}/kubeconfig`));
  const end = async (signal: NodeJS.Signals) => {
    client.close();
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, client, kill9: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/**
 * Runs `op(i)` for i = 0, 1, … with `concurrency` in flight until `stop()` says so (or `total` is
 * reached); failures of in-flight requests (the server was killed) end that worker quietly.
 */
export async function burst(concurrency: number, total: number, op: (i: number) => Promise<void>, stop: () => boolean): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stop() && next < total) {
        try {
          await op(next++);
        } catch {
          if (stop()) return;
          throw new Error('a write failed before the crash');
        }
      }
    }),
  );
}

/**
 * Running the proxy as its own process inside a sandbox's network namespace, fed by the
 * in-process test API server of this process:
 *
 *   test process: ApiHandler ─ HTTPS on 127.0.0.1:<port> ◀─ Unix socket relay (a file in a temp dir)
 *   sandbox:      `svcnet proxy --kubeconfig …` ─▶ 127.0.0.1:6443 relay ─▶ that Unix socket
 *
 * The proxy is a plain client with a kubeconfig, exactly as `svcnet proxy` runs against any
 * cluster, and it programs (or listens in) the namespace it runs in.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServer } from '../../src/apiserver/server.js';
import { writeKubeconfig } from '../../src/cluster/kubeconfig.js';
import { createCa, issueServingCert, newToken } from '../../src/cluster/pki.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';
import { type Sandbox, sandboxSpawn } from '../helpers/sandbox.js';

const LAUNCHER = new URL('./proxy-in-netns.ts', import.meta.url).pathname;

/** An API server reachable from inside any sandbox through a Unix socket. */
export interface SandboxApi {
  api: TestApiServer;
  /** The Unix socket the in-namespace relay connects to. */
  socketPath: string;
  /** A kubeconfig for https://127.0.0.1:6443 (the in-namespace relay). */
  kubeconfig: string;
  close(): Promise<void>;
}

export async function startSandboxApi(): Promise<SandboxApi> {
  const api = await startTestApiServer();
  const ca = await createCa('svcnet-test-ca');
  const serving = await issueServingCert({ caCertPem: ca.certPem, caKeyPem: ca.keyPem, commonName: 'apiserver', ips: ['127.0.0.1'] });
  const token = newToken();
  const https = await startServer(api.handler, {
    host: '127.0.0.1',
    port: 0,
    tls: { cert: serving.certPem, key: serving.keyPem },
    tokens: new Map([[token, 'proxy-test']]),
  });
  const dir = mkdtempSync(join(tmpdir(), 'svcnet-proxy-test-'));
  const socketPath = join(dir, 'api.sock');
  const relay = net.createServer((inbound) => {
    const outbound = net.connect(https.port, '127.0.0.1');
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(socketPath, resolve));
  const kubeconfig = join(dir, 'kubeconfig');
  writeKubeconfig(kubeconfig, { server: 'https://127.0.0.1:6443', caPem: ca.certPem, token });
  return {
    api,
    socketPath,
    kubeconfig,
    async close() {
      await new Promise<void>((resolve) => relay.close(() => resolve()));
      await https.close();
      await api.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A proxy process inside a sandbox. */
export interface SandboxProxy {
  child: ChildProcess;
  /** Everything it logged so far (klog lines on stderr). */
  logs(): string;
  /** Resolves once a log line matches (e.g. the first "SyncProxyRules complete"). */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts `svcnet proxy --kubeconfig … <args>` inside the sandbox (it dies with the sandbox). */
export function startProxyInSandbox(sandbox: Sandbox, api: SandboxApi, args: readonly string[]): SandboxProxy {
  const child = sandboxSpawn(sandbox, [
    process.execPath,
    '--import',
    // nsenter starts in the sandbox's root directory, where a bare 'tsx' would not resolve.
    import.meta.resolve('tsx'),
    LAUNCHER,
    api.socketPath,
    'proxy',
    '--kubeconfig',
    api.kubeconfig,
    '--min-sync-period',
    '0s',
    ...args,
  ]);
  let logs = '';
  const waiters: Array<() => void> = [];
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    logs += chunk;
    for (const w of waiters.splice(0)) w();
  });
  child.stdout!.resume();
  child.once('exit', () => {
    for (const w of waiters.splice(0)) w();
  });
  return {
    child,
    logs: () => logs,
    waitForLog(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`proxy never logged ${pattern}; logs:\n${logs}`)), timeoutMs);
        const check = () => {
          if (pattern.test(logs)) {
            clearTimeout(timer);
            resolve();
          } else if (child.exitCode !== null) {
            clearTimeout(timer);
            reject(new Error(`proxy exited (${child.exitCode}); logs:\n${logs}`));
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

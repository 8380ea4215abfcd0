/**
 * Tiny servers and clients for packet-flow tests, run inside a sandbox (optionally in one of its named network namespaces).
 */
import type { ChildProcess } from 'node:child_process';
import { inNetns } from '../../src/cluster/netns.js';
import { type Sandbox, sandboxSpawn, waitForLine } from './sandbox.js';

/** Answers every HTTP request with `body` and prints "listening <pid>" once bound. Args: host port body. */
const HTTP_SERVER = `
const [host, port, body] = process.argv.slice(1);
require('node:http').createServer((req, res) => res.end(body)).listen(Number(port), host, () => console.log('listening ' + process.pid));
`;

export interface TestServer {
  child: ChildProcess;
  /** Kills the server (it dies with its sandbox anyway). */
  stop(): Promise<void>;
}

/**
 * Starts an HTTP server that answers `body`, bound to `host:port`, inside `netns` of the sandbox (or its own namespace);
 * resolves once it is listening.
 */
export async function startHttpServer(
  sandbox: Sandbox,
  options: { netns?: string; host: string; port: number; body: string },
): Promise<TestServer> {
  const argv = [process.execPath, '-e', HTTP_SERVER, options.host, String(options.port), options.body];
  const child = sandboxSpawn(sandbox, options.netns ? inNetns(options.netns, argv) : argv);
  const line = await waitForLine(child, /^listening \d+$/);
  // nsenter forks into the sandbox's PID namespace, so the server is killed by its PID there, not through nsenter.
  const pid = line.split(' ')[1]!;
  return {
    child,
    async stop() {
      await sandbox.run(['kill', '-9', pid]).catch(() => {});
    },
  };
}

/** GETs `url` with curl inside `netns` of the sandbox (or its own namespace); returns the body, rejects on any failure. */
export async function curl(sandbox: Sandbox, url: string, netns?: string): Promise<string> {
  const argv = ['curl', '-sS', '--fail', '--max-time', '5', url];
  const { stdout } = await sandbox.run(netns ? inNetns(netns, argv) : argv);
  return stdout;
}

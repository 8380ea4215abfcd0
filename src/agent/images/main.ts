/**
 * Runs a builtin image's process: `node dist/image.cjs <runner> [args…]` (the lean bundle of
 * entry.ts), `svcnet image <runner> [args…]`, or `node --import tsx src/agent/images/entry.ts
 * <runner> [args…]` in development and tests.
 * The process runs inside the container's namespaces, so paths and ports are the pod's.
 */
import { NGINX_VERSION, startNginx } from './nginx.js';
import { printErr } from './output.js';
import { pause, runAgnhost, startHttpEcho, startWhoami } from './servers.js';

/** Names of the builtin runners. */
export const IMAGE_RUNNERS = ['nginx', 'agnhost', 'http-echo', 'whoami', 'pause'] as const;

/** Starts the runner; the returned promise settles once it serves (it keeps the process alive). */
export async function runImage(runner: string, args: readonly string[]): Promise<void> {
  // A container is stopped with SIGTERM; exit at once as these servers have nothing to flush.
  process.once('SIGTERM', () => process.exit(0));
  switch (runner) {
    case 'nginx': {
      const port = Number(process.env.SVCNET_NGINX_PORT ?? 80);
      printErr('/docker-entrypoint.sh: Configuration complete; ready for start up\n');
      await startNginx({ port });
      printErr(`${new Date().toISOString().replace('T', ' ').slice(0, 19).replace(/-/g, '/')} [notice] 1#1: nginx/${NGINX_VERSION}\n`);
      return;
    }
    case 'agnhost':
      return runAgnhost(args);
    case 'http-echo':
      await startHttpEcho(args);
      return;
    case 'whoami':
      await startWhoami(args);
      return;
    case 'pause':
      return pause();
    default:
      throw new Error(`unknown builtin image runner "${runner}" (known: ${IMAGE_RUNNERS.join(', ')})`);
  }
}

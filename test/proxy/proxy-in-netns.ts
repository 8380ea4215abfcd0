/**
 * Runs `svcnet proxy …` inside a network namespace whose API server lives outside it.
 *
 * A network namespace cannot reach the host's 127.0.0.1, but a Unix socket is a file and works
 * across namespaces. So this launcher first relays 127.0.0.1:6443 (inside the namespace) to the
 * Unix socket given as its first argument (which the test relays on to its API server), then runs
 * the real `svcnet proxy` command line with the remaining arguments. The kubeconfig the test
 * writes points at https://127.0.0.1:6443. This is the shape `svcnet up --nodes N` has too: one
 * proxy process per node namespace, talking to the API server over a socket it can reach.
 *
 * Usage: node --import tsx proxy-in-netns.ts <unix-socket> proxy --kubeconfig … --mode …
 */
import net from 'node:net';
import { Command } from 'commander';
import { registerProxyCommand } from '../../src/proxy/cli.js';

const [socketPath, ...args] = process.argv.slice(2);
if (!socketPath) throw new Error('usage: proxy-in-netns.ts <unix-socket> proxy [flags…]');

const relay = net.createServer((inbound) => {
  const outbound = net.connect(socketPath);
  inbound.pipe(outbound).pipe(inbound);
  inbound.on('error', () => outbound.destroy());
  outbound.on('error', () => inbound.destroy());
});
await new Promise<void>((resolve) => relay.listen(6443, '127.0.0.1', resolve));

const program = new Command().name('svcnet').exitOverride();
registerProxyCommand(program);
process.once('SIGTERM', () => relay.close());
await program.parseAsync(['node', 'svcnet', ...args]);
relay.close();

/**
 * The background control plane of `svcnet up` (dist/control-plane.cjs, loaded by up-child.ts):
 * `upCommand` in the foreground mode, without the CLI. The arguments are the ones `svcnet up`
 * itself passes, all of them explicit, so a strict parse of exactly those replaces commander.
 */
import { parseArgs } from 'node:util';
import { type UpOptions, upCommand } from './cluster-commands.js';

/** `svcnet up --foreground` from `args` (what follows `up`), as `upCommand` gets it from commander. */
export function parseUpArgs(args: readonly string[]): UpOptions {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      foreground: { type: 'boolean', default: false },
      'data-dir': { type: 'string' },
      port: { type: 'string', default: '6443' },
      host: { type: 'string', default: '127.0.0.1' },
      store: { type: 'string', default: 'sqlite' },
      'service-cluster-ip-range': { type: 'string', default: '10.96.0.0/12' },
      'service-node-port-range': { type: 'string', default: '30000-32767' },
      nodes: { type: 'string', default: '0' },
      'proxy-mode': { type: 'string', default: 'iptables' },
      'simulated-nodes': { type: 'string' },
    },
  });
  return {
    dataDir: values['data-dir'],
    foreground: values.foreground,
    port: values.port,
    host: values.host,
    store: values.store as UpOptions['store'],
    serviceClusterIpRange: values['service-cluster-ip-range'],
    serviceNodePortRange: values['service-node-port-range'],
    nodes: values.nodes,
    proxyMode: values['proxy-mode'] as UpOptions['proxyMode'],
    simulatedNodes: values['simulated-nodes'],
  };
}

/**
 * Runs `argv` = [node, up-child, CLI script, 'up', …]. The process's argv becomes the one the CLI
 * would have had ([node, CLI script, 'up', …]), since the control plane starts node agents with
 * `process.argv[1]`. Resolves once the control plane is ready (or has said why it is not).
 */
export async function main(argv: string[]): Promise<void> {
  const [node, , cliScript, command, ...args] = argv;
  if (!cliScript || command !== 'up') throw new Error(`usage: ${node} up-child.cjs <svcnet script> up --foreground [options]`);
  argv.splice(1, 2, cliScript);
  await upCommand(parseUpArgs(args));
}

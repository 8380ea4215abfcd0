/**
 * `svcnet node shell NODE [-- COMMAND…]`: a shell (or one command) inside a node's network
 * namespace, where `ip addr`, `iptables -t nat -L`, `ss -lntp` and `curl <clusterIP>` show what
 * they show on a real node.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { netnsPath } from '../cluster/netns.js';
import { DEFAULT_PREFIX } from '../cluster/topology.js';

export function nodeShellCommand(node: string, command: string[]): void {
  const netns = `${DEFAULT_PREFIX}${node}`;
  if (!existsSync(netnsPath(netns))) {
    process.stderr.write(`error: node "${node}" has no network namespace here (is the cluster up with --nodes?)\n`);
    process.exitCode = 1;
    return;
  }
  // `ip netns exec` also remounts /sys, so tools inside see the node's own interfaces.
  const argv = command.length ? command : [process.env.SHELL || '/bin/bash'];
  const r = spawnSync('ip', ['netns', 'exec', netns, ...argv], {
    stdio: 'inherit',
    env: { ...process.env, PS1: `[${node}] \\w# ` },
  });
  process.exitCode = r.status ?? 1;
}

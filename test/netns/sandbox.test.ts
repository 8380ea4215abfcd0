import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { hostRunner, NetnsOps } from '../../src/cluster/netns.js';
import {
  processAlive,
  runInSandbox,
  runNodeInSandbox,
  sandboxExec,
  startInSandbox,
  waitForLine,
  waitForProcessGone,
  withNetSandbox,
} from '../helpers/sandbox.js';

/** Read-only view of the host: listing is all these tests do outside a sandbox. */
const host = new NetnsOps(hostRunner);
const hostLinkNames = async () => (await host.listLinks()).map((l) => l.name).sort();

describe('network sandbox', () => {
  test('runs a script in fresh namespaces with lo up, private /var/run/netns, and its exit status', async () => {
    const result = await runInSandbox('ip -br link; ip netns add "$1"; ip netns list; echo "pid=$$"; exit 3', ['svcnet-t-run']);
    assert.equal(result.code, 3);
    const lines = result.stdout.trim().split('\n');
    assert.match(lines[0]!, /^lo\s+UNKNOWN\s.*<LOOPBACK,UP,LOWER_UP>/);
    assert.equal(lines.length, 3, `only lo in a new namespace, got:\n${result.stdout}`);
    assert.equal(lines[1], 'svcnet-t-run');
    assert.equal(lines[2], 'pid=1', 'the script is the init of its own PID namespace');
    assert.ok(!(await host.listNetns()).includes('svcnet-t-run'));
  });

  test('runs a node module inside', async () => {
    const result = await runNodeInSandbox(join(import.meta.dirname, 'fixtures', 'print-links.ts'));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), ['lo']);
  });

  test('everything made inside is gone when the sandbox stops', async () => {
    const tag = randomBytes(3).toString('hex');
    const names = { node: `svcnet-t-${tag}`, bridge: `sbr${tag}`, veth: `sv${tag}` };
    const linksBefore = await hostLinkNames();
    let sleepPid = 0;
    await withNetSandbox(async (sandbox) => {
      const ops = new NetnsOps(sandbox.run);
      await ops.addNetns(names.node);
      await ops.addBridge(names.bridge);
      await ops.addVethPair(names.veth, 'eth0', { peerNetns: names.node });
      await ops.setMaster(names.veth, names.bridge);
      await sandbox.run(['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', names.bridge, '-j', 'MASQUERADE']);
      // A detached grandchild with its output closed: the kind of process a crashing test would leave behind.
      const started = await sandboxExec(sandbox, `setsid sleep 300 >/dev/null 2>&1 < /dev/null & echo $!`);
      assert.equal(started.code, 0, started.stderr);
      const inner = await sandboxExec(sandbox, 'ip netns list; ip -br link; iptables -t nat -S POSTROUTING; ps -eo pid,comm');
      assert.match(inner.stdout, new RegExp(`^${names.node}`, 'm'));
      assert.match(inner.stdout, new RegExp(`^${names.veth}@`, 'm'));
      assert.match(inner.stdout, /-A POSTROUTING -o \S+ -j MASQUERADE/);
      sleepPid = findHostPid(sandbox.pid, 'sleep');
      assert.ok(processAlive(sleepPid));
      assert.ok(!(await host.listNetns()).includes(names.node), 'the namespace is visible only inside');
    });
    assert.ok(!processAlive(sleepPid), 'processes started inside die with the sandbox');
    assert.ok(!(await host.listNetns()).includes(names.node));
    const linksAfter = await hostLinkNames();
    for (const name of [names.bridge, names.veth]) assert.ok(!linksAfter.includes(name), `${name} not on the host`);
    assert.deepEqual(linksAfter, linksBefore, 'no new links on the host');
    const hostNat = await hostRunner(['iptables', '-t', 'nat', '-S', 'POSTROUTING']);
    assert.ok(!hostNat.stdout.includes(names.bridge), 'no rule on the host');
  });

  test('a sandbox dies with the test process that made it, even when that process is killed', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'orphan-sandbox.ts')], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const line = await waitForLine(child, /^sandbox \d+ server \d+$/);
    const [, sandboxPid, serverPid] = line.match(/^sandbox (\d+) server (\d+)$/)!.map(Number);
    assert.ok(processAlive(sandboxPid!) && processAlive(serverPid!));
    child.kill('SIGKILL');
    await waitForProcessGone(sandboxPid!);
    await waitForProcessGone(serverPid!);
  });

  test('sandboxExec reports failures without throwing; the runner throws', async () => {
    const sandbox = await startInSandbox();
    try {
      const result = await sandboxExec(sandbox, 'echo out; echo err >&2; exit 7');
      assert.deepEqual(result, { stdout: 'out\n', stderr: 'err\n', code: 7 });
      await assert.rejects(sandbox.run(['ip', 'link', 'set', 'nosuchdev', 'up']), /ip link set nosuchdev up: .*nosuchdev/);
    } finally {
      await sandbox.stop();
    }
    await sandbox.stop(); // twice is fine
  });
});

/** The host PID of the first process named `comm` among the sandbox init's descendants. */
function findHostPid(initPid: number, comm: string): number {
  const queue = [initPid];
  while (queue.length) {
    const pid = queue.shift()!;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    for (const child of children) {
      if (readFileSync(`/proc/${child}/comm`, 'utf8').trim() === comm) return child;
      queue.push(child);
    }
  }
  throw new Error(`no ${comm} under ${initPid}`);
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runInSandbox } from '../../../test/helpers/sandbox.js';
import { ADD_POD_NETNS_SCRIPT } from './pod-sandbox.js';

/**
 * Runs the script (as createPodSandbox does) inside a throw-away sandbox, then shows what it made.
 * `namesDir` is the directory the script checks for iproute2's set-up; the sandbox's own
 * /var/run/netns (a private tmpfs) is used either way, so nothing touches the host's.
 */
async function inSandbox(setup: string, namesDir = '/var/run/netns'): Promise<string> {
  const script = [
    'set -e',
    setup,
    `add() { sh -c '${ADD_POD_NETNS_SCRIPT.replace(/'/g, `'\\''`)}' svcnet-netns /var/run/netns/"$1" "$1" "$2"; }`,
    `add pod-a ${namesDir}`,
    // Made again (an agent restarted over a running pod): only lo is set up.
    'add pod-a /var/run/netns',
    'ip netns list',
    'ip -n pod-a -o link show lo',
  ].join('\n');
  const r = await runInSandbox(script);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

describe('pod network namespace', () => {
  test('made in one process with lo up, named where ip netns finds it; making it again only sets lo up', async () => {
    const out = await inSandbox('ip netns add node-1');
    assert.match(out, /^pod-a$/m);
    assert.match(out, /^node-1$/m);
    assert.match(out, /lo: <LOOPBACK,UP,LOWER_UP>/);
  });

  test('without the directory of named namespaces it lets ip netns add make it', async () => {
    const out = await inSandbox(':', '/var/run/netns/not-made-yet');
    assert.match(out, /^pod-a$/m);
    assert.match(out, /lo: <LOOPBACK,UP,LOWER_UP>/);
  });
});

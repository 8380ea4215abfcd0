/**
 * Runs the kubelet API cases (test/agent/kubelet.cases.ts) inside a fresh network + mount + PID
 * sandbox: the API server, the agent with its kubelet server, the pods and kubectl all live in it
 * and vanish with it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommandInSandbox } from '../helpers/sandbox.js';

test('kubectl logs/exec/attach/port-forward/run -it through the API server to the kubelet, inside a network sandbox', {
  timeout: 120_000,
}, async (t) => {
  const cases = join(import.meta.dirname, 'kubelet.cases.ts');
  // `env -u`: the parent runner's context must not leak in, or the inner runner refuses to run files.
  const argv = ['env', '-u', 'NODE_TEST_CONTEXT', process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', cases];
  const result = await runCommandInSandbox(argv, { env: { SVCNET_IN_SANDBOX: '1' }, timeoutMs: 110_000 });
  for (const line of result.stdout.trim().split('\n')) t.diagnostic(line);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
});

/**
 * Runs the agent integration cases (test/agent/cases/) inside a fresh network + mount + PID
 * sandbox, so pods' namespaces, bridges and processes vanish with it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCommandInSandbox } from '../helpers/sandbox.js';

test('node agent cases pass inside a network sandbox', { timeout: 120_000 }, async (t) => {
  const cases = join(import.meta.dirname, 'cases', 'agent.cases.ts');
  // `env -u`: the parent runner's context must not leak in, or the inner runner refuses to run files.
  const argv = ['env', '-u', 'NODE_TEST_CONTEXT', process.execPath, '--import', 'tsx', '--test', '--test-reporter=spec', cases];
  const result = await runCommandInSandbox(argv, {
    env: { SVCNET_IN_SANDBOX: '1' },
    timeoutMs: 110_000,
  });
  for (const line of result.stdout.trim().split('\n')) t.diagnostic(line);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
});

test('the nginx cases pass with the builtin nginx server (SVCNET_NGINX=builtin)', { timeout: 120_000 }, async (t) => {
  const cases = join(import.meta.dirname, 'cases', 'agent.cases.ts');
  const argv = [
    'env',
    '-u',
    'NODE_TEST_CONTEXT',
    process.execPath,
    '--import',
    'tsx',
    '--test',
    '--test-reporter=spec',
    '--test-name-pattern=nginx',
    cases,
  ];
  const result = await runCommandInSandbox(argv, { env: { SVCNET_IN_SANDBOX: '1', SVCNET_NGINX: 'builtin' }, timeoutMs: 110_000 });
  // Only the nginx cases run (the name pattern filters the rest out of this second pass, which the
  // inner runner counts as skipped): report the ones that ran, not its summary.
  for (const line of result.stdout.trim().split('\n')) if (/^\s*[✔✖]/.test(line)) t.diagnostic(line);
  assert.equal(result.code, 0, `${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /the nginx image runs the builtin server/);
});

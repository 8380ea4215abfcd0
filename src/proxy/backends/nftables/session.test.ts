/** The long-lived `nft -i` session on a real kernel, in a throwaway sandbox. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { withNetSandbox } from '../../../../test/helpers/sandbox.js';
import { nsenterSpawner } from '../../testing.js';
import { NftSession } from './session.js';

test('transactions apply one at a time; a failing one applies nothing and rejects with nft’s error; a dead process is replaced', async () => {
  await withNetSandbox(async (sandbox) => {
    const session = new NftSession(nsenterSpawner(sandbox.pid), 20_000);
    const list = async () => (await sandbox.run(['nft', 'list', 'table', 'ip', 't'])).stdout;
    try {
      // Several commands of one transaction, and two transactions queued at once.
      await Promise.all([
        session.apply('add table ip t\nadd chain ip t a { ip saddr 10.0.0.1 drop ; }\n'),
        session.apply('add chain ip t b { ip saddr 10.0.0.2 counter drop comment "two words" ; }\n'),
      ]);
      assert.match(await list(), /chain a \{\s+ip saddr 10\.0\.0\.1 drop/);
      assert.match(await list(), /chain b \{/);

      // Atomic: the valid first command of a failing transaction is not applied either.
      await assert.rejects(session.apply('add chain ip t c\nadd rule ip t nochain accept\n'), /No such file or directory/);
      assert.doesNotMatch(await list(), /chain c/);
      await session.apply('add chain ip t d\n');
      assert.match(await list(), /chain d/);

      // The process dies: the transaction in flight rejects, the next one starts a new process.
      const pid = (await sandbox.run(['sh', '-c', 'pgrep -x nft'])).stdout.trim();
      assert.ok(pid, 'the session runs nft');
      await sandbox.run(['kill', '-9', pid]);
      await assert.doesNotReject(async () => {
        for (let attempt = 0; ; attempt++) {
          try {
            await session.apply('add chain ip t e\n');
            return;
          } catch (err) {
            if (attempt > 0) throw err; // the first may meet the dying process
          }
        }
      });
      assert.match(await list(), /chain e/);
    } finally {
      session.close();
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SqliteStore } from '../../src/storage/sqlite.js';
import { record } from './conformance.js';

const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));

test('every acknowledged write survives kill -9 of the writer', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svcnet-crash-'));
  const path = join(dir, 'state.db');
  try {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, path], { stdio: ['ignore', 'pipe', 'inherit'] });
    const acked: string[] = [];
    let partial = '';
    const exited = new Promise<NodeJS.Signals | null>((resolve) => proc.on('close', (_code, signal) => resolve(signal)));
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!; // an unfinished line is not an acknowledgement
      acked.push(...lines);
      if (acked.length >= 300 && proc.exitCode === null && !proc.killed) proc.kill('SIGKILL');
    });
    assert.equal(await exited, 'SIGKILL', 'the writer was killed mid-burst, not finished');
    assert.ok(acked.length >= 300);

    const store = SqliteStore.open(path);
    try {
      for (const key of acked) assert.equal((await store.get(key))?.value.split(' ')[0], key, `acknowledged ${key} was lost`);
      const rec = record(store, '/crash/', 0);
      await rec.untilCount(acked.length);
      rec.watcher.close();
      assert.deepEqual(
        rec.events.slice(0, acked.length).map((ev) => [ev.type, ev.kv.key, ev.revision]),
        acked.map((key, i) => ['put', key, i + 1]),
      );
    } finally {
      await store.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

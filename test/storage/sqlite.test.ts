import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { openStore } from '../../src/storage/index.js';
import { SqliteStore } from '../../src/storage/sqlite.js';
import type { StoreEvent } from '../../src/storage/types.js';
import { record, runStoreConformance } from './conformance.js';

runStoreConformance('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'svcnet-store-'));
  return { store: SqliteStore.open(join(dir, 'state.db')), cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describe('SqliteStore on disk', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'svcnet-store-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  const replay = async (store: SqliteStore, from: number) => {
    const rec = record(store, '', from);
    await rec.untilCount((await store.currentRevision()) - from);
    rec.watcher.close();
    return rec.events;
  };

  test('a reopened file has every key, the history, and the revision continues', async () => {
    const path = join(dir, 'reopen', 'state.db');
    const first = (await openStore({ kind: 'sqlite', path })) as SqliteStore;
    await first.create('/a', 'a1'); // 1
    await first.create('/b', 'b1'); // 2
    await first.update('/a', 'a2'); // 3
    await first.delete('/b'); // 4
    await first.create('/b', 'b2'); // 5
    const before: StoreEvent[] = await replay(first, 0);
    await first.close();

    const second = SqliteStore.open(path);
    assert.equal(await second.currentRevision(), 5);
    assert.deepEqual((await second.list('')).items, [
      { key: '/a', value: 'a2', createRevision: 1, modRevision: 3 },
      { key: '/b', value: 'b2', createRevision: 5, modRevision: 5 },
    ]);
    assert.equal((await second.get('/a', 2))?.value, 'a1');
    assert.deepEqual(await replay(second, 0), before);
    assert.deepEqual(await second.create('/c', 'c'), { key: '/c', value: 'c', createRevision: 6, modRevision: 6 });
    await second.close();
  });

  test('compaction removes superseded rows and survives reopening, even of a trailing delete', async () => {
    const path = join(dir, 'compact.db');
    const first = SqliteStore.open(path);
    await first.create('/a', 'a1'); // 1
    await first.update('/a', 'a2'); // 2
    await first.create('/b', 'b1'); // 3
    await first.compact(2);
    await first.update('/a', 'a3'); // 4
    await first.delete('/b'); // 5
    const tail = await replay(first, 2);
    await first.compact(3);
    await first.close();

    const db = new Database(path, { readonly: true });
    const rows = db.prepare('SELECT id FROM kine ORDER BY id').pluck().all();
    db.close();
    assert.deepEqual(rows, [2, 3, 4, 5]);

    const second = SqliteStore.open(path);
    assert.equal(await second.compactedRevision(), 3);
    assert.deepEqual(await replay(second, 3), tail.slice(1));
    await second.compact(5);
    await second.close();

    const third = SqliteStore.open(path);
    assert.equal(await third.currentRevision(), 5);
    assert.equal(await third.compactedRevision(), 5);
    assert.deepEqual((await third.list('')).items, [{ key: '/a', value: 'a3', createRevision: 1, modRevision: 4 }]);
    assert.equal((await third.create('/b', 'b2')).createRevision, 6);
    await third.close();
  });
});

describe('SqliteStore checkpoints', () => {
  test('a worker thread copies the WAL into the database file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'svcnet-store-'));
    const path = join(dir, 'state.db');
    const store = SqliteStore.open(path);
    try {
      const sizeAfterOpen = statSync(path).size;
      await Promise.all(Array.from({ length: 300 }, (_, i) => store.create(`/registry/configmaps/default/cm-${i}`, 'x'.repeat(2000))));
      // The commits go to the WAL (the connection does no checkpoints of its own) until the
      // checkpointer's next round copies them into the database file.
      const deadline = Date.now() + 10_000;
      while (statSync(path).size === sizeAfterOpen) {
        assert.ok(Date.now() < deadline, 'no checkpoint within 10 s');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const db = new Database(path, { readonly: true });
      assert.equal((db.prepare('SELECT count(*) AS n FROM kine').get() as { n: number }).n, 300);
      db.close();
    } finally {
      await store.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

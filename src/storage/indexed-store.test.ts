import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IndexedStore, type Journal } from './indexed-store.js';
import { MvccIndex } from './mvcc.js';
import type { StoreEvent } from './types.js';

/** A journal that records its batches and can be told to fail or to check what is visible when it writes. */
class RecordingJournal implements Journal {
  batches: number[][] = [];
  fail = false;
  onWrite?: () => void;
  write(events: readonly StoreEvent[]): void {
    this.onWrite?.();
    if (this.fail) throw new Error('disk full');
    this.batches.push(events.map((ev) => ev.revision));
  }
  compact(): void {}
  close(): void {}
}

describe('IndexedStore group commit', () => {
  test('writes made in one turn are committed in one batch, in revision order', async () => {
    const journal = new RecordingJournal();
    const store = new IndexedStore(new MvccIndex(), journal);
    const kvs = await Promise.all(Array.from({ length: 50 }, (_, i) => store.create(`/k/${i}`, 'v')));
    assert.deepEqual(
      kvs.map((kv) => kv.modRevision),
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    assert.deepEqual(journal.batches, [Array.from({ length: 50 }, (_, i) => i + 1)]);
    await store.create('/k/late', 'v');
    assert.deepEqual(journal.batches[1], [51]);
  });

  test('a write is acknowledged, read and watched only after its batch is durable', async () => {
    const journal = new RecordingJournal();
    const store = new IndexedStore(new MvccIndex(), journal);
    const seen: number[] = [];
    store.watch('/k/', { fromRevision: 0, onEvent: (ev) => seen.push(ev.revision) });
    let durableAtWrite = -1;
    journal.onWrite = () => {
      durableAtWrite = seen.length;
    };
    const created = store.create('/k/a', '1');
    const read = store.get('/k/a');
    assert.equal(await read.then((kv) => kv?.value), '1');
    assert.equal((await created).modRevision, 1);
    assert.equal(durableAtWrite, 0, 'no watcher saw the event before the commit');
    assert.deepEqual(seen, [1]);
  });

  test('a watcher started while a batch is pending gets its events once, after the commit', async () => {
    const journal = new RecordingJournal();
    const store = new IndexedStore(new MvccIndex(), journal);
    await store.create('/k/a', '1');
    const pending = store.create('/k/b', '2');
    const seen: number[] = [];
    store.watch('/k/', { fromRevision: 0, onEvent: (ev) => seen.push(ev.revision) });
    await pending;
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(seen, [1, 2]);
  });

  test('a failed commit stops the store: the writers and every later call get the error', async () => {
    const journal = new RecordingJournal();
    const store = new IndexedStore(new MvccIndex(), journal);
    journal.fail = true;
    const results = await Promise.allSettled([store.create('/k/a', '1'), store.create('/k/b', '2')]);
    for (const r of results) {
      assert.equal(r.status, 'rejected');
      assert.match(String((r as PromiseRejectedResult).reason), /the store stopped: a commit failed.*disk full/);
    }
    await assert.rejects(store.get('/k/a'), /the store stopped/);
  });
});

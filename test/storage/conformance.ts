import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, test } from 'node:test';
import {
  CompactedError,
  KeyExistsError,
  KeyNotFoundError,
  RevisionMismatchError,
  type Store,
  StoreError,
  type StoreEvent,
  type Watcher,
} from '../../src/storage/types.js';

export interface StoreUnderTest {
  store: Store;
  cleanup(): Promise<void>;
}

/** A watch that records what it receives and lets a test await a condition instead of sleeping. */
export interface Recorder {
  events: StoreEvent[];
  errors: Error[];
  watcher: Watcher;
  /** Resolves once n events have arrived; rejects after 5 s so a missed event fails fast. */
  untilCount(n: number): Promise<void>;
  untilError(): Promise<Error>;
}

export function record(store: Store, prefix: string, fromRevision: number, onEvent?: (ev: StoreEvent) => void): Recorder {
  const events: StoreEvent[] = [];
  const errors: Error[] = [];
  let wake = () => {};
  const waitFor = <T>(ready: () => T | undefined, what: string) =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; got ${events.length} events`)), 5000);
      const check = () => {
        const value = ready();
        if (value === undefined) return false;
        clearTimeout(timer);
        resolve(value);
        return true;
      };
      if (check()) return;
      const previous = wake;
      wake = () => {
        previous();
        check();
      };
    });
  const watcher = store.watch(prefix, {
    fromRevision,
    onEvent: (ev) => {
      events.push(ev);
      onEvent?.(ev);
      wake();
    },
    onError: (err) => {
      errors.push(err);
      wake();
    },
  });
  return {
    events,
    errors,
    watcher,
    untilCount: async (n) => {
      await waitFor(() => (events.length >= n ? true : undefined), `${n} events`);
    },
    untilError: () => waitFor(() => errors[0], 'an error'),
  };
}

const revisions = (events: StoreEvent[]) => events.map((e) => e.revision);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Defines the node:test suites every Store backend must pass. */
export function runStoreConformance(name: string, makeStore: () => Promise<StoreUnderTest>): void {
  describe(`Store conformance: ${name}`, () => {
    let sut: StoreUnderTest;
    let store: Store;
    beforeEach(async () => {
      sut = await makeStore();
      store = sut.store;
    });
    afterEach(async () => {
      await store.close();
      await sut.cleanup();
    });

    describe('create / get', () => {
      test('a new store is at revision 0 with nothing compacted', async () => {
        assert.equal(await store.currentRevision(), 0);
        assert.equal(await store.compactedRevision(), 0);
        assert.equal(await store.get('/a'), undefined);
      });

      test('create sets createRevision and modRevision to the new revision', async () => {
        const a = await store.create('/a', 'A');
        assert.deepEqual(a, { key: '/a', value: 'A', createRevision: 1, modRevision: 1 });
        const b = await store.create('/b', 'B');
        assert.deepEqual(b, { key: '/b', value: 'B', createRevision: 2, modRevision: 2 });
        assert.equal(await store.currentRevision(), 2);
        assert.deepEqual(await store.get('/a'), a);
      });

      test('create of an existing key fails with KeyExistsError and does not bump the revision', async () => {
        await store.create('/a', 'A');
        await assert.rejects(store.create('/a', 'again'), (err) => err instanceof KeyExistsError && err.key === '/a');
        assert.equal(await store.currentRevision(), 1);
        assert.equal((await store.get('/a'))?.value, 'A');
      });

      test('get at an older revision returns the value as of then', async () => {
        await store.create('/a', 'v1');
        await store.update('/a', 'v2');
        await store.delete('/a');
        assert.equal((await store.get('/a', 1))?.value, 'v1');
        assert.equal((await store.get('/a', 2))?.value, 'v2');
        assert.equal(await store.get('/a', 3), undefined);
        assert.equal(await store.get('/a'), undefined);
      });

      test('get or list at a future revision fails', async () => {
        await store.create('/a', 'A');
        await assert.rejects(store.get('/a', 5), StoreError);
        await assert.rejects(store.list('/', { revision: 5 }), StoreError);
      });
    });

    describe('update', () => {
      test('bumps modRevision and keeps createRevision', async () => {
        await store.create('/a', 'v1');
        await store.create('/b', 'B');
        const updated = await store.update('/a', 'v2');
        assert.deepEqual(updated, { key: '/a', value: 'v2', createRevision: 1, modRevision: 3 });
        assert.deepEqual(await store.get('/a'), updated);
      });

      test('succeeds when the expected modRevision matches', async () => {
        const a = await store.create('/a', 'v1');
        const updated = await store.update('/a', 'v2', a.modRevision);
        assert.equal(updated.modRevision, 2);
      });

      test('fails with RevisionMismatchError carrying the current value when it does not match', async () => {
        await store.create('/a', 'v1');
        const current = await store.update('/a', 'v2');
        const err = await store.update('/a', 'v3', 1).catch((e: unknown) => e);
        assert.ok(err instanceof RevisionMismatchError);
        assert.equal(err.key, '/a');
        assert.deepEqual(err.current, current);
        assert.equal(await store.currentRevision(), 2);
        assert.equal((await store.get('/a'))?.value, 'v2');
      });

      test('of a missing key fails with KeyNotFoundError', async () => {
        await assert.rejects(store.update('/nope', 'x'), (err) => err instanceof KeyNotFoundError && err.key === '/nope');
        await assert.rejects(store.update('/nope', 'x', 1), KeyNotFoundError);
        assert.equal(await store.currentRevision(), 0);
      });
    });

    describe('delete', () => {
      test('removes the key and returns its last value at the delete revision', async () => {
        await store.create('/a', 'A');
        const deleted = await store.delete('/a');
        assert.deepEqual(deleted, { key: '/a', value: 'A', createRevision: 1, modRevision: 2 });
        assert.equal(await store.get('/a'), undefined);
        assert.equal(await store.currentRevision(), 2);
      });

      test('with a matching expected modRevision succeeds; with another fails with RevisionMismatchError', async () => {
        const a = await store.create('/a', 'A');
        await assert.rejects(
          store.delete('/a', a.modRevision + 7),
          (err) => err instanceof RevisionMismatchError && err.current.value === 'A',
        );
        assert.equal((await store.get('/a'))?.value, 'A');
        await store.delete('/a', a.modRevision);
        assert.equal(await store.get('/a'), undefined);
      });

      test('of a missing key fails with KeyNotFoundError', async () => {
        await assert.rejects(store.delete('/nope'), (err) => err instanceof KeyNotFoundError && err.key === '/nope');
      });

      test('revisions stay monotonic across delete and recreate; createRevision resets', async () => {
        await store.create('/a', 'v1');
        await store.delete('/a');
        const again = await store.create('/a', 'v2');
        assert.deepEqual(again, { key: '/a', value: 'v2', createRevision: 3, modRevision: 3 });
        const updated = await store.update('/a', 'v3');
        assert.equal(updated.createRevision, 3);
        assert.equal(updated.modRevision, 4);
      });
    });

    describe('list / count', () => {
      beforeEach(async () => {
        for (const key of ['/r/c', '/r/a', '/rx', '/r/b', '/r/e', '/r/d', '/s/a']) await store.create(key, key.toUpperCase());
      });

      test('returns keys under the prefix in key order, at the current revision', async () => {
        const res = await store.list('/r/');
        assert.deepEqual(
          res.items.map((kv) => kv.key),
          ['/r/a', '/r/b', '/r/c', '/r/d', '/r/e'],
        );
        assert.equal(res.items[0].value, '/R/A');
        assert.equal(res.revision, 7);
        assert.equal(res.more, false);
        assert.equal((await store.list('')).items.length, 7);
        assert.deepEqual((await store.list('/none/')).items, []);
      });

      test('limit cuts the list short and reports more and remaining', async () => {
        const res = await store.list('/r/', { limit: 2 });
        assert.deepEqual(
          res.items.map((kv) => kv.key),
          ['/r/a', '/r/b'],
        );
        assert.equal(res.more, true);
        assert.equal(res.remaining, 3);
        const exact = await store.list('/r/', { limit: 5 });
        assert.equal(exact.more, false);
      });

      test('startAfter pages through every key exactly once', async () => {
        const seen: string[] = [];
        let startAfter: string | undefined;
        for (;;) {
          const page = await store.list('/r/', { limit: 2, startAfter });
          seen.push(...page.items.map((kv) => kv.key));
          if (!page.more) break;
          startAfter = page.items.at(-1)!.key;
        }
        assert.deepEqual(seen, ['/r/a', '/r/b', '/r/c', '/r/d', '/r/e']);
        const afterMissing = await store.list('/r/', { startAfter: '/r/bb' });
        assert.deepEqual(
          afterMissing.items.map((kv) => kv.key),
          ['/r/c', '/r/d', '/r/e'],
        );
      });

      test('at an older revision shows the keys and values as of then', async () => {
        await store.update('/r/a', 'changed');
        await store.delete('/r/b');
        await store.create('/r/f', 'F');
        const old = await store.list('/r/', { revision: 7 });
        assert.equal(old.revision, 7);
        assert.deepEqual(
          old.items.map((kv) => [kv.key, kv.value]),
          [
            ['/r/a', '/R/A'],
            ['/r/b', '/R/B'],
            ['/r/c', '/R/C'],
            ['/r/d', '/R/D'],
            ['/r/e', '/R/E'],
          ],
        );
        const paged = await store.list('/r/', { revision: 7, limit: 1, startAfter: '/r/a' });
        assert.deepEqual(
          paged.items.map((kv) => kv.key),
          ['/r/b'],
        );
        assert.equal(paged.remaining, 3);
        const now = await store.list('/r/');
        assert.deepEqual(
          now.items.map((kv) => [kv.key, kv.value]),
          [
            ['/r/a', 'changed'],
            ['/r/c', '/R/C'],
            ['/r/d', '/R/D'],
            ['/r/e', '/R/E'],
            ['/r/f', 'F'],
          ],
        );
      });

      test('count counts current keys under the prefix', async () => {
        assert.equal(await store.count('/r/'), 5);
        assert.equal(await store.count('/r'), 6);
        await store.delete('/r/c');
        assert.equal(await store.count('/r/'), 4);
        assert.equal(await store.count('/zzz'), 0);
      });
    });

    describe('watch', () => {
      test('from the current revision delivers only later events, as puts and deletes with prevKv', async () => {
        await store.create('/w/old', 'x');
        const rec = record(store, '/w/', await store.currentRevision());
        await store.create('/w/a', 'A1');
        await store.update('/w/a', 'A2');
        await store.delete('/w/a');
        await rec.untilCount(3);
        rec.watcher.close();
        const [created, updated, deleted] = rec.events;
        assert.deepEqual(created, { type: 'put', revision: 2, kv: { key: '/w/a', value: 'A1', createRevision: 2, modRevision: 2 } });
        assert.deepEqual(updated, {
          type: 'put',
          revision: 3,
          kv: { key: '/w/a', value: 'A2', createRevision: 2, modRevision: 3 },
          prevKv: { key: '/w/a', value: 'A1', createRevision: 2, modRevision: 2 },
        });
        assert.deepEqual(deleted, {
          type: 'delete',
          revision: 4,
          kv: { key: '/w/a', value: 'A2', createRevision: 2, modRevision: 4 },
          prevKv: { key: '/w/a', value: 'A2', createRevision: 2, modRevision: 3 },
        });
      });

      test('from an earlier revision replays history, then continues live', async () => {
        for (let i = 0; i < 5; i++) await store.create(`/w/${i}`, 'v');
        const rec = record(store, '/w/', 2);
        await store.update('/w/0', 'live');
        await rec.untilCount(4);
        rec.watcher.close();
        assert.deepEqual(revisions(rec.events), [3, 4, 5, 6]);
        assert.equal(rec.events[3].kv.value, 'live');
      });

      test('filters by prefix', async () => {
        const rec = record(store, '/w/', 0);
        await store.create('/wx', 'no');
        await store.create('/w/a', 'yes');
        await store.create('/v/a', 'no');
        await store.create('/w/b', 'yes');
        await rec.untilCount(2);
        await store.list(''); // give a stray event a chance to show up before asserting
        rec.watcher.close();
        assert.deepEqual(
          rec.events.map((e) => e.kv.key),
          ['/w/a', '/w/b'],
        );
      });

      test('delivers asynchronously, never inside the writer', async () => {
        const rec = record(store, '', 0);
        const pending = store.create('/a', 'A');
        assert.equal(rec.events.length, 0);
        await pending;
        await rec.untilCount(1);
        rec.watcher.close();
      });

      test('writes made during replay are delivered once each, in order, after the history', async () => {
        for (let i = 1; i <= 300; i++) await store.create(`/h/${i}`, 'v');
        const rec = record(store, '/h/', 0, (ev) => {
          // A watcher that writes from its own callback, while its replay is still being delivered.
          if (ev.revision % 100 === 0 && ev.revision <= 300) void store.update(ev.kv.key, 'echo');
        });
        const concurrent = [store.create('/h/x', 'v'), store.create('/h/y', 'v')]; // same tick as watch()
        await Promise.all(concurrent);
        await rec.untilCount(305);
        await store.create('/h/last', 'v');
        await rec.untilCount(306);
        rec.watcher.close();
        assert.deepEqual(revisions(rec.events), range(1, 306));
        assert.deepEqual(
          rec.events.slice(302, 305).map((e) => [e.kv.key, e.kv.value]),
          [
            ['/h/100', 'echo'],
            ['/h/200', 'echo'],
            ['/h/300', 'echo'],
          ],
        );
      });

      test('many watchers with different start revisions each see a gap-free sequence', async () => {
        const recs: Recorder[] = [];
        for (let i = 0; i < 50; i++) {
          recs.push(record(store, '/m/', i));
          await store.create(`/m/${i}`, 'v');
        }
        await Promise.all(recs.map((rec) => rec.untilCount(50 - recs.indexOf(rec))));
        recs.forEach((rec, i) => {
          rec.watcher.close();
          assert.deepEqual(revisions(rec.events), range(i + 1, 50));
        });
      });

      test('close stops delivery, is idempotent, and does not disturb other watchers', async () => {
        const closed = record(store, '/c/', 0);
        const open = record(store, '/c/', 0);
        await store.create('/c/1', 'v');
        await closed.untilCount(1);
        closed.watcher.close();
        closed.watcher.close();
        await store.create('/c/2', 'v');
        await open.untilCount(2);
        open.watcher.close();
        assert.equal(closed.events.length, 1);
        assert.deepEqual(closed.errors, []);
      });

      test('events queued before close are not delivered after it', async () => {
        const rec = record(store, '/q/', 0);
        const written = store.create('/q/1', 'v');
        rec.watcher.close(); // before the queued event's delivery turn
        await written;
        const other = record(store, '/q/', 0);
        await other.untilCount(1);
        other.watcher.close();
        assert.equal(rec.events.length, 0);
      });

      test('closing the store ends open watchers with an error', async () => {
        const rec = record(store, '', 0);
        await store.close();
        assert.ok((await rec.untilError()) instanceof StoreError);
        await assert.rejects(store.get('/a'), StoreError);
      });
    });

    describe('compaction', () => {
      beforeEach(async () => {
        await store.create('/k/a', 'a1'); // 1
        await store.create('/k/b', 'b1'); // 2
        await store.update('/k/a', 'a2'); // 3
        await store.delete('/k/b'); // 4
        await store.create('/k/c', 'c1'); // 5
        await store.update('/k/a', 'a3'); // 6
      });

      test('keeps current values and the revision; history before it fails with CompactedError', async () => {
        await store.compact(4);
        assert.equal(await store.compactedRevision(), 4);
        assert.equal(await store.currentRevision(), 6);
        assert.deepEqual(
          (await store.list('/k/')).items.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision]),
          [
            ['/k/a', 'a3', 1, 6],
            ['/k/c', 'c1', 5, 5],
          ],
        );
        await assert.rejects(store.get('/k/a', 3), (err) => err instanceof CompactedError && err.requested === 3 && err.compacted === 4);
        await assert.rejects(store.list('/k/', { revision: 2 }), CompactedError);
      });

      test('reading at exactly the compacted revision still works', async () => {
        await store.compact(4);
        assert.equal((await store.get('/k/a', 4))?.value, 'a2');
        assert.equal(await store.get('/k/b', 4), undefined);
        assert.deepEqual(
          (await store.list('/k/', { revision: 4 })).items.map((kv) => kv.value),
          ['a2'],
        );
        assert.deepEqual(
          (await store.list('/k/', { revision: 5 })).items.map((kv) => kv.value),
          ['a2', 'c1'],
        );
      });

      test('watch from before the compacted revision fails with CompactedError; from it, replays what is left', async () => {
        await store.compact(4);
        const tooOld = record(store, '/k/', 3);
        const err = await tooOld.untilError();
        assert.ok(err instanceof CompactedError);
        assert.equal(err.compacted, 4);
        assert.equal(tooOld.events.length, 0);

        const rec = record(store, '/k/', 4);
        await rec.untilCount(2);
        await store.create('/k/d', 'd1');
        await rec.untilCount(3);
        rec.watcher.close();
        assert.deepEqual(revisions(rec.events), [5, 6, 7]);
        assert.deepEqual(rec.events[1].prevKv, { key: '/k/a', value: 'a2', createRevision: 1, modRevision: 3 });
      });

      test('compacting again, to an older revision, or to the current one is safe', async () => {
        await store.compact(3);
        await store.compact(2);
        assert.equal(await store.compactedRevision(), 3);
        await store.compact(6);
        assert.equal(await store.compactedRevision(), 6);
        assert.deepEqual(
          (await store.list('/k/')).items.map((kv) => kv.value),
          ['a3', 'c1'],
        );
        await assert.rejects(store.compact(99), StoreError);
      });

      test('the revision keeps counting after compacting away a trailing delete', async () => {
        await store.delete('/k/c'); // 7
        await store.compact(7);
        assert.equal(await store.currentRevision(), 7);
        const created = await store.create('/k/c', 'again');
        assert.deepEqual(created, { key: '/k/c', value: 'again', createRevision: 8, modRevision: 8 });
      });

      test('a recreated key after compaction has no prevKv and a fresh createRevision', async () => {
        await store.compact(6);
        const rec = record(store, '/k/', 6);
        await store.create('/k/b', 'b2');
        await rec.untilCount(1);
        rec.watcher.close();
        assert.deepEqual(rec.events[0], { type: 'put', revision: 7, kv: { key: '/k/b', value: 'b2', createRevision: 7, modRevision: 7 } });
      });
    });
  });
}

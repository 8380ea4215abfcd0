import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runWorkers, WorkQueue } from './workqueue.js';

describe('WorkQueue', () => {
  test('pending keys are deduplicated and handed out in order', async () => {
    const q = new WorkQueue();
    for (const k of ['a', 'b', 'a', 'c', 'b']) q.add(k);
    assert.equal(q.len(), 3);
    assert.deepEqual([await q.get(), await q.get(), await q.get()], ['a', 'b', 'c']);
  });

  test('a key re-added while processing is queued again only after done()', async () => {
    const q = new WorkQueue();
    q.add('a');
    assert.equal(await q.get(), 'a');
    q.add('a');
    q.add('a');
    assert.equal(q.len(), 0, 'not handed to a second worker while the first holds it');
    q.done('a');
    assert.equal(q.len(), 1);
    assert.equal(await q.get(), 'a');
    q.done('a');
    assert.equal(q.len(), 0);
  });

  test('get waits for an add', async () => {
    const q = new WorkQueue();
    const got = q.get();
    q.add('x');
    assert.equal(await got, 'x');
  });

  test('rate limiting: per-key exponential backoff, capped, reset by forget', () => {
    const q = new WorkQueue({ baseMs: 5, maxMs: 30 });
    assert.deepEqual([q.when('a'), q.when('a'), q.when('a'), q.when('a'), q.when('b')], [5, 10, 20, 30, 5]);
    assert.equal(q.numRequeues('a'), 4);
    q.forget('a');
    assert.equal(q.numRequeues('a'), 0);
    assert.equal(q.when('a'), 5);
  });

  test('addAfter and addRateLimited deliver the key later', async () => {
    const q = new WorkQueue({ baseMs: 2 });
    q.addAfter('later', 5);
    q.addRateLimited('limited');
    assert.equal(q.len(), 0);
    const got = new Set([await q.get(), await q.get()]);
    assert.deepEqual(got, new Set(['later', 'limited']));
  });

  test('shutDown wakes waiting workers with undefined and ignores new keys; queued keys drain first', async () => {
    const q = new WorkQueue();
    const waiting = q.get();
    q.shutDown();
    assert.equal(await waiting, undefined);
    q.add('ignored');
    assert.equal(q.len(), 0);
    const q2 = new WorkQueue();
    q2.add('a');
    q2.addAfter('cancelled', 1);
    q2.shutDown();
    assert.equal(await q2.get(), 'a');
    assert.equal(await q2.get(), undefined);
    assert.ok(q2.shuttingDown);
  });
});

describe('runWorkers', () => {
  test('retries failures with backoff, forgets on success, never syncs one key twice at once', async () => {
    const q = new WorkQueue({ baseMs: 1 });
    const attempts = new Map<string, number>();
    const active = new Set<string>();
    let overlap = false;
    const errors: string[] = [];
    let resolveDone!: () => void;
    const allDone = new Promise<void>((r) => {
      resolveDone = r;
    });
    const finished = new Set<string>();
    const workers = runWorkers(
      q,
      3,
      async (key) => {
        if (active.has(key)) overlap = true;
        active.add(key);
        const n = (attempts.get(key) ?? 0) + 1;
        attempts.set(key, n);
        if (n === 1) q.add(key); // re-added while processing
        await new Promise((r) => setTimeout(r, 1));
        active.delete(key);
        if (key === 'flaky' && n < 3) throw new Error(`fail ${n}`);
        if (n >= 2) finished.add(key);
        if (finished.size === 3) resolveDone();
      },
      (key, err) => errors.push(`${key}: ${(err as Error).message}`),
    );
    for (const k of ['a', 'b', 'flaky']) q.add(k);
    await allDone;
    q.shutDown();
    await workers;
    assert.equal(overlap, false);
    assert.deepEqual(errors, ['flaky: fail 1', 'flaky: fail 2']);
    assert.equal(q.numRequeues('flaky'), 0, 'forgotten after success');
    assert.equal(attempts.get('a'), 2, 're-add while processing ran it exactly once more');
  });
});

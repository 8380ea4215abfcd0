import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoreEvent } from './types.js';
import { WatchHub } from './watch-hub.js';

const put = (revision: number, key = '/k'): StoreEvent => ({
  type: 'put',
  revision,
  kv: { key, value: 'v', createRevision: revision, modRevision: revision },
});

function errorOf(hub: WatchHub, onEvent: (ev: StoreEvent) => void = () => {}) {
  let watcher!: ReturnType<WatchHub['watch']>;
  const error = new Promise<Error>((resolve) => {
    watcher = hub.watch('/', { fromRevision: 0, onEvent, onError: resolve }, () => []);
  });
  return { watcher, error };
}

test('a watcher with more than maxPending undelivered events ends with an error and is detached', async () => {
  const hub = new WatchHub(3);
  const delivered: number[] = [];
  const { error } = errorOf(hub, (ev) => delivered.push(ev.revision));
  for (let rev = 1; rev <= 4; rev++) hub.publish(put(rev)); // one tick: nothing delivered yet
  assert.match((await error).message, /fell behind by more than 3 events/);
  assert.deepEqual(delivered, []);
  assert.equal(hub.size, 0);
});

test('a watcher whose onEvent throws ends with that error instead of skipping events', async () => {
  const hub = new WatchHub();
  const boom = new Error('boom');
  const { error } = errorOf(hub, () => {
    throw boom;
  });
  hub.publish(put(1));
  assert.equal(await error, boom);
  assert.equal(hub.size, 0);
});

test('a history callback that throws becomes the watcher error, reported asynchronously', async () => {
  const hub = new WatchHub();
  const reported: Error[] = [];
  hub.watch('/', { fromRevision: 0, onEvent: () => {}, onError: (err) => reported.push(err) }, () => {
    throw new Error('compacted');
  });
  assert.equal(reported.length, 0);
  await new Promise<void>(queueMicrotask);
  assert.deepEqual(
    reported.map((err) => err.message),
    ['compacted'],
  );
  assert.equal(hub.size, 0);
});

test('long backlogs are delivered in order across several turns', async () => {
  const hub = new WatchHub();
  const history = Array.from({ length: 2500 }, (_, i) => put(i + 1));
  const delivered: number[] = [];
  const done = new Promise<void>((resolve) => {
    hub.watch('/', { fromRevision: 0, onEvent: (ev) => delivered.push(ev.revision) === 2501 && resolve() }, () => history);
  });
  hub.publish(put(2501));
  await done;
  assert.deepEqual(
    delivered,
    Array.from({ length: 2501 }, (_, i) => i + 1),
  );
});

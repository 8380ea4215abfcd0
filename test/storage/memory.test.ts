import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startCompactor } from '../../src/storage/compactor.js';
import { openStore } from '../../src/storage/index.js';
import { MemoryStore } from '../../src/storage/memory.js';
import { runStoreConformance } from './conformance.js';

runStoreConformance('memory', async () => ({ store: new MemoryStore(), cleanup: async () => {} }));

test('openStore({kind: memory}) gives a working MemoryStore', async () => {
  const store = await openStore({ kind: 'memory' });
  assert.ok(store instanceof MemoryStore);
  await store.create('/a', 'A');
  assert.equal((await store.get('/a'))?.value, 'A');
  await store.close();
});

test('startCompactor keeps the newest keepRevisions revisions', async () => {
  const store = new MemoryStore();
  for (let i = 0; i < 25; i++) await store.create(`/k/${i}`, 'v');
  const compactor = startCompactor(store, { intervalMs: 60_000, keepRevisions: 10 });
  await compactor.compactNow();
  assert.equal(await store.compactedRevision(), 15);
  await compactor.compactNow(); // nothing new to drop
  assert.equal(await store.compactedRevision(), 15);
  compactor.stop();
  assert.equal(await store.count('/k/'), 25);
  await store.close();
});

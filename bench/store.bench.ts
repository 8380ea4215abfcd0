// Store micro-benchmark: creates/s, updates/s and list-of-10k latency for each backend.
//   node --import tsx bench/store.bench.ts [count]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryStore } from '../src/storage/memory.js';
import { SqliteStore } from '../src/storage/sqlite.js';
import type { Store } from '../src/storage/types.js';

const count = Number(process.argv[2] ?? 10_000);
// About the size of a Pod's JSON.
const value = JSON.stringify({ kind: 'Pod', spec: { containers: [{ name: 'c', image: 'busybox', args: ['x'.repeat(1500)] }] } });

async function measure(name: string, store: Store) {
  let t = performance.now();
  for (let i = 0; i < count; i++) await store.create(`/registry/pods/default/pod-${i}`, value);
  const createsPerSec = count / ((performance.now() - t) / 1000);
  t = performance.now();
  for (let i = 0; i < count; i++) await store.update(`/registry/pods/default/pod-${i}`, value);
  const updatesPerSec = count / ((performance.now() - t) / 1000);
  const lists: number[] = [];
  for (let i = 0; i < 5; i++) {
    t = performance.now();
    await store.list('/registry/pods/');
    lists.push(performance.now() - t);
  }
  t = performance.now();
  await store.compact(await store.currentRevision());
  const compactMs = performance.now() - t;
  await store.close();
  return {
    backend: name,
    'creates/s': Math.round(createsPerSec),
    'updates/s': Math.round(updatesPerSec),
    [`list ${count} (ms, median)`]: lists.sort((a, b) => a - b)[2].toFixed(2),
    'compact (ms)': compactMs.toFixed(1),
  };
}

const dir = await mkdtemp(join(tmpdir(), 'svcnet-bench-'));
try {
  const rows = [await measure('memory', new MemoryStore()), await measure('sqlite', SqliteStore.open(join(dir, 'state.db')))];
  const t = performance.now();
  const reopened = SqliteStore.open(join(dir, 'state.db'));
  console.table(rows);
  console.log(`sqlite reopen with ${await reopened.count('')} keys: ${(performance.now() - t).toFixed(1)} ms`);
  await reopened.close();
} finally {
  await rm(dir, { recursive: true, force: true });
}

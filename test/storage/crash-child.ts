// Child process for crash.test.ts: writes creates as fast as it can and prints each key on stdout
// only after its create resolved, until the parent kills it with SIGKILL.
import { SqliteStore } from '../../src/storage/sqlite.js';

const store = SqliteStore.open(process.argv[2]);
const padding = 'x'.repeat(200);
for (let i = 0; i < 1_000_000; i++) {
  const key = `/crash/${String(i).padStart(7, '0')}`;
  await store.create(key, `${key} ${padding}`);
  process.stdout.write(`${key}\n`);
}

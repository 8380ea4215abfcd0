import { MemoryStore } from './memory.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './types.js';

export { type CompactorOptions, startCompactor } from './compactor.js';
export { MemoryStore } from './memory.js';
export { FutureRevisionError } from './mvcc.js';
export { SqliteStore } from './sqlite.js';
export * from './types.js';

export type StoreSpec = { kind: 'memory' } | { kind: 'sqlite'; path: string };

/** Opens the configured backend; for sqlite, `path` is the database file (e.g. `<dataDir>/state.db`). */
export async function openStore(spec: StoreSpec): Promise<Store> {
  return spec.kind === 'memory' ? new MemoryStore() : SqliteStore.open(spec.path);
}

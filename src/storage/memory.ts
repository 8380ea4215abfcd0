import { IndexedStore } from './indexed-store.js';

/**
 * A Store that lives only in this process: for tests and throwaway clusters. History grows until
 * compacted, so long-running users should run `startCompactor` on it.
 */
export class MemoryStore extends IndexedStore {}

/**
 * EndpointSliceTracker, simplified: remembers, per Service, the slices this controller just wrote
 * or deleted until its informer has seen those writes, so a sync never acts on a cache older than
 * its own last write (which would, for one, create duplicate slices).
 */
import type { KubeObject } from '../../api/meta.js';
import { type Client, R } from '../../client/types.js';
import { type CachedInformer, ignoreNotFound } from '../controller.js';
import { isManagedBy, LABEL_SERVICE_NAME } from './util.js';

const DELETED = 'deleted';

function older(rv: string | undefined, want: string): boolean {
  if (rv && want && /^\d+$/.test(rv) && /^\d+$/.test(want)) return BigInt(rv) < BigInt(want);
  return rv !== want;
}

const ownerOf = (slice: KubeObject) => `${slice.metadata.namespace}/${slice.metadata.labels?.[LABEL_SERVICE_NAME] ?? ''}`;

export class SliceTracker {
  /** owner `namespace/name` → slice name → the resourceVersion we wrote, or 'deleted'. */
  private readonly expected = new Map<string, Map<string, string>>();

  /** Follows the slices `controller` manages in the (shared, unfiltered) EndpointSlice informer. */
  constructor(informer: Pick<CachedInformer, 'addHandlers'>, controller: string) {
    const seen = (slice: KubeObject, deleted: boolean) => {
      const owner = ownerOf(slice);
      const m = this.expected.get(owner);
      const want = m?.get(slice.metadata.name ?? '');
      if (!m || want === undefined) return;
      // A slice relabelled away from this controller is gone as far as it is concerned.
      const gone = deleted || !isManagedBy(slice, controller);
      if (gone || (want !== DELETED && !older(slice.metadata.resourceVersion, want))) {
        m.delete(slice.metadata.name ?? '');
        if (m.size === 0) this.expected.delete(owner);
      }
    };
    informer.addHandlers({
      add: (slice) => seen(slice, false),
      update: (_old, slice) => seen(slice, false),
      delete: (slice) => seen(slice, true),
    });
  }

  private slot(slice: KubeObject): Map<string, string> {
    const owner = ownerOf(slice);
    let m = this.expected.get(owner);
    if (!m) {
      m = new Map();
      this.expected.set(owner, m);
    }
    return m;
  }

  /** Records a slice as written (create or update response). */
  expect(written: KubeObject): void {
    if (written.metadata.resourceVersion) this.slot(written).set(written.metadata.name ?? '', written.metadata.resourceVersion);
  }

  expectDeletion(slice: KubeObject): void {
    this.slot(slice).set(slice.metadata.name ?? '', DELETED);
  }

  /** Deletes the slices (one already gone is fine) and records each deletion. */
  async delete(client: Client, namespace: string, slices: KubeObject[]): Promise<void> {
    for (const s of slices) {
      await ignoreNotFound(client.delete(R.endpointslices, s.metadata.name ?? '', { namespace }));
      this.expectDeletion(s);
    }
  }

  /** Whether `cached` (the owner's slices in the informer) misses one of our writes. */
  stale(ownerKey: string, cached: KubeObject[]): boolean {
    const m = this.expected.get(ownerKey);
    if (!m) return false;
    const byName = new Map(cached.map((o) => [o.metadata.name ?? '', o]));
    for (const [name, want] of m) {
      const have = byName.get(name);
      if (want === DELETED ? have !== undefined : !have || older(have.metadata.resourceVersion, want)) return true;
    }
    // Everything we wrote is visible (some events may have come before we recorded the write).
    this.expected.delete(ownerKey);
    return false;
  }

  forget(ownerKey: string): void {
    this.expected.delete(ownerKey);
  }
}

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gone } from '../api/errors.js';
import type { KubeList, KubeObject, WatchEvent } from '../api/meta.js';
import { SharedInformer, SharedInformerFactory } from './informer.js';
import { Indexer, namespacedLabelIndexFunc } from './lister.js';
import { type Client, type GroupVersionResource, type ListOptions, R, type WatchOptions, type WatchStream } from './types.js';

// ---------------------------------------------------------------------------------------------
// A fake Client: an in-memory, revisioned collection with list and watch, able to end watch
// streams and to compact history (so a watch from an old resourceVersion gets 410).

class FakeStream implements WatchStream {
  private readonly buffer: WatchEvent[] = [];
  private wake: (() => void) | undefined;
  ended = false;

  push(ev: WatchEvent): void {
    this.buffer.push(ev);
    this.wake?.();
  }

  close(): void {
    this.ended = true;
    this.wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    while (true) {
      const ev = this.buffer.shift();
      if (ev) {
        yield ev;
        continue;
      }
      if (this.ended) return;
      await new Promise<void>((r) => {
        this.wake = r;
      });
      this.wake = undefined;
    }
  }
}

class FakeClient implements Client {
  private rv = 100;
  private readonly objects = new Map<string, KubeObject>();
  private history: { rv: number; ev: WatchEvent }[] = [];
  private compactedRv = 0;
  readonly streams = new Set<FakeStream>();
  listCalls = 0;
  readonly watchCalls: WatchOptions[] = [];
  /** How a watch from a compacted resourceVersion fails. */
  expiredAs: 'throw' | 'event' = 'throw';

  put(name: string, namespace = 'default', extra: Partial<KubeObject> = {}): KubeObject {
    const key = `${namespace}/${name}`;
    const type = this.objects.has(key) ? 'MODIFIED' : 'ADDED';
    const obj: KubeObject = {
      apiVersion: 'v1',
      kind: 'Pod',
      ...extra,
      metadata: { name, namespace, ...extra.metadata, resourceVersion: String(++this.rv) },
    };
    this.objects.set(key, obj);
    this.record({ type, object: obj });
    return obj;
  }

  remove(name: string, namespace = 'default'): void {
    const key = `${namespace}/${name}`;
    const old = this.objects.get(key);
    if (!old) return;
    this.objects.delete(key);
    this.record({ type: 'DELETED', object: { ...old, metadata: { ...old.metadata, resourceVersion: String(++this.rv) } } });
  }

  bookmark(): string {
    const rv = String(++this.rv);
    for (const s of this.streams) s.push({ type: 'BOOKMARK', object: { kind: 'Pod', metadata: { resourceVersion: rv } } });
    return rv;
  }

  endStreams(): void {
    for (const s of this.streams) s.close();
    this.streams.clear();
  }

  compact(): void {
    this.compactedRv = this.rv;
    this.history = [];
  }

  private record(ev: WatchEvent): void {
    this.history.push({ rv: this.rv, ev });
    for (const s of this.streams) s.push(ev);
  }

  async list<T extends KubeObject = KubeObject>(_gvr: GroupVersionResource, _opts?: ListOptions): Promise<KubeList<T>> {
    this.listCalls++;
    return {
      apiVersion: 'v1',
      kind: 'PodList',
      metadata: { resourceVersion: String(this.rv) },
      items: [...this.objects.values()].map((o) => structuredClone(o)) as T[],
    };
  }

  async watch<T extends KubeObject = KubeObject>(_gvr: GroupVersionResource, opts: WatchOptions = {}): Promise<WatchStream<T>> {
    this.watchCalls.push(opts);
    const from = Number(opts.resourceVersion ?? 0);
    const stream = new FakeStream();
    if (from < this.compactedRv) {
      if (this.expiredAs === 'throw') throw gone(`too old resource version: ${from} (${this.compactedRv})`);
      stream.push({
        type: 'ERROR',
        object: {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          reason: 'Expired',
          code: 410,
          message: 'too old resource version',
        } as never,
      });
      stream.close();
      return stream as unknown as WatchStream<T>;
    }
    for (const h of this.history) if (h.rv > from) stream.push(h.ev);
    opts.signal?.addEventListener('abort', () => stream.close(), { once: true });
    this.streams.add(stream);
    return stream as unknown as WatchStream<T>;
  }

  get(): never {
    throw new Error('not implemented');
  }
  create(): never {
    throw new Error('not implemented');
  }
  update(): never {
    throw new Error('not implemented');
  }
  patch(): never {
    throw new Error('not implemented');
  }
  delete(): never {
    throw new Error('not implemented');
  }
}

/** Records handler calls as compact strings, e.g. "add default/a@101". */
function recorder(inf: SharedInformer) {
  const log: string[] = [];
  const tag = (o: KubeObject) => `${o.metadata.namespace}/${o.metadata.name}@${o.metadata.resourceVersion}`;
  inf.addEventHandler({
    onAdd: (o) => log.push(`add ${tag(o)}`),
    onUpdate: (a, b) => log.push(`update ${tag(a)}->${b.metadata.resourceVersion}`),
    onDelete: (o) => log.push(`delete ${tag(o)}`),
  });
  return log;
}

/** Awaits a condition (polling each millisecond), failing after 2 s. */
async function until(what: string, cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 2000;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

const fast = { backoff: { initialMs: 1, maxMs: 5 } };

describe('SharedInformer', () => {
  test('lists, then watches from the list resourceVersion, delivering add/update/delete', async () => {
    const c = new FakeClient();
    c.put('a');
    c.put('b');
    const inf = new SharedInformer(c, R.pods, fast);
    const log = recorder(inf);
    inf.run();
    assert.equal(await inf.waitForSync(), true);
    assert.ok(inf.hasSynced());
    assert.deepEqual(log, ['add default/a@101', 'add default/b@102']);
    await until('watch', () => c.streams.size === 1);
    assert.equal(c.watchCalls[0].resourceVersion, '102');
    assert.equal(c.watchCalls[0].allowWatchBookmarks, true);

    c.put('c');
    c.put('a');
    c.remove('b');
    await until('3 events', () => log.length === 5);
    assert.deepEqual(log.slice(2), ['add default/c@103', 'update default/a@101->104', 'delete default/b@105']);
    assert.deepEqual(
      inf
        .list()
        .map((o) => o.metadata.name)
        .sort(),
      ['a', 'c'],
    );
    assert.equal(inf.get('default/a')?.metadata.resourceVersion, '104');
    assert.equal(inf.lastSyncResourceVersion, '105');
    inf.stop();
  });

  test('a watch that ends resumes from the last resourceVersion (bookmarks count) without re-listing', async () => {
    const c = new FakeClient();
    c.put('a');
    const inf = new SharedInformer(c, R.pods, fast);
    const log = recorder(inf);
    inf.run();
    await until('watch', () => c.streams.size === 1);
    c.put('b');
    await until('b', () => log.length === 2);
    const bookmarkRv = c.bookmark();
    await until('bookmark', () => inf.lastSyncResourceVersion === bookmarkRv);
    c.endStreams();
    await until('second watch', () => c.streams.size === 1);
    assert.equal(c.watchCalls[1].resourceVersion, bookmarkRv);
    c.put('c');
    await until('c', () => log.length === 3);
    assert.equal(c.listCalls, 1);
    assert.deepEqual(log, ['add default/a@101', 'add default/b@102', 'add default/c@104']);
    inf.stop();
  });

  for (const expiredAs of ['throw', 'event'] as const) {
    test(`410 Gone (${expiredAs === 'throw' ? 'StatusError' : 'ERROR event'}) re-lists and synthesizes deletes for vanished objects`, async () => {
      const c = new FakeClient();
      c.expiredAs = expiredAs;
      c.put('keep');
      c.put('vanish');
      const inf = new SharedInformer(c, R.pods, fast);
      const log = recorder(inf);
      inf.run();
      await until('watch', () => c.streams.size === 1);
      // While the informer is disconnected, history moves on and is compacted.
      const streams = [...c.streams];
      c.streams.clear();
      c.remove('vanish');
      c.put('new');
      c.compact();
      for (const s of streams) s.close();
      await until('relist', () => c.listCalls === 2 && log.length === 5);
      assert.deepEqual(log.slice(2).sort(), ['add default/new@104', 'delete default/vanish@102', 'update default/keep@101->101'].sort());
      assert.deepEqual(
        inf
          .list()
          .map((o) => o.metadata.name)
          .sort(),
        ['keep', 'new'],
      );
      await until('watch after relist', () => c.streams.size === 1);
      assert.equal(c.watchCalls.at(-1)?.resourceVersion, '104');
      inf.stop();
    });
  }

  test('resync re-delivers every cached object as an update', async () => {
    const c = new FakeClient();
    c.put('a');
    const inf = new SharedInformer(c, R.pods, { ...fast, resyncMs: 5 });
    const log = recorder(inf);
    inf.run();
    await until('resync', () => log.filter((l) => l === 'update default/a@101->101').length >= 2);
    inf.stop();
  });

  test('list errors back off and retry; waitForSync resolves false when stopped first', async () => {
    const c = new FakeClient();
    let failures = 0;
    const errors: unknown[] = [];
    c.list = async () => {
      failures++;
      throw new Error('connection refused');
    };
    const inf = new SharedInformer(c, R.pods, { ...fast, onError: (e) => errors.push(e) });
    inf.run();
    const waiting = inf.waitForSync();
    await until('retries', () => failures >= 3);
    inf.stop();
    assert.equal(await waiting, false);
    assert.equal(inf.hasSynced(), false);
    assert.ok(errors.length >= 3);
  });

  test('handlers added late get the cache as adds; handler exceptions do not stop delivery', async () => {
    const c = new FakeClient();
    c.put('a');
    const errors: unknown[] = [];
    const inf = new SharedInformer(c, R.pods, { ...fast, onError: (e) => errors.push(e) });
    inf.addEventHandler({
      onAdd: () => {
        throw new Error('boom');
      },
    });
    inf.run();
    await inf.waitForSync();
    const late = recorder(inf);
    assert.deepEqual(late, ['add default/a@101']);
    c.put('b');
    await until('b', () => late.length === 2);
    assert.equal(errors.length, 2);
    inf.stop();
  });

  test('custom indexes follow updates and deletes', async () => {
    const c = new FakeClient();
    c.put('p1', 'ns1', { metadata: { labels: {} }, spec: { nodeName: 'n1' } });
    c.put('p2', 'ns1', { spec: { nodeName: 'n2' } });
    c.put('p3', 'ns2', { spec: { nodeName: 'n1' } });
    const inf = new SharedInformer(c, R.pods, { ...fast, indexers: { byNode: (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []) } });
    inf.run();
    await inf.waitForSync();
    const names = (xs: KubeObject[]) => xs.map((o) => o.metadata.name).sort();
    assert.deepEqual(names(inf.byIndex('byNode', 'n1')), ['p1', 'p3']);
    assert.deepEqual(names(inf.list('ns1')), ['p1', 'p2']);
    c.put('p1', 'ns1', { spec: { nodeName: 'n2' } });
    c.remove('p3', 'ns2');
    await until('moves', () => inf.byIndex('byNode', 'n1').length === 0);
    assert.deepEqual(names(inf.byIndex('byNode', 'n2')), ['p1', 'p2']);
    assert.deepEqual(names(inf.list('ns2')), []);
    inf.stop();
  });
});

describe('Indexer', () => {
  test('namespace index, label index keyed by namespace, unknown index', () => {
    const ix = new Indexer({ byService: namespacedLabelIndexFunc('kubernetes.io/service-name') });
    const slice = (name: string, ns: string, svc?: string): KubeObject => ({
      metadata: { name, namespace: ns, labels: svc ? { 'kubernetes.io/service-name': svc } : {} },
    });
    ix.upsert(slice('web-abc', 'default', 'web'));
    ix.upsert(slice('web-def', 'default', 'web'));
    ix.upsert(slice('web-xyz', 'other', 'web'));
    ix.upsert(slice('orphan', 'default'));
    assert.deepEqual(ix.indexKeys('byService', 'default/web').sort(), ['default/web-abc', 'default/web-def']);
    assert.equal(ix.list('default').length, 3);
    assert.equal(ix.getByName('other', 'web-xyz')?.metadata.name, 'web-xyz');
    ix.remove('default/web-abc');
    assert.deepEqual(ix.indexKeys('byService', 'default/web'), ['default/web-def']);
    assert.throws(() => ix.byIndex('nope', 'x'), /index with name nope does not exist/);
    ix.addIndexers({ late: (o) => [o.metadata.name ?? ''] });
    assert.deepEqual(ix.indexKeys('late', 'orphan'), ['default/orphan']);
  });
});

describe('SharedInformerFactory', () => {
  test('one informer per resource, started together, synced together', async () => {
    const c = new FakeClient();
    c.put('a');
    const f = new SharedInformerFactory(c, fast);
    const pods = f.forResource(R.pods);
    assert.equal(f.forResource(R.pods), pods);
    const svcs = f.forResource(R.services);
    assert.notEqual(svcs, pods);
    f.start();
    assert.equal(await f.waitForCacheSync(), true);
    assert.equal(c.listCalls, 2);
    f.stop();
  });
});

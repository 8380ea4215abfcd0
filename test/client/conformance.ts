/**
 * One client conformance suite, run against every Client implementation (HTTP over HTTPS, and the
 * in-process LocalClient). Each case asserts Kubernetes' behaviour exactly, so both clients must
 * give the same objects, the same StatusError code/reason/message and the same watch streams.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { StatusError } from '../../src/api/errors.js';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { SharedInformer } from '../../src/client/informer.js';
import { type Client, R, type WatchStream } from '../../src/client/types.js';

/** A running API server with a client to test, and a way to compact its store's history. */
export interface ConformanceFixture {
  client: Client;
  /** Compacts the store's history up to its current revision. */
  compact(): Promise<void>;
  close(): Promise<void>;
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const NS = 'conformance';

function configMap(name: string, data: Record<string, string> = { k: 'v' }, labels?: Record<string, string>): ConfigMap {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: NS, labels }, data };
}

function service(name: string, port = 80): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { selector: { app: name }, ports: [{ name: 'http', port, targetPort: 8080 }] },
  };
}

/** Runs `fn`, asserting it throws a StatusError with this code and reason; returns the error. */
async function rejectsStatus(fn: () => Promise<unknown>, code: number, reason: string): Promise<StatusError> {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, `expected a StatusError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.equal(e.reason, reason, e.message);
    return e;
  }
  assert.fail(`expected ${code} ${reason}, but the call succeeded`);
}

/** Reads `n` events from a watch (failing after `ms`), leaving the stream open. */
async function take<T extends KubeObject>(w: WatchStream<T>, n: number, ms = 5000): Promise<WatchEvent<T>[]> {
  const out: WatchEvent<T>[] = [];
  const it = w[Symbol.asyncIterator]();
  const timer = setTimeout(() => w.close(), ms);
  try {
    while (out.length < n) {
      const r = await it.next();
      if (r.done) break;
      out.push(r.value);
    }
  } finally {
    clearTimeout(timer);
  }
  assert.equal(out.length, n, `expected ${n} watch events, got ${JSON.stringify(out.map((e) => e.type))}`);
  return out;
}

/** Waits until `cond()` holds, polling on the event loop (no fixed sleeps). */
async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const rv = (o: KubeObject) => Number(o.metadata.resourceVersion);

/** Registers the suite for one client implementation. */
export function clientConformance(name: string, setup: () => Promise<ConformanceFixture>): void {
  describe(`client conformance: ${name}`, () => {
    let f: ConformanceFixture;
    let c: Client;
    before(async () => {
      f = await setup();
      c = f.client;
      await c.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    });
    after(() => f?.close());

    test('create fills in server fields; get returns the stored object', async () => {
      const made = await c.create(R.configmaps, configMap('basic'));
      assert.equal(made.kind, 'ConfigMap');
      assert.equal(made.apiVersion, 'v1');
      assert.match(made.metadata.uid ?? '', /^[0-9a-f-]{36}$/);
      assert.match(made.metadata.creationTimestamp ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      assert.ok(rv(made) > 0);
      const got = await c.get<ConfigMap>(R.configmaps, 'basic', NS);
      assert.deepEqual(got, made);

      const generated = await c.create<ConfigMap>(R.configmaps, { ...configMap(''), metadata: { generateName: 'gen-', namespace: NS } });
      assert.match(generated.metadata.name ?? '', /^gen-[a-z0-9]{5}$/);
    });

    test('get of a missing object: 404 NotFound', async () => {
      const e = await rejectsStatus(() => c.get(R.configmaps, 'missing', NS), 404, 'NotFound');
      assert.equal(e.message, 'configmaps "missing" not found');
      assert.deepEqual({ name: e.details?.name, kind: e.details?.kind }, { name: 'missing', kind: 'configmaps' });
    });

    test('create of an existing name: 409 AlreadyExists', async () => {
      await c.create(R.configmaps, configMap('dup'));
      const e = await rejectsStatus(() => c.create(R.configmaps, configMap('dup')), 409, 'AlreadyExists');
      assert.equal(e.message, 'configmaps "dup" already exists');
    });

    test('update: succeeds on the current resourceVersion, 409 Conflict on a stale one', async () => {
      const v1 = await c.create<ConfigMap>(R.configmaps, configMap('upd'));
      const v2 = await c.update<ConfigMap>(R.configmaps, { ...v1, data: { k: 'v2' } });
      assert.equal(v2.data?.k, 'v2');
      assert.ok(rv(v2) > rv(v1));
      const e = await rejectsStatus(() => c.update(R.configmaps, { ...v1, data: { k: 'stale' } }), 409, 'Conflict');
      assert.equal(
        e.message,
        'Operation cannot be fulfilled on configmaps "upd": the object has been modified; please apply your changes to the latest version and try again',
      );
      assert.equal((await c.get<ConfigMap>(R.configmaps, 'upd', NS)).data?.k, 'v2');
    });

    test('invalid object: 422 Invalid with field causes', async () => {
      const e = await rejectsStatus(() => c.create(R.services, service('bad-port', 0)), 422, 'Invalid');
      assert.equal(
        e.message,
        'Service "bad-port" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive',
      );
      assert.deepEqual(e.details?.causes, [
        { reason: 'FieldValueInvalid', message: 'Invalid value: 0: must be between 1 and 65535, inclusive', field: 'spec.ports[0].port' },
      ]);
      assert.equal(e.details?.kind, 'Service');
      assert.equal(e.details?.name, 'bad-port');
    });

    test('patch: JSON patch, merge patch, strategic merge patch, server-side apply', async () => {
      await c.create(R.configmaps, configMap('p', { a: '1', b: '2' }));
      const json = await c.patch<ConfigMap>(R.configmaps, 'p', 'json', [{ op: 'add', path: '/data/c', value: '3' }], { namespace: NS });
      assert.deepEqual(json.data, { a: '1', b: '2', c: '3' });
      await rejectsStatus(
        () => c.patch(R.configmaps, 'p', 'json', [{ op: 'test', path: '/data/a', value: 'nope' }], { namespace: NS }),
        422,
        'Invalid',
      );
      const merge = await c.patch<ConfigMap>(R.configmaps, 'p', 'merge', { data: { b: null, d: '4' } }, { namespace: NS });
      assert.deepEqual(merge.data, { a: '1', c: '3', d: '4' });

      // Strategic merge: ports merge by their `port` key instead of replacing the list.
      await c.create(R.services, service('sp'));
      const smp = await c.patch<KubeObject>(
        R.services,
        'sp',
        'strategic',
        { spec: { ports: [{ name: 'https', port: 443, targetPort: 8443 }] } },
        { namespace: NS },
      );
      assert.deepEqual(
        (smp.spec.ports as { name: string; port: number }[]).map((p) => [p.name, p.port]),
        [
          ['https', 443],
          ['http', 80],
        ],
      );

      // Server-side apply: creates when absent, then merges; another manager conflicts unless forced.
      const manifest = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'applied', namespace: NS }, data: { x: '1' } };
      const created = await c.patch<ConfigMap>(R.configmaps, 'applied', 'apply', manifest, { namespace: NS, fieldManager: 'alice' });
      assert.deepEqual(created.data, { x: '1' });
      const merged = await c.patch<ConfigMap>(
        R.configmaps,
        'applied',
        'apply',
        { ...manifest, data: { x: '1', y: '2' } },
        { namespace: NS, fieldManager: 'alice' },
      );
      assert.deepEqual(merged.data, { x: '1', y: '2' });
      const conflict = await rejectsStatus(
        () => c.patch(R.configmaps, 'applied', 'apply', { ...manifest, data: { x: 'bob' } }, { namespace: NS, fieldManager: 'bob' }),
        409,
        'Conflict',
      );
      assert.match(conflict.message, /conflict with "alice"/);
      const forced = await c.patch<ConfigMap>(
        R.configmaps,
        'applied',
        'apply',
        { ...manifest, data: { x: 'bob' } },
        { namespace: NS, fieldManager: 'bob', force: true },
      );
      assert.equal(forced.data?.x, 'bob');
    });

    test('delete: returns the object, then 404; a stale precondition is 409 Conflict', async () => {
      const made = await c.create(R.configmaps, configMap('del'));
      await rejectsStatus(() => c.delete(R.configmaps, 'del', { namespace: NS, preconditions: { resourceVersion: '1' } }), 409, 'Conflict');
      const gone = await c.delete(R.configmaps, 'del', { namespace: NS, preconditions: { uid: made.metadata.uid } });
      assert.equal(gone?.metadata.name, 'del');
      await rejectsStatus(() => c.get(R.configmaps, 'del', NS), 404, 'NotFound');
      await rejectsStatus(() => c.delete(R.configmaps, 'del', { namespace: NS }), 404, 'NotFound');
    });

    test('list: label selectors (equality and set-based), field selectors, limit/continue', async () => {
      await c.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'conformance-list' } });
      const inList = (name: string, labels: Record<string, string>) => ({
        ...configMap(name, {}, labels),
        metadata: { name, namespace: 'conformance-list', labels },
      });
      for (let i = 0; i < 7; i++) {
        await c.create(R.configmaps, inList(`item-${i}`, { tier: i % 2 ? 'odd' : 'even', idx: String(i) }));
      }
      const names = (l: { items: KubeObject[] }) => l.items.map((o) => o.metadata.name ?? '');
      const ns = 'conformance-list';
      const all = await c.list(R.configmaps, { namespace: ns });
      // kube-root-ca.crt may or may not be published; only our items are asserted.
      assert.deepEqual(
        names(all).filter((n) => n.startsWith('item-')),
        ['item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'item-6'],
      );
      assert.equal(all.kind, 'ConfigMapList');
      assert.ok(Number(all.metadata.resourceVersion) > 0);

      assert.deepEqual(names(await c.list(R.configmaps, { namespace: ns, labelSelector: 'tier=odd' })), ['item-1', 'item-3', 'item-5']);
      assert.deepEqual(names(await c.list(R.configmaps, { namespace: ns, labelSelector: 'tier!=odd,idx in (0,2,3)' })), [
        'item-0',
        'item-2',
      ]);
      assert.deepEqual(names(await c.list(R.configmaps, { namespace: ns, labelSelector: 'idx notin (0,1,2,3,4),tier' })), [
        'item-5',
        'item-6',
      ]);
      assert.deepEqual(names(await c.list(R.configmaps, { namespace: ns, fieldSelector: 'metadata.name=item-4' })), ['item-4']);
      assert.deepEqual(
        names(await c.list(R.configmaps, { namespace: ns, fieldSelector: 'metadata.name!=item-4', labelSelector: 'tier=even' })),
        ['item-0', 'item-2', 'item-6'],
      );
      const across = await c.list(R.configmaps, { fieldSelector: `metadata.namespace=${ns}`, labelSelector: 'idx=6' });
      assert.deepEqual(names(across), ['item-6']);
      await rejectsStatus(() => c.list(R.configmaps, { namespace: ns, labelSelector: 'tier in odd' }), 400, 'BadRequest');

      const paged: string[] = [];
      let cont: string | undefined;
      let pages = 0;
      do {
        const page = await c.list(R.configmaps, { namespace: ns, labelSelector: 'idx', limit: 3, continue: cont });
        paged.push(...names(page));
        cont = page.metadata.continue || undefined;
        pages++;
        if (cont) assert.equal(page.items.length, 3);
      } while (cont);
      assert.equal(pages, 3);
      assert.deepEqual(paged, ['item-0', 'item-1', 'item-2', 'item-3', 'item-4', 'item-5', 'item-6']);
      // Kubernetes counts the remaining items only for lists without selectors.
      const unselected = await c.list(R.configmaps, { namespace: ns, limit: 3 });
      assert.equal(unselected.metadata.remainingItemCount, all.items.length - 3);
      const selected = await c.list(R.configmaps, { namespace: ns, labelSelector: 'idx', limit: 3 });
      assert.equal(selected.metadata.remainingItemCount, undefined);
    });

    test('watch from a resourceVersion: every later event, in order, once', async () => {
      const start = await c.create<ConfigMap>(R.configmaps, configMap('w-start'));
      const a = await c.create<ConfigMap>(R.configmaps, configMap('w-a'));
      const a2 = await c.update<ConfigMap>(R.configmaps, { ...a, data: { k: 'a2' } });
      await c.delete(R.configmaps, 'w-start', { namespace: NS });
      const w = await c.watch<ConfigMap>(R.configmaps, { namespace: NS, resourceVersion: start.metadata.resourceVersion });
      try {
        const live = c.create<ConfigMap>(R.configmaps, configMap('w-b'));
        const evs = await take(w, 4);
        const b = await live;
        assert.deepEqual(
          evs.map((e) => [e.type, e.object.metadata.name, e.object.metadata.resourceVersion]),
          [
            ['ADDED', 'w-a', a.metadata.resourceVersion],
            ['MODIFIED', 'w-a', a2.metadata.resourceVersion],
            ['DELETED', 'w-start', evs[2].object.metadata.resourceVersion],
            ['ADDED', 'w-b', b.metadata.resourceVersion],
          ],
        );
        assert.equal(evs[1].object.data?.k, 'a2');
        assert.ok(rv(evs[2].object) > rv(a2) && rv(evs[2].object) < rv(b), 'a DELETED event carries the deletion revision');
        assert.equal(evs[0].object.kind, 'ConfigMap');
      } finally {
        w.close();
      }

      // Without a resourceVersion, a watch starts with the current state as ADDED events.
      const selected = await c.watch<ConfigMap>(R.configmaps, { namespace: NS, fieldSelector: 'metadata.name=w-a' });
      try {
        const [ev] = await take(selected, 1);
        assert.deepEqual([ev.type, ev.object.metadata.resourceVersion], ['ADDED', a2.metadata.resourceVersion]);
      } finally {
        selected.close();
      }
    });

    test('watch with allowWatchBookmarks: a BOOKMARK before the timeout, then the stream ends', async () => {
      const latest = await c.create(R.configmaps, configMap('bm'));
      const t0 = Date.now();
      // kube-apiserver sends a bookmark 2 s before a watch's deadline; timeoutSeconds 3 → at ~1 s.
      const w = await c.watch(R.configmaps, {
        namespace: NS,
        resourceVersion: latest.metadata.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 3,
      });
      // A referenced timer keeps the process alive (the server's own timers are unref'd) and
      // bounds the test if the watch never ends.
      const guard = setTimeout(() => w.close(), 8000);
      const evs: WatchEvent[] = [];
      for await (const ev of w) evs.push(ev);
      clearTimeout(guard);
      assert.deepEqual(
        evs.map((e) => e.type),
        ['BOOKMARK'],
      );
      const bookmark = evs[0].object;
      assert.equal(bookmark.kind, 'ConfigMap');
      assert.ok(rv(bookmark) >= rv(latest), `bookmark rv ${bookmark.metadata.resourceVersion} < ${latest.metadata.resourceVersion}`);
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 2500 && elapsed < 6000, `the watch ended after timeoutSeconds (${elapsed} ms)`);
    });

    test('after compaction: 410 Expired for an old watch, 410 Gone for an exact list', async () => {
      const old = await c.create(R.configmaps, configMap('compact-old'));
      await c.update(R.configmaps, { ...old, data: { k: 'newer' } });
      await f.compact();
      let status: { code?: number; reason?: string; message?: string } | undefined;
      try {
        const w = await c.watch(R.configmaps, { namespace: NS, resourceVersion: old.metadata.resourceVersion });
        const [ev] = await take(w, 1);
        w.close();
        assert.equal(ev.type, 'ERROR');
        status = ev.object as unknown as typeof status;
      } catch (e) {
        assert.ok(e instanceof StatusError, String(e));
        status = e;
      }
      assert.equal(status?.code, 410);
      assert.equal(status?.reason, 'Expired');
      assert.match(status?.message ?? '', /^too old resource version: \d+ \(\d+\)$/);

      const e = await rejectsStatus(
        () => c.list(R.configmaps, { namespace: NS, resourceVersion: old.metadata.resourceVersion, resourceVersionMatch: 'Exact' }),
        410,
        'Expired',
      );
      assert.match(e.message, /^too old resource version: \d+ \(\d+\)$/);
    });

    test('an informer lists, then follows creates, updates and deletes', async () => {
      await c.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'conformance-inf' } });
      const inNs = (name: string, data: Record<string, string>) => ({
        ...configMap(name, data),
        metadata: { name, namespace: 'conformance-inf' },
      });
      await c.create(R.configmaps, inNs('before', { k: '0' }));
      const inf = new SharedInformer<ConfigMap>(c, R.configmaps, { namespace: 'conformance-inf', labelSelector: '!skip' });
      const log: string[] = [];
      inf.addEventHandler({
        onAdd: (o) => log.push(`add ${o.metadata.name}`),
        onUpdate: (_o, n) => log.push(`update ${n.metadata.name} ${n.data?.k}`),
        onDelete: (o) => log.push(`delete ${o.metadata.name}`),
      });
      inf.run();
      try {
        assert.equal(await inf.waitForSync(), true);
        assert.deepEqual(
          log.filter((l) => l.includes('before')),
          ['add before'],
        );
        const made = await c.create<ConfigMap>(R.configmaps, inNs('during', { k: '1' }));
        await c.create(R.configmaps, {
          ...inNs('skipped', {}),
          metadata: { name: 'skipped', namespace: 'conformance-inf', labels: { skip: 'y' } },
        });
        await c.update(R.configmaps, { ...made, data: { k: '2' } });
        await c.delete(R.configmaps, 'before', { namespace: 'conformance-inf' });
        await until(() => log.includes('delete before'), 'the informer to see the delete');
        assert.deepEqual(
          log.filter((l) => !l.includes('kube-root-ca')),
          ['add before', 'add during', 'update during 2', 'delete before'],
        );
        assert.deepEqual(
          inf
            .list()
            .map((o) => o.metadata.name)
            .filter((n) => n !== 'kube-root-ca.crt'),
          ['during'],
        );
        assert.equal(inf.get('conformance-inf/during')?.data?.k, '2');
      } finally {
        inf.stop();
      }
    });
  });
}

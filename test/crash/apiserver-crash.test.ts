/**
 * `kill -9` of `svcnet up --foreground` in the middle of a burst of creates: after a restart on the
 * same data directory every acknowledged (201) object is there with its content, and a watch
 * started before the crash resumes from its last resourceVersion with every later event, in
 * order, none missing, none twice.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { burst, startSvcnet } from './svcnet-process.js';

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const NS = 'crash';
const LABELS = { burst: 'yes' };
const ACKED_BEFORE_KILL = 400;

const configMap = (i: number): ConfigMap => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: `cm-${i}`, namespace: NS, labels: LABELS },
  data: { index: String(i), payload: `${i}-${'x'.repeat(100)}` },
});

const rv = (o: KubeObject) => Number(o.metadata.resourceVersion);

test('acknowledged writes survive kill -9 of svcnet, and watches resume from their resourceVersion', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'svcnet-crash-api-'));
  let svc = await startSvcnet(dataDir);
  try {
    const ns = await svc.client.create<KubeObject>(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });

    // A watch from the namespace's revision, reading until the server dies.
    const before: WatchEvent<ConfigMap>[] = [];
    const watch = await svc.client.watch<ConfigMap>(R.configmaps, {
      namespace: NS,
      labelSelector: 'burst',
      resourceVersion: ns.metadata.resourceVersion,
    });
    const watching = (async () => {
      try {
        for await (const ev of watch) before.push(ev);
      } catch {
        // The connection dies with the server.
      }
    })();

    const acked = new Map<string, ConfigMap>();
    let killed = false;
    let killing: Promise<void> | undefined;
    const victim = svc;
    await burst(
      24,
      100_000,
      async (i) => {
        const made = await victim.client.create<ConfigMap>(R.configmaps, configMap(i));
        acked.set(made.metadata.name ?? '', made);
        if (acked.size >= ACKED_BEFORE_KILL && !killed) {
          killed = true;
          killing = victim.kill9();
        }
      },
      () => killed,
    );
    await killing;
    await watching;
    assert.equal(victim.child.signalCode, 'SIGKILL', 'svcnet was killed mid-burst');
    assert.ok(acked.size >= ACKED_BEFORE_KILL);

    svc = await startSvcnet(dataDir);
    const list = await svc.client.list<ConfigMap>(R.configmaps, { namespace: NS, labelSelector: 'burst' });
    const stored = new Map(list.items.map((o) => [o.metadata.name, o]));
    for (const [name, ack] of acked) {
      const got = stored.get(name);
      assert.ok(got, `acknowledged ${name} was lost`);
      assert.deepEqual(got.data, ack.data, `${name} content`);
      assert.equal(got.metadata.uid, ack.metadata.uid);
      assert.equal(got.metadata.resourceVersion, ack.metadata.resourceVersion);
    }

    // The events seen before the crash are the stored objects, in revision order, each once.
    const beforeRvs = before.map((e) => rv(e.object));
    assert.ok(
      before.every((e) => e.type === 'ADDED'),
      'only creates happened',
    );
    assert.deepEqual(
      beforeRvs,
      [...beforeRvs].sort((a, b) => a - b),
      'pre-crash events in order',
    );
    assert.equal(new Set(beforeRvs).size, beforeRvs.length, 'no pre-crash event twice');
    for (const e of before) assert.deepEqual(stored.get(e.object.metadata.name)?.data, e.object.data);
    const lastSeen = before.length ? before[before.length - 1].object.metadata.resourceVersion! : ns.metadata.resourceVersion!;

    // Resume from the last seen revision, with more writes after the restart.
    const resumed = await svc.client.watch<ConfigMap>(R.configmaps, { namespace: NS, labelSelector: 'burst', resourceVersion: lastSeen });
    const later: ConfigMap[] = [];
    for (let i = 0; i < 5; i++) later.push(await svc.client.create<ConfigMap>(R.configmaps, configMap(1_000_000 + i)));
    const updated = await svc.client.update<ConfigMap>(R.configmaps, { ...later[0], data: { index: 'updated' } });
    await svc.client.delete(R.configmaps, later[1].metadata.name ?? '', { namespace: NS });

    const missed = list.items.filter((o) => rv(o) > Number(lastSeen)).sort((a, b) => rv(a) - rv(b));
    const expected = [
      ...missed.map((o) => ['ADDED', o.metadata.name, o.metadata.resourceVersion]),
      ...later.map((o) => ['ADDED', o.metadata.name, o.metadata.resourceVersion]),
      ['MODIFIED', updated.metadata.name, updated.metadata.resourceVersion],
      ['DELETED', later[1].metadata.name, undefined],
    ];
    const got: WatchEvent<ConfigMap>[] = [];
    const guard = setTimeout(() => resumed.close(), 15_000);
    for await (const ev of resumed) {
      got.push(ev);
      if (got.length === expected.length) break;
    }
    clearTimeout(guard);
    resumed.close();
    t.diagnostic(`acknowledged ${acked.size}, stored ${stored.size}, watched before the crash ${before.length}, after ${got.length}`);
    assert.deepEqual(
      got.map((e, i) => [e.type, e.object.metadata.name, expected[i]?.[2] === undefined ? undefined : e.object.metadata.resourceVersion]),
      expected,
    );
    // Before and after together: every stored object exactly once.
    const seen = [
      ...before.map((e) => e.object.metadata.name),
      ...got.filter((e) => e.type === 'ADDED').map((e) => e.object.metadata.name),
    ];
    assert.equal(new Set(seen).size, seen.length, 'no object delivered twice across the restart');
    assert.deepEqual(new Set(seen), new Set([...stored.keys(), ...later.map((o) => o.metadata.name)]));
  } finally {
    await svc.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

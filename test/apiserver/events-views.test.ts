/**
 * core/v1 and events.k8s.io/v1 Events are one set of objects seen through two APIs, as in
 * Kubernetes: what either API records, both list, get and watch, each in its own field names.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KubeObject, WatchEvent } from '../../src/api/meta.js';
import { SERIALIZED_EVENT } from '../../src/apiserver/registry/generic.js';
import { R } from '../../src/client/types.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

type Ev = KubeObject & Record<string, unknown>;

const coreEvent: Ev = {
  apiVersion: 'v1',
  kind: 'Event',
  metadata: { name: 'web.1', namespace: 'default' },
  involvedObject: { kind: 'Pod', name: 'web', namespace: 'default' },
  reason: 'Scheduled',
  message: 'Successfully assigned default/web to node-1',
  source: { component: 'default-scheduler' },
  firstTimestamp: '2026-01-01T00:00:00Z',
  lastTimestamp: '2026-01-01T00:00:05Z',
  count: 2,
  type: 'Normal',
  reportingComponent: 'default-scheduler',
  reportingInstance: 'node-0',
};

const v1Event: Ev = {
  apiVersion: 'events.k8s.io/v1',
  kind: 'Event',
  metadata: { name: 'web.2', namespace: 'default' },
  eventTime: '2026-01-01T00:00:10.000000Z',
  regarding: { kind: 'Pod', name: 'web', namespace: 'default' },
  reason: 'Pulled',
  note: 'Container image "nginx" already present on machine',
  action: 'Pulling',
  type: 'Normal',
  reportingController: 'kubelet',
  reportingInstance: 'node-1',
};

async function firstEvent(events: AsyncIterable<WatchEvent<KubeObject>>): Promise<WatchEvent<KubeObject>> {
  for await (const ev of events) return ev;
  throw new Error('watch ended');
}

describe('Events: one set of objects, two APIs', () => {
  let api: TestApiServer;
  before(async () => {
    api = await startTestApiServer();
  });
  after(() => api.close());

  test('an event recorded through core/v1 is served by events.k8s.io/v1 with its field names', async () => {
    await api.client.create(R.events, coreEvent, { namespace: 'default' });
    const seen = (await api.client.get(R.eventsV1, 'web.1', 'default')) as Ev;
    assert.equal(seen.apiVersion, 'events.k8s.io/v1');
    assert.deepEqual(seen.regarding, coreEvent.involvedObject);
    assert.equal(seen.note, coreEvent.message);
    assert.deepEqual(seen.deprecatedSource, coreEvent.source);
    assert.equal(seen.deprecatedFirstTimestamp, coreEvent.firstTimestamp);
    assert.equal(seen.deprecatedLastTimestamp, coreEvent.lastTimestamp);
    assert.equal(seen.deprecatedCount, 2);
    assert.equal(seen.reportingController, 'default-scheduler');
    for (const core of ['involvedObject', 'message', 'source', 'firstTimestamp', 'lastTimestamp', 'count', 'reportingComponent']) {
      assert.equal(core in seen, false, core);
    }
  });

  test('an event recorded through events.k8s.io/v1 is listed by core/v1', async () => {
    await api.client.create(R.eventsV1, v1Event, { namespace: 'default' });
    const core = (await api.client.list(R.events, { namespace: 'default' })).items as Ev[];
    const e = core.find((x) => x.metadata.name === 'web.2');
    assert.ok(e);
    assert.equal(e.apiVersion, 'v1');
    assert.deepEqual(e.involvedObject, v1Event.regarding);
    assert.equal(e.message, v1Event.note);
    assert.equal(e.reportingComponent, 'kubelet');
    assert.equal(e.eventTime, v1Event.eventTime);
    const both = (await api.client.list(R.eventsV1, { namespace: 'default' })).items.map((x) => x.metadata.name);
    assert.deepEqual(both.sort(), ['web.1', 'web.2']);
  });

  test('lists served as JSON text and shared watch lines carry each API’s own form', async () => {
    const res = await api.handler.handle({
      method: 'GET',
      path: '/apis/events.k8s.io/v1/namespaces/default/events',
      query: new URLSearchParams(),
      headers: {},
      user: 'test',
    });
    const body = JSON.parse(res.kind === 'raw' ? String(res.body) : JSON.stringify((res as { body?: unknown }).body));
    assert.equal(body.kind, 'EventList');
    for (const item of body.items) {
      assert.equal(item.apiVersion, 'events.k8s.io/v1');
      assert.ok(item.regarding && !item.involvedObject, JSON.stringify(item));
    }

    const v1Storage = api.registry.find('events.k8s.io', 'v1', 'events')!.storage;
    const coreStorage = api.registry.find('', 'v1', 'events')!.storage;
    const rv = (await api.client.list(R.events, { namespace: 'default' })).metadata.resourceVersion;
    const v1Watch = v1Storage.watch('default', { resourceVersion: rv });
    const coreWatch = coreStorage.watch('default', { resourceVersion: rv });
    try {
      await api.client.create(R.events, { ...coreEvent, metadata: { name: 'web.3', namespace: 'default' } }, { namespace: 'default' });
      const [v1Ev, coreEv] = await Promise.all([firstEvent(v1Watch.events), firstEvent(coreWatch.events)]);
      const line = (e: WatchEvent<KubeObject>) => JSON.parse((e as unknown as Record<symbol, () => string>)[SERIALIZED_EVENT]());
      const v1Line = line(v1Ev);
      const coreLine = line(coreEv);
      assert.equal(v1Line.object.apiVersion, 'events.k8s.io/v1');
      assert.equal(v1Line.object.note, coreEvent.message);
      assert.equal(coreLine.object.apiVersion, 'v1');
      assert.equal(coreLine.object.message, coreEvent.message);
      assert.equal((v1Ev.object as Ev).note, coreEvent.message);
    } finally {
      v1Watch.close();
      coreWatch.close();
    }
  });
});

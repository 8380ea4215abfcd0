import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { lastWrite, startEventTTL } from '../../src/apiserver/event-ttl.js';
import { R } from '../../src/client/types.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

const HOUR = 60 * 60_000;
const MINUTE = 60_000;
const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

describe('event TTL', () => {
  test('the last write is the newest of the event’s timestamps', () => {
    const meta = { name: 'e', creationTimestamp: '2026-01-01T10:00:00Z' };
    assert.equal(lastWrite({ metadata: meta }), Date.parse('2026-01-01T10:00:00Z'));
    assert.equal(lastWrite({ metadata: meta, lastTimestamp: '2026-01-01T11:00:00Z' }), Date.parse('2026-01-01T11:00:00Z'));
    assert.equal(
      lastWrite({ metadata: meta, eventTime: '2026-01-01T10:30:00.000000Z', series: { lastObservedTime: '2026-01-01T11:30:00.000000Z' } }),
      Date.parse('2026-01-01T11:30:00Z'),
    );
  });

  describe('sweeping', () => {
    let api: TestApiServer;
    before(async () => {
      api = await startTestApiServer();
    });
    after(() => api.close());

    const event = (name: string, lastTimestamp: string) => ({
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name, namespace: 'default' },
      involvedObject: { kind: 'Pod', name: 'p', namespace: 'default' },
      reason: 'Test',
      message: name,
      lastTimestamp,
    });

    test('deletes what is older than the TTL, through both Event APIs, and keeps the rest', async () => {
      // Both are created now; `fresh` says it was last written 90 minutes from now (as an update then would).
      const t = Date.now();
      await api.client.create(R.events, event('old', iso(t - 10 * MINUTE)), { namespace: 'default' });
      await api.client.create(R.events, event('fresh', iso(t + 90 * MINUTE)), { namespace: 'default' });
      const ttl = startEventTTL(api.registry.find('', 'v1', 'events')!.storage, { ttlMs: HOUR, everyMs: HOUR, now: () => t + 61 * MINUTE });
      try {
        assert.equal(await ttl.sweepNow(), 1);
      } finally {
        ttl.stop();
      }
      const names = (await api.client.list(R.events, { namespace: 'default' })).items.map((e) => e.metadata.name);
      assert.deepEqual(names, ['fresh']);
      const v1 = (await api.client.list(R.eventsV1, { namespace: 'default' })).items.map((e) => e.metadata.name);
      assert.deepEqual(v1, ['fresh']);
    });

    test('sweeps past one page of events', async () => {
      const t = Date.now();
      for (let i = 0; i < 1_100; i++) await api.client.create(R.events, event(`many-${i}`, iso(t)), { namespace: 'default' });
      const ttl = startEventTTL(api.registry.find('', 'v1', 'events')!.storage, { ttlMs: HOUR, everyMs: HOUR, now: () => t + 61 * MINUTE });
      try {
        assert.equal(await ttl.sweepNow(), 1_100);
      } finally {
        ttl.stop();
      }
      const left = (await api.client.list(R.events, { namespace: 'default' })).items.map((e) => e.metadata.name);
      assert.deepEqual(left, ['fresh']);
    });
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type Backend, createScheduler, isSchedulerName } from './schedulers.js';

const be = (id: string, weight = 1, activeConns = 0, inactiveConns = 0): Backend => ({ id, weight, activeConns, inactiveConns });
const conn = { src: '10.244.0.5', dst: '10.96.0.20' };
const picks = (name: Parameters<typeof createScheduler>[0], backends: Backend[], n: number) => {
  const s = createScheduler(name);
  return Array.from({ length: n }, () => s.pick(backends, conn)?.id);
};

describe('IPVS schedulers', () => {
  test('rr takes servers in turn and skips weight 0', () => {
    assert.deepEqual(picks('rr', [be('a'), be('b', 0), be('c')], 4), ['a', 'c', 'a', 'c']);
  });

  test('rr continues after the last pick when the list changes', () => {
    const s = createScheduler('rr');
    assert.equal(s.pick([be('a'), be('b'), be('c')], conn)?.id, 'a');
    assert.equal(s.pick([be('a'), be('c')], conn)?.id, 'c');
  });

  test('wrr gives each server `weight` turns per cycle, interleaved', () => {
    assert.deepEqual(picks('wrr', [be('a', 4), be('b', 3), be('c', 2)], 9), ['a', 'a', 'b', 'a', 'b', 'c', 'a', 'b', 'c']);
  });

  test('lc picks the fewest connections (active weigh 256× inactive)', () => {
    const s = createScheduler('lc');
    assert.equal(s.pick([be('a', 1, 2), be('b', 1, 1, 200), be('c', 1, 1, 300)], conn)?.id, 'b');
    assert.equal(s.pick([be('a', 1, 1), be('b', 1, 0, 255)], conn)?.id, 'b');
  });

  test('wlc divides the overhead by weight', () => {
    // a: 256/1; b: 5·256/3 ≈ 427 → a. Then a: 512/1; b: 4·256/3 ≈ 341 → b.
    assert.equal(createScheduler('wlc').pick([be('a', 1, 1), be('b', 3, 5)], conn)?.id, 'a');
    assert.equal(createScheduler('wlc').pick([be('a', 1, 2), be('b', 3, 4)], conn)?.id, 'b');
  });

  test('sed picks min (active+1)/weight', () => {
    // a: (1+1)/1 = 2; b: (2+1)/2 = 1.5
    assert.equal(createScheduler('sed').pick([be('a', 1, 1), be('b', 2, 2)], conn)?.id, 'b');
  });

  test('nq picks an idle server if any, else behaves as sed', () => {
    assert.equal(createScheduler('nq').pick([be('a', 10, 1), be('b', 1, 0)], conn)?.id, 'b');
    assert.equal(createScheduler('nq').pick([be('a', 1, 1), be('b', 2, 2)], conn)?.id, 'b');
  });

  test('sh maps one source to one server, and sources spread over servers', () => {
    const s = createScheduler('sh');
    const servers = [be('a'), be('b'), be('c')];
    const seen = new Set<string>();
    for (let i = 0; i < 50; i++) {
      const src = `10.244.${i}.7`;
      const first = s.pick(servers, { src, dst: conn.dst })!.id;
      for (let j = 0; j < 3; j++) assert.equal(s.pick(servers, { src, dst: conn.dst })!.id, first);
      seen.add(first);
    }
    assert.deepEqual([...seen].sort(), ['a', 'b', 'c']);
  });

  test('dh maps one destination to one server', () => {
    const s = createScheduler('dh');
    const servers = [be('a'), be('b'), be('c')];
    const first = s.pick(servers, { src: '1.1.1.1', dst: '10.96.0.20' })!.id;
    for (const src of ['2.2.2.2', '3.3.3.3']) assert.equal(s.pick(servers, { src, dst: '10.96.0.20' })!.id, first);
  });

  test('no usable server → undefined', () => {
    for (const name of ['rr', 'wrr', 'lc', 'wlc', 'sed', 'nq', 'sh', 'dh'] as const) {
      assert.equal(createScheduler(name).pick([be('a', 0)], conn), undefined, name);
    }
    assert.equal(isSchedulerName('wlc'), true);
    assert.equal(isSchedulerName('maglev'), false);
  });
});

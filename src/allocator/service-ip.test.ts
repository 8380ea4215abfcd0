import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { NodePortAllocator, parsePortRange } from './node-port.js';
import { nthAddress, parseCidr, ServiceIPAllocator } from './service-ip.js';

describe('ServiceIPAllocator', () => {
  test('default CIDR excludes network and broadcast', () => {
    const a = new ServiceIPAllocator();
    assert.equal(a.cidr.text, '10.96.0.0/12');
    assert.equal(a.free(), 2 ** 20 - 2);
    assert.equal(a.contains('10.96.0.0'), false);
    assert.equal(a.contains('10.96.0.1'), true);
    assert.equal(a.contains('10.111.255.254'), true);
    assert.equal(a.contains('10.111.255.255'), false);
  });

  const errors: [string, string, string][] = [
    ['outside the CIDR', '10.200.0.1', 'provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12'],
    ['network address', '10.96.0.0', 'provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12'],
    ['broadcast address', '10.111.255.255', 'provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12'],
    ['not an IP', 'banana', 'provided IP is not in the valid range. The range of valid IPs is 10.96.0.0/12'],
  ];
  for (const [name, ip, message] of errors) {
    test(`static allocation refused: ${name}`, () => {
      assert.throws(() => new ServiceIPAllocator().allocate(ip), { message });
    });
  }

  test('static allocation twice is "already allocated"; release frees it', () => {
    const a = new ServiceIPAllocator();
    a.allocate('10.100.100.100');
    assert.throws(() => a.allocate('10.100.100.100'), { message: 'provided IP is already allocated' });
    a.release('10.100.100.100');
    a.allocate('10.100.100.100');
    assert.equal(a.has('10.100.100.100'), true);
  });

  test('dynamic allocation comes from the upper band, falls back to the lower, then is full', () => {
    // /27: 32 addresses, 30 usable, lower band = 16 (10.0.0.1 .. 10.0.0.16).
    const a = new ServiceIPAllocator('10.0.0.0/27', { rand: () => 0 });
    const got: string[] = [];
    for (let i = 0; i < 30; i++) got.push(a.allocateNext());
    assert.equal(got[0], '10.0.0.17');
    assert.deepEqual(
      got.slice(0, 14),
      Array.from({ length: 14 }, (_, i) => `10.0.0.${17 + i}`),
    );
    assert.deepEqual(
      got.slice(14),
      Array.from({ length: 16 }, (_, i) => `10.0.0.${1 + i}`),
    );
    assert.throws(() => a.allocateNext(), { message: 'range is full' });
  });

  test('default /12 keeps the first 256 addresses for static use', () => {
    const a = new ServiceIPAllocator();
    for (let i = 0; i < 200; i++) {
      const ip = a.allocateNext();
      const offset = parseCidr(`${ip}/32`).network - parseCidr('10.96.0.0/12').network - 1;
      assert.ok(offset >= 256, `${ip} is outside the static band`);
    }
  });

  test('snapshot and restore', () => {
    const a = new ServiceIPAllocator();
    a.allocate('10.96.0.1');
    a.allocate('10.96.0.10');
    const b = new ServiceIPAllocator();
    b.restore(a.snapshot());
    assert.deepEqual([...b.values()], ['10.96.0.1', '10.96.0.10']);
    assert.throws(() => new ServiceIPAllocator('10.0.0.0/24').restore(a.snapshot()), /does not match/);
  });
});

describe('nthAddress and parseCidr', () => {
  const cases: [string, number, string][] = [
    ['10.96.0.0/12', 1, '10.96.0.1'],
    ['10.96.0.0/12', 10, '10.96.0.10'],
    ['10.96.5.7/12', 1, '10.96.0.1'],
    ['192.168.0.0/16', 256, '192.168.1.0'],
  ];
  for (const [cidr, n, want] of cases) test(`${cidr} #${n} = ${want}`, () => assert.equal(nthAddress(cidr, n), want));
  test('index outside the CIDR throws', () => assert.throws(() => nthAddress('10.0.0.0/30', 4), RangeError));
  test('bad CIDRs throw', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', '300.0.0.0/8', 'x/8']) assert.throws(() => parseCidr(bad), /invalid CIDR/);
  });
});

describe('NodePortAllocator', () => {
  test('range parsing', () => {
    assert.deepEqual(parsePortRange('30000-32767'), { base: 30000, size: 2768 });
    assert.deepEqual(parsePortRange('30000'), { base: 30000, size: 1 });
    assert.throws(() => parsePortRange('2-1'), /unable to parse/);
  });

  const errors: [string, number, string][] = [
    ['below', 29999, 'provided port is not in the valid range. The range of valid ports is 30000-32767'],
    ['above', 40000, 'provided port is not in the valid range. The range of valid ports is 30000-32767'],
    ['privileged', 80, 'provided port is not in the valid range. The range of valid ports is 30000-32767'],
  ];
  for (const [name, port, message] of errors) {
    test(`static port refused: ${name}`, () => assert.throws(() => new NodePortAllocator().allocate(port), { message }));
  }

  test('already allocated, release, has', () => {
    const a = new NodePortAllocator();
    a.allocate(30200);
    assert.throws(() => a.allocate(30200), { message: 'provided port is already allocated' });
    a.release(30200);
    assert.equal(a.has(30200), false);
  });

  test('dynamic ports skip the first 86 ports until the upper band is full', () => {
    const a = new NodePortAllocator('30000-30099', { rand: () => 0 });
    // 100 ports: band = max(16, 100/32) = 16.
    const got: number[] = [];
    for (let i = 0; i < 100; i++) got.push(a.allocateNext());
    assert.equal(got[0], 30016);
    assert.equal(got[83], 30099);
    assert.equal(got[84], 30000);
    assert.throws(() => a.allocateNext(), { message: 'range is full' });
    const b = new NodePortAllocator();
    for (let i = 0; i < 100; i++) assert.ok(b.allocateNext() >= 30086);
  });
});

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { AddressPool } from './pool.js';

describe('LoadBalancer address pool', () => {
  test('hands out the lowest free address, keeps it per Service, and reuses released ones', () => {
    const p = new AddressPool('172.18.255.200-172.18.255.202');
    assert.equal(p.assign('default/a'), '172.18.255.200');
    assert.equal(p.assign('default/b'), '172.18.255.201');
    assert.equal(p.assign('default/a'), '172.18.255.200', 'same Service, same address');
    p.release('default/a');
    assert.equal(p.assign('default/c'), '172.18.255.200');
    assert.equal(p.assign('default/d'), '172.18.255.202');
    assert.equal(p.assign('default/e'), undefined, 'exhausted');
  });

  test('honours spec.loadBalancerIP when it is in the pool and free', () => {
    const p = new AddressPool('172.18.255.200-172.18.255.210');
    assert.equal(p.assign('default/a', '172.18.255.205'), '172.18.255.205');
    assert.equal(p.assign('default/b', '172.18.255.205'), undefined, 'taken');
    assert.equal(p.assign('default/c', '10.0.0.1'), undefined, 'outside the pool');
    assert.equal(p.assign('default/a', '172.18.255.206'), '172.18.255.206', 'moving to another requested address');
    assert.equal(p.holderOf('172.18.255.205'), undefined);
  });

  test('adopts addresses Services already show, refusing double holders', () => {
    const p = new AddressPool('172.18.255.200-172.18.255.210');
    assert.equal(p.adopt('default/a', '172.18.255.203'), true);
    assert.equal(p.adopt('default/b', '172.18.255.203'), false);
    assert.equal(p.assign('default/a'), '172.18.255.203');
    assert.equal(p.assign('default/b'), '172.18.255.200');
  });
});

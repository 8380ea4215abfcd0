import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { base32, chainHash, cidrContains, ipToInt } from './ipv4.js';

test('chainHash is base32(sha256(text)) cut to length, for ASCII and non-ASCII text', () => {
  for (const text of ['', 'default/db-service:mysqltcp', 'ns/svc:httptcp10.244.1.7:8080', 'ünïcødé/名前:p', 'x'.repeat(300)]) {
    for (const length of [1, 8, 13, 16, 20]) {
      const expected = base32(createHash('sha256').update(text, 'utf8').digest()).slice(0, length);
      assert.equal(chainHash(text, length), expected, `${text} / ${length}`);
    }
  }
  // Upstream's example: kube-proxy names ns1/svc1:p80 over TCP KUBE-SVC-XPGD46QRK7WJZT7O.
  assert.equal(chainHash('ns1/svc1:p80tcp', 16), 'XPGD46QRK7WJZT7O');
});

test('ipToInt and cidrContains', () => {
  assert.equal(ipToInt('10.0.0.1'), 167772161);
  assert.ok(Number.isNaN(ipToInt('10.0.0.256')));
  assert.ok(cidrContains('10.96.0.0/12', '10.111.255.255'));
  assert.ok(!cidrContains('10.96.0.0/12', '10.112.0.0'));
  assert.ok(cidrContains('0.0.0.0/0', '1.2.3.4'));
  assert.ok(cidrContains('192.0.2.1', '192.0.2.1'));
});

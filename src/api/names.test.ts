import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  isConfigMapKey,
  isDNS1035Label,
  isDNS1123Label,
  isDNS1123Subdomain,
  isQualifiedName,
  isValidIP,
  isValidLabelValue,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  nonSpecialIPErrors,
  parseCIDR,
  parseIP,
} from './names.js';

describe('names', () => {
  test('DNS-1123 label messages match kube', () => {
    assert.deepEqual(isDNS1123Label('my-name'), []);
    assert.deepEqual(isDNS1123Label('My_Name'), [
      "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')",
    ]);
    assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
    assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  });

  test('DNS-1123 subdomain and DNS-1035 label', () => {
    assert.deepEqual(isDNS1123Subdomain('web.example.com'), []);
    assert.deepEqual(isDNS1123Subdomain('Web'), [
      "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')",
    ]);
    assert.deepEqual(isDNS1035Label('web-1'), []);
    assert.deepEqual(isDNS1035Label('1web'), [
      "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
    ]);
  });

  test('generateName tolerates a trailing dash', () => {
    assert.deepEqual(nameIsDNSSubdomain('web-', true), []);
    assert.equal(nameIsDNSSubdomain('web-', false).length, 1);
  });

  test('qualified names (label keys)', () => {
    assert.deepEqual(isQualifiedName('app.kubernetes.io/name'), []);
    assert.deepEqual(isQualifiedName('/x'), ['prefix part must be non-empty']);
    assert.deepEqual(isQualifiedName('a/'), ['name part must be non-empty']);
    assert.deepEqual(isQualifiedName('bad key'), [
      "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
    ]);
    assert.match(
      isQualifiedName('a/b/c')[0],
      /^a qualified name must consist of .* with an optional DNS subdomain prefix and '\/' \(e\.g\. 'example\.com\/MyName'\)$/,
    );
  });

  test('label values', () => {
    assert.deepEqual(isValidLabelValue(''), []);
    assert.deepEqual(isValidLabelValue('v1.2_x'), []);
    assert.equal(isValidLabelValue('-x').length, 1);
  });

  test('port numbers and IANA port names', () => {
    assert.deepEqual(isValidPortNum(80), []);
    assert.deepEqual(isValidPortNum(70000), ['must be between 1 and 65535, inclusive']);
    assert.deepEqual(isValidPortNum(0), ['must be between 1 and 65535, inclusive']);
    assert.deepEqual(isValidPortName('http'), []);
    assert.deepEqual(isValidPortName('HTTP'), [
      'must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)',
      'must contain at least one letter (a-z)',
    ]);
    assert.deepEqual(isValidPortName('a--b'), ['must not contain consecutive hyphens']);
    assert.deepEqual(isValidPortName('-ab'), ['must not begin or end with a hyphen']);
    assert.deepEqual(isValidPortName('abcdefghijklmnop'), ['must be no more than 15 characters']);
    assert.deepEqual(isValidPortName('8080'), ['must contain at least one letter (a-z)']);
  });

  test('config map keys', () => {
    assert.deepEqual(isConfigMapKey('app.properties'), []);
    assert.deepEqual(isConfigMapKey('..x'), ["must not start with '..'"]);
    assert.equal(isConfigMapKey('a/b').length, 1);
  });

  test('IP parsing like Go net.ParseIP', () => {
    assert.equal(parseIP('10.96.0.1')?.canonical, '10.96.0.1');
    assert.equal(parseIP('010.096.0.1')?.canonical, '10.96.0.1');
    assert.equal(parseIP('2001:db8:0:0:0:0:0:1')?.canonical, '2001:db8::1');
    assert.equal(parseIP('::ffff:1.2.3.4')?.family, 4);
    assert.equal(parseIP('fe80::1%eth0'), undefined);
    assert.equal(parseIP('10.0.0.256'), undefined);
    assert.deepEqual(isValidIP('nope'), ['must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']);
    assert.deepEqual(parseCIDR('10.0.0.0/8')?.prefix, 8);
    assert.equal(parseCIDR('10.0.0.0/33'), undefined);
  });

  test('special IPs are not endpoints', () => {
    assert.deepEqual(nonSpecialIPErrors('10.244.1.5'), []);
    assert.deepEqual(nonSpecialIPErrors('127.0.0.1'), ['may not be in the loopback range (127.0.0.0/8, ::1/128)']);
    assert.deepEqual(nonSpecialIPErrors('0.0.0.0'), ['may not be unspecified (0.0.0.0)']);
    assert.deepEqual(nonSpecialIPErrors('169.254.1.1'), ['may not be in the link-local range (169.254.0.0/16, fe80::/10)']);
  });
});

import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, test } from 'node:test';
import { pairKey } from './portforward.js';
import { clientStreamProtocols, negotiateStreamProtocol } from './upgrade.js';

describe('stream protocol negotiation', () => {
  test('takes the first client protocol the server supports', () => {
    const req = {
      headers: { 'x-stream-protocol-version': 'v5.channel.k8s.io, v4.channel.k8s.io, v3.channel.k8s.io' },
    } as unknown as IncomingMessage;
    const offered = clientStreamProtocols(req);
    assert.deepEqual(offered, ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v3.channel.k8s.io']);
    assert.equal(negotiateStreamProtocol(offered, ['v4.channel.k8s.io']), 'v4.channel.k8s.io');
    assert.equal(negotiateStreamProtocol(['portforward.k8s.io'], ['v4.channel.k8s.io']), undefined);
  });
});

describe('port-forward stream pairing', () => {
  const stream = (id: number, headers: Record<string, string>) => ({ id, header: (n: string) => headers[n] });

  test('uses requestid when present', () => {
    assert.equal(pairKey(stream(3, { streamtype: 'data', requestid: '7' })), '7');
  });

  test('without requestid, error stream n pairs with data stream n+2 (old clients)', () => {
    assert.equal(pairKey(stream(1, { streamtype: 'error' })), pairKey(stream(3, { streamtype: 'data' })));
  });
});

import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { startTestApiServer, type TestApiServer } from '../../test/helpers/apiserver.js';
import type { KubeObject } from '../api/meta.js';
import { R } from '../client/types.js';
import { parseServiceAccountUser, ServiceAccountTokens, serviceAccountUser } from './serviceaccount-token.js';

const keyPem = () => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

let api: TestApiServer;
let clock = Date.parse('2026-01-01T00:00:00Z');
let tokens: ServiceAccountTokens;

before(async () => {
  api = await startTestApiServer();
  tokens = new ServiceAccountTokens(keyPem(), api.client, undefined, () => clock);
  await api.client.create(R.serviceaccounts, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot', namespace: 'default' } });
});
after(() => api.close());

/** POSTs a TokenRequest through the subresource handler, as the API handler would route it. */
async function request(name: string, spec: Record<string, unknown> = {}): Promise<{ status: number; body: KubeObject }> {
  const res = api.registry.find('', 'v1', 'serviceaccounts')!;
  const out = await tokens.connect(
    {
      method: 'POST',
      path: `/api/v1/namespaces/default/serviceaccounts/${name}/token`,
      query: new URLSearchParams(),
      headers: {},
      body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec }),
      user: 'svcnet-admin',
    },
    res,
    'default',
    name,
  );
  assert.equal(out.kind, 'json');
  return { status: out.status, body: (out as { body: KubeObject }).body };
}

describe('service account tokens', () => {
  test('user names round-trip', () => {
    assert.equal(serviceAccountUser('ns', 'sa'), 'system:serviceaccount:ns:sa');
    assert.deepEqual(parseServiceAccountUser('system:serviceaccount:ns:sa'), { namespace: 'ns', name: 'sa' });
    assert.equal(parseServiceAccountUser('system:serviceaccount:ns'), undefined);
    assert.equal(parseServiceAccountUser('svcnet-admin'), undefined);
  });

  test('a token authenticates as its service account until it expires (with a minute of leeway)', async () => {
    const { status, body } = await request('bot', { expirationSeconds: 600 });
    assert.equal(status, 201);
    assert.equal(body.status.expirationTimestamp, '2026-01-01T00:10:00Z');
    const token = body.status.token as string;
    assert.equal(await tokens.authenticate(token), 'system:serviceaccount:default:bot');
    clock += 659_000;
    assert.equal(await tokens.authenticate(token), 'system:serviceaccount:default:bot');
    clock += 2_000;
    assert.equal(await tokens.authenticate(token), undefined);
    clock -= 661_000;
  });

  test('tokens for other audiences, from another key, or malformed are refused', async () => {
    const other = (await request('bot', { audiences: ['vault'] })).body.status.token as string;
    assert.equal(await tokens.authenticate(other), undefined, 'not for the API');
    const foreign = new ServiceAccountTokens(keyPem(), api.client, undefined, () => clock);
    const res = api.registry.find('', 'v1', 'serviceaccounts')!;
    const fromElsewhere = await foreign.connect(
      {
        method: 'POST',
        path: '',
        query: new URLSearchParams(),
        headers: {},
        body: '{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest"}',
        user: 'x',
      },
      res,
      'default',
      'bot',
    );
    const t = (fromElsewhere as { body: KubeObject }).body.status.token as string;
    assert.equal(await foreign.authenticate(t), 'system:serviceaccount:default:bot');
    assert.equal(await tokens.authenticate(t), undefined, 'signed by another key');
    for (const junk of ['', 'a.b', 'a.b.c', 'not a token']) assert.equal(await tokens.authenticate(junk), undefined);
  });

  test('a token bound to a pod dies with the pod', async () => {
    await api.client.create(R.pods, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'p', namespace: 'default' },
      spec: { containers: [{ name: 'c', image: 'nginx' }] },
    });
    const { body } = await request('bot', { boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'p' } });
    const token = body.status.token as string;
    assert.equal(await tokens.authenticate(token), 'system:serviceaccount:default:bot');
    await api.client.delete(R.pods, 'p', { namespace: 'default', gracePeriodSeconds: 0 });
    assert.equal(await tokens.authenticate(token), undefined);
    await assert.rejects(
      request('bot', { boundObjectRef: { kind: 'ConfigMap', name: 'x' } }),
      /cannot bind token for serviceaccount "bot" to object of kind "ConfigMap"/,
    );
  });

  test('validity limits and a missing service account answer as kube-apiserver does', async () => {
    await assert.rejects(request('bot', { expirationSeconds: 599 }), (e: Error) => {
      assert.equal(
        e.message,
        'TokenRequest.authentication.k8s.io "bot" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes',
      );
      return true;
    });
    await assert.rejects(request('nobody'), /serviceaccounts "nobody" not found/);
    const { body } = await request('bot');
    assert.equal(body.spec.expirationSeconds, 3600);
  });
});

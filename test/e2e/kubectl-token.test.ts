/**
 * `kubectl create token` against a real `svcnet up`: the serviceaccounts/token subresource issues a
 * signed JWT for the service account, kubectl authenticates with it as that service account, and
 * the token stops working when the service account it names is deleted (even if recreated).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startCluster, type TestCluster } from './cluster.js';

let c: TestCluster;

before(async () => {
  c = await startCluster();
});
after(async () => {
  await c?.stop();
});

async function ok(args: string[]): Promise<string> {
  const r = await c.kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

function claims(token: string): Record<string, unknown> {
  const parts = token.split('.');
  assert.equal(parts.length, 3, `a JWT: ${token}`);
  return JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8'));
}

describe('kubectl create token', () => {
  test('issues a one-hour token for the service account that kubectl can log in with', async () => {
    const token = (await ok(['create', 'token', 'default'])).trim();
    const c1 = claims(token);
    assert.equal(c1.sub, 'system:serviceaccount:default:default');
    assert.equal(c1.iss, 'https://kubernetes.default.svc.cluster.local');
    assert.deepEqual(c1.aud, ['https://kubernetes.default.svc.cluster.local']);
    assert.equal((c1.exp as number) - (c1.iat as number), 3600);
    assert.equal((c1['kubernetes.io'] as { namespace: string }).namespace, 'default');
    assert.equal(
      await ok(['auth', 'whoami', '--token', token]),
      'ATTRIBUTE   VALUE\nUsername    system:serviceaccount:default:default\n' +
        'Groups      [system:serviceaccounts system:serviceaccounts:default system:authenticated]\n',
    );
    assert.match(await ok(['get', 'serviceaccounts', '--token', token]), /^NAME\s+SECRETS\s+AGE\ndefault\s+0\s+/);
    // What a webhook authenticator asks: a TokenReview says whose the token is.
    const tokenReview = (t: string) => JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t } });
    const reviewed = JSON.parse((await c.kubectl(['create', '-f', '-', '-o', 'json'], tokenReview(token))).stdout);
    assert.equal(reviewed.status.authenticated, true);
    assert.equal(reviewed.status.user.username, 'system:serviceaccount:default:default');
    const refused = JSON.parse((await c.kubectl(['create', '-f', '-', '-o', 'json'], tokenReview(`${token}x`))).stdout);
    assert.deepEqual(refused.status, { user: {} });
  });

  test('--duration sets the validity; less than 10 minutes is refused as kube-apiserver words it', async () => {
    const token = (await ok(['create', 'token', 'default', '-n', 'kube-system', '--duration', '2h'])).trim();
    const c2 = claims(token);
    assert.equal((c2.exp as number) - (c2.iat as number), 7200);
    assert.equal(c2.sub, 'system:serviceaccount:kube-system:default');
    const short = await c.kubectl(['create', 'token', 'default', '--duration', '5m']);
    assert.notEqual(short.code, 0);
    assert.match(
      short.stderr,
      /TokenRequest\.authentication\.k8s\.io "default" is invalid: spec\.expirationSeconds: Invalid value: 300: may not specify a duration less than 10 minutes/,
    );
    const missing = await c.kubectl(['create', 'token', 'nobody']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /serviceaccounts "nobody" not found/);
  });

  test('a token stops working once its service account is deleted, even if one of that name is made again', async () => {
    await ok(['create', 'serviceaccount', 'robot']);
    const token = (await ok(['create', 'token', 'robot'])).trim();
    assert.match(await ok(['auth', 'whoami', '--token', token]), /system:serviceaccount:default:robot/);
    await ok(['delete', 'serviceaccount', 'robot']);
    await ok(['create', 'serviceaccount', 'robot']);
    const r = await c.kubectl(['get', 'pods', '--token', token]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unauthorized/);
    // A token whose signature does not match is refused too.
    const fresh = (await ok(['create', 'token', 'robot'])).trim();
    const [h, p, s] = fresh.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims(fresh), sub: 'system:serviceaccount:default:admin' })).toString('base64url')}.${s}`;
    assert.equal(p === forged.split('.')[1], false);
    const bad = await c.kubectl(['get', 'pods', '--token', forged]);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /Unauthorized/);
  });
});

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { loadKubeconfig, renderKubeconfig, writeKubeconfig } from './kubeconfig.js';
import { ensurePki, issueServingCert, newToken, preloadPkiLibrary } from './pki.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'svcnet-pki-'));
  dirs.push(d);
  return d;
}
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('ensurePki', () => {
  test('creates a CA and a serving cert with the apiserver SANs, quickly, keys 0600', async () => {
    const dir = tempDir();
    // Loading the library is a one-off cost (~0.3-1 s unbundled on a busy machine); generation itself is what must be fast.
    await preloadPkiLibrary();
    const t0 = performance.now();
    const pki = await ensurePki(dir, { sans: { ips: ['172.18.0.1', '10.96.0.1'] } });
    const ms = performance.now() - t0;
    assert.ok(ms < 500, `generation took ${ms.toFixed(0)} ms`);

    const ca = new X509Certificate(pki.caCertPem);
    const cert = new X509Certificate(pki.certPem);
    assert.equal(ca.ca, true);
    assert.equal(cert.ca, false);
    assert.ok(cert.verify(ca.publicKey), 'serving cert is signed by the CA');
    assert.ok(cert.checkIssued(ca));
    assert.equal(ca.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    const years = (Date.parse(ca.validTo) - Date.now()) / (365 * 24 * 3600 * 1000);
    assert.ok(years > 9.9 && years < 10.1, `CA valid for ${years} years`);
    for (const name of [
      'localhost',
      'kubernetes',
      'kubernetes.default',
      'kubernetes.default.svc',
      'kubernetes.default.svc.cluster.local',
    ]) {
      assert.equal(cert.checkHost(name), name, `SAN ${name}`);
    }
    for (const ip of ['127.0.0.1', '172.18.0.1', '10.96.0.1']) assert.equal(cert.checkIP(ip), ip, `SAN ${ip}`);
    assert.match(pki.keyPem, /^-----BEGIN PRIVATE KEY-----/);
    assert.equal(statSync(pki.keyPath).mode & 0o777, 0o600);
    assert.equal(statSync(pki.caKeyPath).mode & 0o777, 0o600);
  });

  test('loads what exists; re-issues the serving cert (same CA) when a SAN is missing', async () => {
    const dir = tempDir();
    const first = await ensurePki(dir, { sans: { ips: ['10.96.0.1'] } });
    const again = await ensurePki(dir, { sans: { ips: ['10.96.0.1'] } });
    assert.equal(again.certPem, first.certPem);
    assert.equal(again.keyPem, first.keyPem);
    const more = await ensurePki(dir, { sans: { ips: ['10.96.0.1', '172.18.0.1'], dns: ['svcnet.local'] } });
    assert.equal(more.caCertPem, first.caCertPem);
    assert.notEqual(more.certPem, first.certPem);
    const cert = new X509Certificate(more.certPem);
    assert.equal(cert.checkIP('172.18.0.1'), '172.18.0.1');
    assert.equal(cert.checkHost('svcnet.local'), 'svcnet.local');
  });

  test('newToken is random and header-safe', () => {
    const a = newToken();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(a, newToken());
  });
});

describe('kubeconfig', () => {
  test('write then load round-trips server, CA, token and context', async () => {
    const dir = tempDir();
    const path = join(dir, 'kubeconfig');
    writeKubeconfig(path, { server: 'https://127.0.0.1:6443', caPem: 'CA-PEM\n', token: 'tok' });
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const text = renderKubeconfig({ server: 'https://127.0.0.1:6443', caPem: 'CA-PEM\n', token: 'tok' });
    assert.match(text, /current-context: svcnet/);
    assert.match(text, /name: svcnet-admin/);
    assert.deepEqual(loadKubeconfig(path), { server: 'https://127.0.0.1:6443', caPem: 'CA-PEM\n', token: 'tok', context: 'svcnet' });
  });

  test('the hand-written kubeconfig is the text YAML.stringify gives for the default document', () => {
    const o = { server: 'https://127.0.0.1:6443', caPem: 'CA-PEM\n', token: 'tok' };
    const doc = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'svcnet', cluster: { 'certificate-authority-data': 'Q0EtUEVNCg==', server: o.server } }],
      users: [{ name: 'svcnet-admin', user: { token: 'tok' } }],
      contexts: [{ name: 'svcnet', context: { cluster: 'svcnet', user: 'svcnet-admin' } }],
      'current-context': 'svcnet',
      preferences: {},
    };
    assert.equal(renderKubeconfig(o), YAML.stringify(doc, { lineWidth: 0 }));
  });

  test('kubeconfig values that YAML would read as something else are quoted and read back as written', () => {
    const tricky = [
      'true',
      'no',
      'null',
      '~',
      '123',
      '-1',
      '1e3',
      '0x1F',
      '.inf',
      'a: b',
      'a #b',
      '#x',
      '*ref',
      '&a',
      '!tag',
      "'q'",
      '"q"',
      '',
      ' x',
      'x:',
      '-',
      'ns:',
    ];
    for (const v of tricky) {
      const text = renderKubeconfig({ server: 'https://10.0.0.1:6443', caPem: 'CA', token: v, clusterName: v || 'c', namespace: v });
      const doc = YAML.parse(text);
      assert.equal(doc.users[0].user?.token ?? '', v, `token ${JSON.stringify(v)}`);
      assert.equal(doc.contexts[0].context.namespace ?? '', v, `namespace ${JSON.stringify(v)}`);
      assert.equal(doc['current-context'], v || 'c');
    }
    const full = renderKubeconfig({
      server: 'https://[::1]:6443',
      caPem: 'CA',
      clientCertPem: 'C',
      clientKeyPem: 'K',
      userName: 'node:n1',
    });
    assert.deepEqual(YAML.parse(full).users, [{ name: 'node:n1', user: { 'client-certificate-data': 'Qw==', 'client-key-data': 'Sw==' } }]);
    assert.equal(YAML.parse(full).clusters[0].cluster.server, 'https://[::1]:6443');
  });

  test('file references relative to the kubeconfig, tokenFile, namespace, insecure, explicit context', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'ca.crt'), 'CA');
    writeFileSync(join(dir, 'c.crt'), 'CERT');
    writeFileSync(join(dir, 'c.key'), 'KEY');
    writeFileSync(join(dir, 'tok'), 'filetoken\n');
    const path = join(dir, 'config');
    writeFileSync(
      path,
      `apiVersion: v1
kind: Config
current-context: a
clusters:
- name: ca
  cluster: {server: "https://a:6443", certificate-authority: ca.crt}
- name: cb
  cluster: {server: "https://b:6443", insecure-skip-tls-verify: true}
users:
- name: ua
  user: {client-certificate: c.crt, client-key: c.key}
- name: ub
  user: {tokenFile: tok}
contexts:
- name: a
  context: {cluster: ca, user: ua, namespace: kube-system}
- name: b
  context: {cluster: cb, user: ub}
`,
    );
    assert.deepEqual(loadKubeconfig(path), {
      server: 'https://a:6443',
      caPem: 'CA',
      clientCertPem: 'CERT',
      clientKeyPem: 'KEY',
      namespace: 'kube-system',
      context: 'a',
    });
    assert.deepEqual(loadKubeconfig(path, { context: 'b' }), {
      server: 'https://b:6443',
      insecureSkipTLSVerify: true,
      token: 'filetoken',
      context: 'b',
    });
    assert.throws(() => loadKubeconfig(path, { context: 'nope' }), /context was not found for specified context: nope/);
  });

  test('KUBECONFIG lists merge, first file wins', () => {
    const dir = tempDir();
    const a = join(dir, 'a');
    const b = join(dir, 'b');
    writeKubeconfig(a, { server: 'https://first:1', caPem: 'X', token: 't1', clusterName: 'one', userName: 'u1' });
    writeKubeconfig(b, { server: 'https://second:2', caPem: 'Y', token: 't2', clusterName: 'two', userName: 'u2' });
    const env = { KUBECONFIG: `${a}:${b}:${join(dir, 'missing')}` };
    assert.equal(loadKubeconfig(undefined, { env }).server, 'https://first:1');
    assert.equal(loadKubeconfig(undefined, { env, context: 'two' }).token, 't2');
  });
});

describe('real kubectl against our certificates', () => {
  test('kubectl version -o json verifies the CA and sends the bearer token', async () => {
    const dir = tempDir();
    const pki = await ensurePki(join(dir, 'pki'), {});
    const token = newToken();
    const seen: string[] = [];
    const server = createServer({ cert: pki.certPem, key: pki.keyPem }, (req, res) => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization === `Bearer ${token}` ? 'auth' : 'noauth'}`);
      if (req.headers.authorization !== `Bearer ${token}`) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}');
        return;
      }
      if (req.url?.startsWith('/version')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"major":"1","minor":"32","gitVersion":"v1.32.0"}');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const { port } = server.address() as AddressInfo;
      const kubeconfig = join(dir, 'kubeconfig');
      writeKubeconfig(kubeconfig, { server: `https://127.0.0.1:${port}`, caPem: pki.caCertPem, token });
      const { stdout } = await promisify(execFile)('kubectl', ['--kubeconfig', kubeconfig, 'version', '-o', 'json'], {
        timeout: 30_000,
        env: { ...process.env, HOME: dir, KUBECONFIG: '' },
      });
      const out = JSON.parse(stdout);
      assert.equal(out.serverVersion.gitVersion, 'v1.32.0');
      assert.ok(
        seen.some((s) => s.startsWith('GET /version') && s.endsWith(' auth')),
        seen.join('\n'),
      );
      assert.ok(!seen.some((s) => s.endsWith('noauth')), seen.join('\n'));
    } finally {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test('a client certificate issued by the CA carries CN/O and verifies against the CA', async () => {
    const dir = tempDir();
    const pki = await ensurePki(dir, {});
    const client = await issueServingCert({
      caCertPem: pki.caCertPem,
      caKeyPem: pki.caKeyPem,
      commonName: 'admin',
      organization: 'system:masters',
      usage: 'client',
    });
    const cert = new X509Certificate(client.certPem);
    assert.match(cert.subject, /CN=admin/);
    assert.match(cert.subject, /O=system:masters/);
    assert.ok(cert.verify(new X509Certificate(pki.caCertPem).publicKey));
  });
});

/** LoadBalancer IPAM through the real API server: external IPs appear, move and go as Services change. */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { KubeObject } from '../../src/api/meta.js';
import { R } from '../../src/client/types.js';
import { startLoadBalancerIPAM } from '../../src/controllers/lbipam/controller.js';
import { startTestApiServer, type TestApiServer } from '../helpers/apiserver.js';

let api: TestApiServer;
let ipam: ReturnType<typeof startLoadBalancerIPAM>;

async function eventually<T>(what: string, read: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const v = await read();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const ingressOf = async (name: string) => (await api.client.get<KubeObject>(R.services, name, 'default')).status?.loadBalancer?.ingress;

before(async () => {
  api = await startTestApiServer();
  ipam = startLoadBalancerIPAM(api.client, { pool: '172.18.255.200-172.18.255.201' });
  await ipam.ready;
});

after(async () => {
  await ipam.stop();
  await api.close();
});

test('LoadBalancer Services get pool addresses; others and exhausted ones stay without', async () => {
  const lb = (name: string) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'LoadBalancer', selector: { app: name }, ports: [{ port: 80 }] },
  });
  await api.client.create(R.services, lb('a'));
  await api.client.create(R.services, lb('b'));
  await api.client.create(R.services, lb('c'));
  await eventually(
    'a',
    () => ingressOf('a'),
    (i) => i?.[0]?.ip === '172.18.255.200',
  );
  await eventually(
    'b',
    () => ingressOf('b'),
    (i) => i?.[0]?.ip === '172.18.255.201',
  );
  assert.equal((await ingressOf('c'))?.length ?? 0, 0, 'pool exhausted: c stays pending');
  // Deleting a frees its address for c.
  await api.client.delete(R.services, 'a', { namespace: 'default' });
  await eventually(
    'c',
    () => ingressOf('c'),
    (i) => i?.[0]?.ip === '172.18.255.200',
  );
  // b turning into ClusterIP gives its address back and clears its status.
  await api.client.patch(R.services, 'b', 'merge', { spec: { type: 'ClusterIP' } }, { namespace: 'default' });
  await eventually(
    'b cleared',
    () => ingressOf('b'),
    (i) => !i?.length,
  );
});

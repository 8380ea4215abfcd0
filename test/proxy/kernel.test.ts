/**
 * The generated rules on a real kernel: each test runs in its own throwaway sandbox (new network,
 * mount and PID namespaces; gone when the test ends), loads iptables or nft rules through the real
 * executors, reads them back, and sends real connections from inside the sandbox to a cluster IP
 * whose endpoints listen on the sandbox's loopback.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { IptablesExecutor } from '../../src/proxy/backends/iptables/executor.js';
import { IptablesProxier } from '../../src/proxy/backends/iptables/proxier.js';
import { NftExecutor, NftProxier } from '../../src/proxy/backends/nftables/executor.js';
import { makeService, makeSlice } from '../../src/proxy/testing.js';
import { ProxyState } from '../../src/proxy/tracker.js';
import { type Sandbox, sandboxExec, sandboxSpawn, waitForLine, withNetSandbox } from '../helpers/sandbox.js';

const ENDPOINTS = ['10.244.1.2', '10.244.2.2', '10.244.3.2'];
const http = [{ name: 'http', port: 8080 }];

function initialState(): ProxyState {
  const state = new ProxyState('node-1');
  state.onService(undefined, makeService('default/web', { clusterIP: '10.96.0.20', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  state.onService(
    undefined,
    makeService('default/empty', { clusterIP: '10.96.0.23', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  );
  state.onEndpointSlice(makeSlice('default/web', 'web-1', http, ENDPOINTS));
  state.apply();
  return state;
}

/**
 * Endpoint addresses on lo, the service range routed out of a veth (as on a node: a route via lo
 * would make service IPs "local" and the kernel drops REJECT's ICMP errors for them), and one HTTP
 * server answering with its own address.
 */
async function setUpEndpoints(sandbox: Sandbox): Promise<void> {
  for (const ip of ENDPOINTS) await sandbox.run(['ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo']);
  await sandbox.run(['ip', 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1']);
  await sandbox.run(['ip', 'addr', 'add', '172.18.0.2/24', 'dev', 'v0']);
  await sandbox.run(['ip', 'link', 'set', 'v0', 'up']);
  await sandbox.run(['ip', 'link', 'set', 'v1', 'up']);
  await sandbox.run(['ip', 'route', 'add', '10.96.0.0/12', 'dev', 'v0']);
  const script = `const http=require('node:http');let n=0;for(const ip of process.argv.slice(1))http.createServer((q,s)=>s.end(ip)).listen(8080,ip,()=>{if(++n===${ENDPOINTS.length})console.log('listening')})`;
  const server = sandboxSpawn(sandbox, [process.execPath, '-e', script, ...ENDPOINTS]);
  await waitForLine(server, /listening/);
}

/** Which endpoint answered each of `n` requests to the cluster IP. */
async function hits(sandbox: Sandbox, n: number): Promise<Map<string, number>> {
  const res = await sandboxExec(sandbox, `for i in $(seq ${n}); do curl -s --max-time 2 http://10.96.0.20/; echo; done`);
  const counts = new Map<string, number>();
  for (const line of res.stdout.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

async function connectFails(sandbox: Sandbox, url: string): Promise<{ code: number | null; ms: number }> {
  const t0 = Date.now();
  const res = await sandboxExec(sandbox, ['curl', '-s', '--max-time', '3', url]);
  return { code: res.code, ms: Date.now() - t0 };
}

describe('rules on a real kernel (inside a throwaway network namespace)', () => {
  test('iptables: full load, kube-proxy chains visible, traffic spread over endpoints, no-endpoints rejected, partial update', async () => {
    await withNetSandbox(async (sandbox) => {
      await setUpEndpoints(sandbox);
      const state = initialState();
      const proxier = new IptablesProxier(new IptablesExecutor({ run: sandbox.run }), { clusterCIDR: '10.244.0.0/16' });
      const stats = await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
      assert.equal(stats.full, true);

      const listing = (await sandbox.run(['iptables', '-t', 'nat', '-L', 'KUBE-SERVICES', '-n'])).stdout;
      assert.match(
        listing,
        /KUBE-SVC-\w{16}\s+(tcp|6)\s+--\s+0\.0\.0\.0\/0\s+10\.96\.0\.20\s+\/\* default\/web:http cluster IP \*\/ tcp dpt:80/,
      );

      const counts = await hits(sandbox, 30);
      assert.deepEqual([...counts.keys()].sort(), ENDPOINTS, `answers: ${JSON.stringify([...counts])}`);

      const refused = await connectFails(sandbox, 'http://10.96.0.23/');
      assert.equal(refused.code, 7, 'connection refused (curl exit 7), not a timeout');

      // One endpoint goes away: a partial --noflush restore removes its KUBE-SEP chain.
      const saveBefore = (await sandbox.run(['iptables-save', '-t', 'nat'])).stdout;
      const gone = /-A (KUBE-SEP-\w+) .*--to-destination 10\.244\.3\.2:8080/.exec(saveBefore)?.[1];
      assert.ok(gone);
      state.onEndpointSlice(makeSlice('default/web', 'web-1', http, ENDPOINTS.slice(0, 2)));
      const partial = await proxier.sync({ full: false, reason: 'requested' }, state.services, state.endpoints, state.apply());
      assert.equal(partial.full, false);
      const saveAfter = (await sandbox.run(['iptables-save', '-t', 'nat'])).stdout;
      assert.ok(!saveAfter.includes(gone), 'stale endpoint chain deleted');
      assert.deepEqual([...(await hits(sandbox, 12)).keys()].sort(), ENDPOINTS.slice(0, 2));

      // A second full sync replaces the tables without duplicating our jump rules.
      await proxier.sync({ full: true, reason: 'periodic' }, state.services, state.endpoints);
      const pre = (await sandbox.run(['iptables', '-t', 'nat', '-S', 'PREROUTING'])).stdout;
      assert.equal(pre.match(/-j KUBE-SERVICES/g)?.length, 1);
    });
  });

  test('nftables: table loads, traffic spread over endpoints, no-endpoints refused at once, partial transaction', async () => {
    await withNetSandbox(async (sandbox) => {
      await setUpEndpoints(sandbox);
      const state = initialState();
      const executor = new NftExecutor(sandbox.run);
      const proxier = new NftProxier(executor, { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] });
      await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints);
      const table = await executor.list();
      assert.match(table, /10\.96\.0\.20 \. tcp \. 80 : goto service-\w{8}-default\/web\/tcp\/http/);
      assert.match(table, /numgen random mod 3 0 goto endpoint-\w{8}-default\/web\/tcp\/http__10\.244\.1\.2\/8080/);

      const counts = await hits(sandbox, 30);
      assert.deepEqual([...counts.keys()].sort(), ENDPOINTS, `answers: ${JSON.stringify([...counts])}`);

      const refused = await connectFails(sandbox, 'http://10.96.0.23/');
      assert.equal(refused.code, 7, 'connection refused (curl exit 7), not a timeout');

      state.onEndpointSlice(makeSlice('default/web', 'web-1', http, ENDPOINTS.slice(0, 2)));
      const partial = await proxier.sync({ full: false, reason: 'requested' }, state.services, state.endpoints, state.apply());
      assert.equal(partial.full, false);
      assert.ok(!(await executor.list()).includes('10.244.3.2'), 'stale endpoint chain deleted');
      assert.deepEqual([...(await hits(sandbox, 12)).keys()].sort(), ENDPOINTS.slice(0, 2));
    });
  });
});

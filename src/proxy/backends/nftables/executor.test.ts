/**
 * NftProxier's choice of transactions, with a fake `nft`: a large full sync into an absent table is
 * split and applied in order, a failure stops it and makes the next full sync one atomic
 * replacement of whatever the kernel was left with.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { test } from 'node:test';
import { CommandError, type CommandRunner } from '../../../cluster/netns.js';
import { makeService, makeSlice } from '../../testing.js';
import { ProxyState } from '../../tracker.js';
import { NftExecutor, NftProxier } from './executor.js';

const config = { clusterCIDR: '10.244.0.0/16', serviceCIDRs: ['10.96.0.0/12'] };
const split = { minServicePorts: 10, first: 0.1, minFirst: 2, growth: 2 };

function stateOf(n: number): ProxyState {
  const state = new ProxyState('node-1');
  for (let i = 0; i < n; i++) {
    const nn = `default/svc-${String(i).padStart(3, '0')}`;
    state.onService(undefined, makeService(nn, { clusterIP: `10.96.0.${i + 1}`, ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
    state.onEndpointSlice(makeSlice(nn, `svc-${i}-abcde`, [{ name: 'http', port: 8080 }], [`10.244.0.${i + 1}`]));
  }
  return state;
}

/** A fake nft: the table exists once a transaction created it; `failAt` makes that transaction (1-based) fail. */
function fakeNft(failAt?: number) {
  const transactions: string[] = [];
  const files: string[] = [];
  let tableExists = false;
  const run: CommandRunner = async (argv, options) => {
    if (argv.join(' ') === 'nft list tables ip') return { stdout: tableExists ? 'table ip kube-proxy\n' : '', stderr: '' };
    assert.equal(argv.length, 3);
    assert.deepEqual(argv.slice(0, 2), ['nft', '-f']);
    // Whole-table transactions come on stdin, split loads as files.
    if (argv[2] !== '-') files.push(argv[2]!);
    transactions.push(argv[2] === '-' ? (options?.input ?? '') : readFileSync(argv[2]!, 'utf8'));
    if (transactions.length === failAt) throw new CommandError([...argv], 1, null, '', 'Error: Could not process rule');
    tableExists = true;
    return { stdout: '', stderr: '' };
  };
  return { run, transactions, files };
}

test('a large initial sync into an absent table goes as transactions in order, the first creating the table', async () => {
  const nft = fakeNft();
  const state = stateOf(40);
  const stats = await new NftProxier(new NftExecutor(nft.run), config, { initialLoadSplit: split }).sync(
    { full: true, reason: 'initial' },
    state.services,
    state.endpoints,
    state.apply(),
  );
  // 40 ports: 4, 8, 16 and the remaining 12 with the last.
  assert.equal(stats.transactions, 3);
  assert.equal(nft.transactions.length, 3);
  assert.match(nft.transactions[0]!, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
  for (const later of nft.transactions.slice(1)) assert.doesNotMatch(later, /table ip kube-proxy\n|add chain ip kube-proxy services /);
  // Every service's chains and its service-ips element land in the same transaction, and each service once.
  const owners = new Map<string, number>();
  nft.transactions.forEach((text, t) => {
    for (const [, svc] of text.matchAll(/add chain ip kube-proxy service-\w+-default\/(svc-\d+)\/tcp\/http\n/g)) {
      assert.equal(owners.has(svc!), false, `${svc} written twice`);
      owners.set(svc!, t);
      assert.match(text, new RegExp(`10\\.96\\.0\\.${Number(svc!.slice(4)) + 1} \\. tcp \\. 80 : goto service-\\w+-default/${svc}/`));
    }
  });
  assert.equal(owners.size, 40);
  assert.deepEqual(
    [...owners.values()],
    [...owners.values()].sort((a, b) => a - b),
  );
});

test('a small initial sync, or one over an existing table, is one transaction', async () => {
  const small = fakeNft();
  const few = stateOf(9);
  const s1 = await new NftProxier(new NftExecutor(small.run), config, { initialLoadSplit: split }).sync(
    { full: true, reason: 'initial' },
    few.services,
    few.endpoints,
    few.apply(),
  );
  assert.equal(s1.transactions, 1);
  const nft = fakeNft();
  const state = stateOf(40);
  const proxier = new NftProxier(new NftExecutor(nft.run), config, { initialLoadSplit: split });
  await proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply());
  const resync = await proxier.sync({ full: true, reason: 'periodic' }, state.services, state.endpoints, state.apply());
  assert.equal(resync.transactions, 1);
});

test('a failed transaction stops the split load; the next full sync replaces the table in one transaction', async () => {
  const nft = fakeNft(2);
  const state = stateOf(40);
  const proxier = new NftProxier(new NftExecutor(nft.run), config, { initialLoadSplit: split });
  await assert.rejects(
    proxier.sync({ full: true, reason: 'initial' }, state.services, state.endpoints, state.apply()),
    /Could not process rule/,
  );
  assert.equal(nft.transactions.length, 2, 'nothing after the failed transaction');
  assert.equal(nft.files.length, 2);
  for (const file of nft.files) assert.equal(existsSync(file), false, `${file} removed`);
  const retry = await proxier.sync({ full: true, reason: 'requested' }, state.services, state.endpoints, state.apply());
  assert.equal(retry.transactions, 1);
  assert.match(nft.transactions[2]!, /^add table ip kube-proxy\ndelete table ip kube-proxy\n/);
  assert.equal([...nft.transactions[2]!.matchAll(/add chain ip kube-proxy service-\w+-default\S+\n/g)].length, 40);
});

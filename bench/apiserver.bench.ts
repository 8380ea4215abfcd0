/**
 * API server benchmark over HTTPS against a real `svcnet up` (SQLite store):
 * creates/s and updates/s at client concurrency 1 and 32, get latency, list latency of 10,000
 * Services, watch delivery latency with 100 watchers, `svcnet up` time to the first kubectl answer,
 * and RSS (idle and after the load).
 *
 * Creates and updates are driven by wrk (C, keep-alive HTTPS, a Lua script that names each object),
 * so that on this 2-core machine the load generator takes as little as possible of the CPU the
 * server needs; the same runs with svcnet's own Node client are printed beside them. Every request
 * must succeed (wrk's non-2xx count must be 0).
 *
 *   node --import tsx bench/apiserver.bench.ts [--services 10000] [--only up,writes,list,watch]
 *
 * `--watch-threads N` (default 2) spreads the last watch run's 100 light watchers over N worker threads.
 * `--only` runs some sections (the cluster is started either way; `list` and `watch` run after the
 * Services are created, `--services 0` skips them).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { HttpClient } from '../src/client/http.js';
import { type GroupVersionResource, R } from '../src/client/types.js';
import { loadKubeconfig } from '../src/cluster/kubeconfig.js';

const SVCNET = join(import.meta.dirname, '..', 'bin', 'svcnet.js');
const argServices = process.argv.indexOf('--services');
const N_SERVICES = argServices > 0 ? Number(process.argv[argServices + 1]) : 10_000;
const argOnly = process.argv.indexOf('--only');
const SECTIONS = new Set(argOnly > 0 ? process.argv[argOnly + 1].split(',') : ['up', 'writes', 'list', 'watch']);

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `p50 ${pct(s, 50).toFixed(2)} ms, p99 ${pct(s, 99).toFixed(2)} ms`;
}

function rssMB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function runConcurrent(total: number, concurrency: number, op: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        await op(i);
      }
    }),
  );
  return total / ((performance.now() - t0) / 1000);
}

/** wrk's Lua: POST ConfigMaps named cm-<prefix>-<n>, or PUT over cm-<prefix>-0 … cm-<prefix>-<total - 1>. */
const WRK_SCRIPT = `
local n = 0
local mode = os.getenv("WRK_MODE")
local prefix = os.getenv("WRK_PREFIX")
local total = tonumber(os.getenv("WRK_TOTAL") or "0")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("WRK_TOKEN")
request = function()
  n = n + 1
  if mode == "update" then
    local name = "cm-" .. prefix .. "-" .. (n % total)
    return wrk.format("PUT", "/api/v1/namespaces/default/configmaps/" .. name, nil,
      '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"' .. name .. '","namespace":"default"},"data":{"key":"y' .. n .. '"}}')
  end
  return wrk.format("POST", "/api/v1/namespaces/default/configmaps", nil,
    '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"cm-' .. prefix .. '-' .. n .. '"},"data":{"key":"x"}}')
end
`;

interface WrkResult {
  perSecond: number;
  p50: string;
  p99: string;
}

/** Runs wrk with one thread and `connections` keep-alive connections; throws if any request failed. */
function wrk(server: string, token: string, connections: number, seconds: number, env: Record<string, string>): WrkResult {
  const script = join(root, 'bench.lua');
  writeFileSync(script, WRK_SCRIPT);
  const r = spawnSync('wrk', ['-t1', `-c${connections}`, `-d${seconds}s`, '--latency', '-s', script, server], {
    env: { ...process.env, WRK_TOKEN: token, ...env },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`wrk failed: ${r.stderr || r.stdout}`);
  const out = r.stdout;
  const failed = /Non-2xx or 3xx responses: (\d+)/.exec(out) ?? /Socket errors: (.*)/.exec(out);
  if (failed) throw new Error(`wrk saw failed requests: ${failed[0]}\n${out}`);
  return {
    perSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]),
    p50: /50%\s+(\S+)/.exec(out)?.[1] ?? '?',
    p99: /99%\s+(\S+)/.exec(out)?.[1] ?? '?',
  };
}

/** GETs a path and resolves when the last byte has arrived, without decoding the body. */
function timeToLastByte(server: string, token: string, caPem: string | undefined, path: string): Promise<{ ms: number; body: Buffer }> {
  const t = performance.now();
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      new URL(path, server),
      { ca: caPem, headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: performance.now() - t, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

function configMap(name: string, data = 'x') {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'default' }, data: { key: data } };
}

function service(name: string) {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'bench' },
    spec: { selector: { app: name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
  };
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable across threads and processes. */
const epoch = () => performance.timeOrigin + performance.now();
const argThreads = process.argv.indexOf('--watch-threads');
const WATCH_THREADS = argThreads > 0 ? Number(process.argv[argThreads + 1]) : 2;
const WARMUP_EVENTS = 20;
/** BENCH_WATCH_TRACE=FILE writes every watch event's send and receipt times (epoch ms) to FILE. */
const TRACE = process.env.BENCH_WATCH_TRACE;
const traceSent: Record<string, number> = {};
const traceRecv: Record<string, number[]> = {};
function traceReceipt(name: string, at: number): void {
  traceRecv[name] ??= [];
  traceRecv[name].push(at);
}

/** A thread of light watchers: plain JavaScript, so it runs without the TypeScript loader. */
const WATCHER_THREAD = `
const { workerData, parentPort } = require('node:worker_threads');
const https = require('node:https');
const { server, token, ca, resourceVersion, count, events, prefix } = workerData;
const re = new RegExp('"name":"(' + prefix + '\\\\d+)"');
const received = [];
let opened = 0, finished = 0;
for (let i = 0; i < count; i++) {
  const req = https.request(new URL('/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion=' + resourceVersion, server),
    { ca, agent: false, headers: { Authorization: 'Bearer ' + token } }, (res) => {
      if (++opened === count) parentPort.postMessage({ opened: true });
      let buffered = '', seen = 0;
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        const at = performance.timeOrigin + performance.now();
        buffered += chunk;
        let nl;
        while ((nl = buffered.indexOf('\\n')) >= 0) {
          const name = re.exec(buffered.slice(0, nl))?.[1];
          buffered = buffered.slice(nl + 1);
          if (!name) continue;
          received.push([name, at]);
          if (++seen === events) { req.destroy(); if (++finished === count) parentPort.postMessage({ received }); }
        }
      });
    });
  req.on('error', (e) => { if (finished < count) throw e; });
  req.end();
}
`;

/** Opens `total` watchers over `threads` worker threads; `results` resolves with every [name, receivedAt]. */
async function spreadWatchers(
  server: string,
  token: string,
  ca: string | undefined,
  resourceVersion: string,
  total: number,
  threads: number,
  events: number,
  prefix: string,
) {
  const workers = Array.from({ length: threads }, (_, i) => {
    const count = Math.floor(total / threads) + (i < total % threads ? 1 : 0);
    return new Worker(WATCHER_THREAD, { eval: true, workerData: { server, token, ca, resourceVersion, count, events, prefix } });
  });
  const message = (w: Worker, key: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const on = (m: Record<string, unknown>) => {
        if (key in m) {
          w.off('message', on);
          resolve(m);
        }
      };
      w.on('message', on);
      w.once('error', reject);
    });
  const results = Promise.all(workers.map((w) => message(w, 'received'))).then(async (ms) => {
    await Promise.all(workers.map((w) => w.terminate()));
    return ms.flatMap((m) => m.received as [string, number][]);
  });
  await Promise.all(workers.map((w) => message(w, 'opened')));
  return { results };
}

const root = mkdtempSync(join(tmpdir(), 'svcnet-bench-'));
const dataDir = join(root, 'data');
const rows: [string, string][] = [];
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
/** Records a result with the machine's load average at that moment (the machine is shared). */
function row(what: string, value: string): void {
  rows.push([what, `${value}  (load ${load()})`]);
  process.stderr.write(`${what}: ${value}\n`);
}
try {
  // `svcnet up` until kubectl answers.
  const t0 = performance.now();
  execFileSync(process.execPath, [SVCNET, 'up', '--data-dir', dataDir, '--port', '0'], { stdio: 'ignore' });
  const kc = join(dataDir, 'kubeconfig');
  const r = spawnSync('kubectl', ['get', 'ns', 'default', '-o', 'name'], { env: { ...process.env, KUBECONFIG: kc, HOME: root } });
  const upMs = performance.now() - t0;
  if (r.status !== 0) throw new Error(`kubectl failed: ${r.stderr}`);
  if (SECTIONS.has('up')) {
    row('svcnet up → first kubectl answer (fresh data dir, incl. kubectl start-up)', `${upMs.toFixed(0)} ms`);
    const upOnly: number[] = [];
    for (let i = 0; i < 3; i++) {
      execFileSync(process.execPath, [SVCNET, 'down', '--data-dir', dataDir], { stdio: 'ignore' });
      const t = performance.now();
      execFileSync(process.execPath, [SVCNET, 'up', '--data-dir', dataDir, '--port', '0'], { stdio: 'ignore' });
      upOnly.push(performance.now() - t);
    }
    row('svcnet up (existing data dir), until it returns ready, median of 3', `${[...upOnly].sort((a, b) => a - b)[1].toFixed(0)} ms`);
  }

  const pid = JSON.parse(readFileSync(join(dataDir, 'run.json'), 'utf8')).pid as number;
  const creds = loadKubeconfig(kc);
  const client = new HttpClient(creds);
  await new Promise((res) => setTimeout(res, 1000));
  row('RSS idle', `${rssMB(pid).toFixed(0)} MB`);

  const token = creds.token ?? '';
  if (SECTIONS.has('writes')) {
    // The objects the update runs rewrite (wrk's own create runs give no reliable list of names).
    const UPDATE_SET = 1000;
    await runConcurrent(UPDATE_SET, 32, (i) => client.create(R.configmaps, configMap(`cm-upd-${i}`)));
    for (const c of [1, 32]) {
      const created = wrk(creds.server, token, c, 5, { WRK_MODE: 'create', WRK_PREFIX: `wrk${c}` });
      row(
        `creates/s (ConfigMaps, wrk), concurrency ${c}`,
        `${created.perSecond.toFixed(0)} (latency p50 ${created.p50}, p99 ${created.p99})`,
      );
      const updated = wrk(creds.server, token, c, 5, { WRK_MODE: 'update', WRK_PREFIX: 'upd', WRK_TOTAL: String(UPDATE_SET) });
      row(
        `updates/s (ConfigMaps, wrk), concurrency ${c}`,
        `${updated.perSecond.toFixed(0)} (latency p50 ${updated.p50}, p99 ${updated.p99})`,
      );
    }
    for (const c of [1, 32]) {
      const n = c === 1 ? 1000 : 4000;
      const cps = await runConcurrent(n, c, (i) => client.create(R.configmaps, configMap(`cm-${c}-${i}`)));
      row(`creates/s (ConfigMaps, svcnet's Node client), concurrency ${c}`, cps.toFixed(0));
      const ups = await runConcurrent(n, c, (i) => client.update(R.configmaps, configMap(`cm-${c}-${i}`, 'y')));
      row(`updates/s (ConfigMaps, svcnet's Node client), concurrency ${c}`, ups.toFixed(0));
    }
    const getLat: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const t = performance.now();
      await client.get(R.configmaps, `cm-1-${i}`, 'default');
      getLat.push(performance.now() - t);
    }
    row('get latency (concurrency 1)', summary(getLat));
  }

  if ((SECTIONS.has('list') || SECTIONS.has('watch')) && N_SERVICES > 0) {
    await client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } });
    const sps = await runConcurrent(N_SERVICES, 32, (i) => client.create(R.services, service(`svc-${i}`)));
    row(`Service creates/s (with ClusterIP allocation), concurrency 32, ${N_SERVICES} Services`, sps.toFixed(0));
    // Let the controllers finish the Endpoints and EndpointSlices of the new Services first: the
    // list latency of a settled server is what is measured, not that of one catching up.
    const count = async (gvr: GroupVersionResource) => {
      const l = await client.list(gvr, { namespace: 'bench', limit: 1 });
      return l.items.length + (l.metadata.remainingItemCount ?? 0);
    };
    while ((await count(R.endpoints)) < N_SERVICES || (await count(R.endpointslices)) < N_SERVICES) {
      await new Promise((res) => setTimeout(res, 200));
    }
  }
  if (SECTIONS.has('list') && N_SERVICES > 0) {
    // The list's latency is request → last byte received (what kube-apiserver's request-duration SLI
    // covers); decoding the 9 MB of JSON is the client's own work and is shown beside it.
    const listLat: number[] = [];
    const parseLat: number[] = [];
    let listBytes = 0;
    for (let i = 0; i < 10; i++) {
      const { ms, body } = await timeToLastByte(creds.server, token, creds.caPem, '/api/v1/namespaces/bench/services');
      listLat.push(ms);
      const t = performance.now();
      const l = JSON.parse(body.toString()) as { items: unknown[] };
      parseLat.push(performance.now() - t);
      listBytes = body.length;
      if (l.items.length !== N_SERVICES) throw new Error(`listed ${l.items.length}`);
    }
    row(`list of ${N_SERVICES} Services (${(listBytes / 1e6).toFixed(1)} MB JSON over HTTPS), request → last byte`, summary(listLat));
    row(`  … the client's JSON.parse of that list`, summary(parseLat));
  }

  if (SECTIONS.has('watch')) {
    // Watch delivery: 100 watchers on ConfigMaps; each update's delivery latency is measured per watcher.
    const watchers = await Promise.all(
      Array.from({ length: 100 }, () => client.watch(R.configmaps, { namespace: 'watch', resourceVersion: undefined })),
    );
    await client.create(R.namespaces, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'watch' } });
    const sentAt = new Map<string, number>();
    const delivery: number[] = [];
    const events = 200;
    const done = Promise.all(
      watchers.map(async (w) => {
        let seen = 0;
        for await (const ev of w) {
          const name = (ev.object as { metadata: { name: string } }).metadata.name;
          const t = sentAt.get(name);
          if (t !== undefined) {
            delivery.push(performance.now() - t);
            if (TRACE) traceReceipt(name, epoch());
          }
          if (++seen >= events) break;
        }
      }),
    );
    for (let i = 0; i < events; i++) {
      const name = `w-${i}`;
      sentAt.set(name, performance.now());
      if (TRACE) traceSent[name] = epoch();
      await client.create(R.configmaps, { ...configMap(name), metadata: { name, namespace: 'watch' } });
      await new Promise((res) => setTimeout(res, 5));
    }
    await done;
    for (const w of watchers) w.close();
    row(`watch delivery latency, 100 watchers × ${events} events (svcnet's Node client: full JSON decoding)`, summary(delivery));

    // The same with 100 light watchers (each its own TLS connection; a line's name found by a regex
    // instead of a full JSON.parse): the 100 clients share this one process, so the lighter each is,
    // the less its queueing behind the other 99 adds to what is measured of the server.
    const rawSentAt = new Map<string, number>();
    const rawDelivery: number[] = [];
    const rawWatchers: ReturnType<typeof httpsRequest>[] = [];
    const opened: Promise<void>[] = [];
    let rawDone = 0;
    let allSeen!: () => void;
    const rawFinished = new Promise<void>((resolve) => {
      allSeen = resolve;
    });
    for (let i = 0; i < 100; i++) {
      opened.push(
        new Promise((resolve, reject) => {
          const req = httpsRequest(
            new URL('/api/v1/namespaces/watch/configmaps?watch=true&resourceVersion=0', creds.server),
            { ca: creds.caPem, agent: false, headers: { Authorization: `Bearer ${token}` } },
            (res) => {
              resolve();
              let buffered = '';
              let seen = 0;
              res.setEncoding('utf8');
              res.on('data', (chunk: string) => {
                buffered += chunk;
                let nl = buffered.indexOf('\n');
                while (nl >= 0) {
                  const name = /"name":"(r-\d+)"/.exec(buffered.slice(0, nl))?.[1];
                  buffered = buffered.slice(nl + 1);
                  const t = name && rawSentAt.get(name);
                  if (t) {
                    rawDelivery.push(performance.now() - t);
                    if (++seen === events && ++rawDone === 100) allSeen();
                  }
                  nl = buffered.indexOf('\n');
                }
              });
            },
          );
          req.on('error', reject);
          req.end();
          rawWatchers.push(req);
        }),
      );
    }
    await Promise.all(opened);
    for (let i = 0; i < events; i++) {
      const name = `r-${i}`;
      rawSentAt.set(name, performance.now());
      await client.create(R.configmaps, { ...configMap(name), metadata: { name, namespace: 'watch' } });
      await new Promise((res) => setTimeout(res, 5));
    }
    await rawFinished;
    for (const req of rawWatchers) req.destroy();
    row(`watch delivery latency, 100 watchers × ${events} events (light clients)`, summary(rawDelivery));

    // The same 100 light watchers spread over worker threads, each stamping a line on receipt (the
    // clock is shared: performance.timeOrigin + now), so one thread's queue of 100 TLS streams no
    // longer adds the time it takes to decrypt the other 99 to the last watcher's latency. They
    // start at the current resourceVersion (the two runs above start at 0, so their first events
    // queue behind the replay of the namespace's earlier objects to all 100 watchers), and 20
    // warm-up events go first: what is measured is the steady state, not the first-use compilation
    // of the server's and clients' write and read paths.
    const fromRV = (await client.list(R.configmaps, { namespace: 'watch', limit: 1 })).metadata.resourceVersion ?? '0';
    const spread = await spreadWatchers(creds.server, token, creds.caPem, fromRV, 100, WATCH_THREADS, events, 's-');
    for (let i = 0; i < WARMUP_EVENTS; i++) {
      const name = `warmup-${i}`;
      await client.create(R.configmaps, { ...configMap(name), metadata: { name, namespace: 'watch' } });
      await new Promise((res) => setTimeout(res, 5));
    }
    const spreadSentAt = new Map<string, number>();
    for (let i = 0; i < events; i++) {
      const name = `s-${i}`;
      spreadSentAt.set(name, epoch());
      await client.create(R.configmaps, { ...configMap(name), metadata: { name, namespace: 'watch' } });
      await new Promise((res) => setTimeout(res, 5));
    }
    const received = await spread.results;
    const spreadDelivery = received.map(([name, at]) => at - (spreadSentAt.get(name) ?? Number.NaN));
    row(
      `watch delivery latency, 100 watchers × ${events} events (light clients on ${WATCH_THREADS} threads, from the current resourceVersion, after ${WARMUP_EVENTS} warm-up events)`,
      summary(spreadDelivery),
    );
    if (TRACE) {
      for (const [name, at] of received) traceReceipt(name, at);
      for (const [name, at] of spreadSentAt) traceSent[name] = at;
      writeFileSync(TRACE, JSON.stringify({ sent: traceSent, recv: traceRecv }));
    }
  }
  row('RSS after the load', `${rssMB(pid).toFixed(0)} MB`);
  client.close();
} finally {
  spawnSync(process.execPath, [SVCNET, 'down', '--data-dir', dataDir], { stdio: 'ignore' });
  rmSync(root, { recursive: true, force: true });
}

const w = Math.max(...rows.map(([k]) => k.length));
console.log(`\nAPI server over HTTPS (svcnet up, SQLite store), ${new Date().toISOString()}`);
for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);

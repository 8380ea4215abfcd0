/**
 * The packet-flow conformance suite (issue 5): one set of tests, run against every service proxy
 * mode in a real 3-node cluster (`svcnet up --nodes 3 --proxy-mode MODE`) inside a sandbox. One
 * cluster per mode is shared by its cases; the workloads are in ./manifests.ts.
 *
 * Clients are real: a busybox pod (`kubectl exec … -- curl`), node namespaces
 * (`svcnet node shell`), the sandbox's root namespace ("the host", 172.18.0.1 on svcnet0), and a
 * Node load generator (./load.ts) in node-1's namespace.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { sandboxSpawn } from '../helpers/sandbox.js';
import { type ConformanceCluster, HOST_IP, nodeIP, type ProxyMode, ROOT, shq, startConformanceCluster } from './cluster.js';
import type { LoadResult } from './load.js';
import { CLIENT_NODE, MANIFESTS, SOLO_CLUSTER_NODEPORT, SOLO_LOCAL_NODEPORT, SOLO_NODE, WEBUI_IP } from './manifests.js';

/** Polls an HTTP URL from a shell until it answers (the proxy has programmed the Service). */
const AWAIT_HTTP = `await_http() { for i in $(seq 1 100); do curl -sf -m 1 -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }`;

/** One curl, printing `rc=<exit code> ms=<elapsed> body=<body>` (timed inside the namespace, so kubectl's own cost is not counted). */
const timedCurl = (url: string, maxSeconds: number) =>
  `s=$(date +%s%N); b=$(curl -s -m ${maxSeconds} ${shq(url)}); rc=$?; echo "rc=$rc ms=$(( ($(date +%s%N)-s)/1000000 )) body=$b"`;

interface CurlOutcome {
  rc: number;
  ms: number;
  body: string;
}

function parseTimedCurl(out: string): CurlOutcome {
  const m = /rc=(\d+) ms=(\d+) body=(.*)/.exec(out);
  assert.ok(m, `unexpected curl output: ${out}`);
  return { rc: Number(m[1]), ms: Number(m[2]), body: m[3]!.trim() };
}

/** Counts how often each line occurs. */
function tally(lines: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines.split('\n').filter(Boolean)) counts.set(line, (counts.get(line) ?? 0) + 1);
  return counts;
}

/** Runs the whole packet-flow suite against one proxy mode. */
export function packetFlowSuite(mode: ProxyMode): void {
  describe(`packet flow conformance: ${mode} mode, 3 nodes`, { timeout: 120_000 }, () => {
    let cluster: ConformanceCluster;
    const ip: Record<string, string> = {};
    const inNode = (node: number, script: string) => cluster.nodeShell(node, ['sh', '-c', script]);
    const inPod = (pod: string, script: string) => cluster.sh(`kubectl exec ${pod} -- sh -c ${shq(script)}`);

    before(async () => {
      cluster = await startConformanceCluster(mode, 3);
      await cluster.apply(MANIFESTS);
      await cluster.shOk(
        `kubectl rollout status deploy/webui --timeout=60s >/dev/null
kubectl rollout status deploy/backend --timeout=60s >/dev/null
kubectl wait --for=condition=Ready pod/solo pod/client --timeout=60s >/dev/null`,
        90_000,
      );
      const services = await cluster.kubectl([
        'get',
        'svc',
        '-o',
        'jsonpath={range .items[*]}{.metadata.name}={.spec.clusterIP}{"\\n"}{end}',
      ]);
      for (const line of services.trim().split('\n')) {
        const [name, clusterIP] = line.split('=');
        ip[name!] = clusterIP!;
      }
      // Every node's proxy has programmed the Services the cases use.
      for (let node = 1; node <= 3; node++) {
        const r = await inNode(
          node,
          `${AWAIT_HTTP}
await_http http://${WEBUI_IP}/ && await_http http://${ip.backend}/hostname && await_http http://${ip['backend-sticky']}/hostname &&
await_http http://${ip['solo-cluster']}/hostname && await_http http://${nodeIP(node)}:${SOLO_CLUSTER_NODEPORT}/hostname`,
        );
        assert.equal(r.code, 0, `node-${node} proxy not programmed: ${r.stderr}`);
      }
    });

    after(async () => {
      await cluster?.stop();
    });

    test('ClusterIP from a pod (kubectl exec … -- curl)', async () => {
      const r = await cluster.sh(`kubectl exec client -- curl -s -m 2 http://${WEBUI_IP}/ | grep -o '<title>[^<]*</title>'`);
      assert.equal(r.stdout.trim(), '<title>Welcome to nginx!</title>', r.stderr);
      const host = await cluster.sh(`kubectl exec client -- curl -s -m 2 http://${ip.backend}/hostname`);
      assert.match(host.stdout, /^backend-/, host.stderr);
    });

    test('ClusterIP from every node (svcnet node shell)', async () => {
      for (let node = 1; node <= 3; node++) {
        const r = await inNode(node, `curl -s -m 2 http://${ip.backend}/hostname`);
        assert.match(r.stdout, /^backend-/, `node-${node}: ${r.stderr}`);
      }
    });

    test('ClusterIP from outside the cluster (the host, routed via node-1) reaches every endpoint', async () => {
      // Off-cluster clients must be masqueraded (kube-proxy's --cluster-cidr), or replies from pods on
      // other nodes go straight back to the host and bypass node-1's NAT. Stops at the first failure.
      const r = await cluster.sh(
        `for i in $(seq 1 30); do curl -s -m 1 http://${ip.backend}/hostname || { echo FAILED; break; }; echo; done`,
      );
      const answers = tally(r.stdout);
      assert.equal(answers.get('FAILED') ?? 0, 0, `failed requests: ${JSON.stringify([...answers])}`);
      assert.equal(answers.size, 3, `answers: ${JSON.stringify([...answers])}`);
    });

    test('NodePort from the host to every node, including nodes with no local endpoint', async () => {
      for (let node = 1; node <= 3; node++) {
        const r = await cluster.sh(`curl -s -m 2 http://${nodeIP(node)}:${SOLO_CLUSTER_NODEPORT}/hostname`);
        assert.equal(r.stdout, 'solo', `node-${node} (solo runs on node-${SOLO_NODE}): ${r.stderr}`);
      }
    });

    test('hairpin: a pod reaches itself through its own Service', async () => {
      const r = await inPod('solo', `curl -s -m 2 http://${ip['solo-cluster']}/hostname`);
      assert.equal(r.stdout, 'solo', r.stderr);
      const viaNodePort = await inPod('solo', `curl -s -m 2 http://${nodeIP(SOLO_NODE)}:${SOLO_CLUSTER_NODEPORT}/hostname`);
      assert.equal(viaNodePort.stdout, 'solo', viaNodePort.stderr);
    });

    test('sessionAffinity ClientIP: every request from one client reaches one pod', async () => {
      const loop = (svc: string) => `for i in $(seq 1 20); do curl -s -m 1 http://${ip[svc]}/hostname; echo; done`;
      const fromPod = tally((await inPod('client', loop('backend-sticky'))).stdout);
      assert.equal(fromPod.size, 1, `client pod reached: ${JSON.stringify([...fromPod])}`);
      assert.equal([...fromPod.values()][0], 20);
      const fromNode = tally((await inNode(1, loop('backend-sticky'))).stdout);
      assert.equal(fromNode.size, 1, `node-1 reached: ${JSON.stringify([...fromNode])}`);
      // Without affinity the same client is spread, so the stickiness above is the affinity's doing.
      const spread = tally((await inPod('client', loop('backend'))).stdout);
      assert.ok(spread.size > 1, `without affinity one client reached only ${JSON.stringify([...spread])}`);
    });

    test('externalTrafficPolicy Local: only nodes with a local endpoint answer', async () => {
      const onSoloNode = await cluster.sh(`curl -s -m 2 http://${nodeIP(SOLO_NODE)}:${SOLO_LOCAL_NODEPORT}/hostname`);
      assert.equal(onSoloNode.stdout, 'solo', onSoloNode.stderr);
      for (const node of [1, 3]) {
        const r = await cluster.sh(timedCurl(`http://${nodeIP(node)}:${SOLO_LOCAL_NODEPORT}/hostname`, 1));
        const outcome = parseTimedCurl(r.stdout);
        assert.notEqual(outcome.rc, 0, `node-${node} has no local endpoint but answered: ${outcome.body}`);
      }
    });

    test(
      mode === 'userspace'
        ? 'externalTrafficPolicy Local in userspace mode: the pod sees the proxying node, as with the old userspace kube-proxy'
        : 'externalTrafficPolicy Local preserves the client address (agnhost /clientip)',
      async () => {
        const hostAddress = new RegExp(`^${HOST_IP.replace(/\./g, '\\.')}:\\d+$`);
        const local = await cluster.sh(`curl -s -m 2 http://${nodeIP(SOLO_NODE)}:${SOLO_LOCAL_NODEPORT}/clientip`);
        if (mode === 'userspace') {
          // A user-space proxy opens its own connection to the pod: the source is the node's pod gateway.
          assert.match(local.stdout, new RegExp(`^10\\.244\\.${SOLO_NODE}\\.1:\\d+$`), `the pod saw the client as ${local.stdout}`);
          return;
        }
        assert.match(local.stdout, hostAddress, `the pod saw the client as ${local.stdout}`);
        // With policy Cluster, traffic arriving at a node without an endpoint is masqueraded on its way to the pod.
        const viaOtherNode = await cluster.sh(`curl -s -m 2 http://${nodeIP(1)}:${SOLO_CLUSTER_NODEPORT}/clientip`);
        assert.match(viaOtherNode.stdout, /^\d+\.\d+\.\d+\.\d+:\d+$/, viaOtherNode.stderr);
        assert.doesNotMatch(viaOtherNode.stdout, hostAddress);
      },
    );

    test('internalTrafficPolicy Local: only node-local endpoints are used', async () => {
      const local = await inNode(SOLO_NODE, `curl -s -m 2 http://${ip['solo-itp']}/hostname`);
      assert.equal(local.stdout, 'solo', local.stderr);
      const remoteNode = parseTimedCurl((await inNode(CLIENT_NODE, timedCurl(`http://${ip['solo-itp']}/hostname`, 1))).stdout);
      assert.notEqual(remoteNode.rc, 0, `node-${CLIENT_NODE} has no local endpoint but got: ${remoteNode.body}`);
      const remotePod = parseTimedCurl((await inPod('client', timedCurl(`http://${ip['solo-itp']}/hostname`, 1))).stdout);
      assert.notEqual(remotePod.rc, 0, `a pod on node-${CLIENT_NODE} has no local endpoint but got: ${remotePod.body}`);
    });

    test('a Service with no endpoints refuses connections at once (< 1 s)', async (t) => {
      const url = `http://${ip.nothing}/`;
      const outcomes = [
        ['pod', parseTimedCurl((await inPod('client', timedCurl(url, 3))).stdout)],
        ['node-1', parseTimedCurl((await inNode(1, timedCurl(url, 3))).stdout)],
        ['node-3', parseTimedCurl((await inNode(3, timedCurl(url, 3))).stdout)],
      ] as const;
      t.diagnostic(`refused after ${outcomes.map(([from, o]) => `${o.ms} ms from ${from}`).join(', ')}`);
      for (const [from, outcome] of outcomes) {
        assert.equal(outcome.rc, 7, `from ${from}: curl exit ${outcome.rc} (7 = connection refused) after ${outcome.ms} ms`);
        assert.ok(outcome.ms < 1000, `from ${from}: refused after ${outcome.ms} ms`);
      }
    });

    test('tutorial: 3 nginx pods behind webui-svc all answer over 100 requests', async () => {
      const pods = (await cluster.kubectl(['get', 'pods', '-l', 'app=webui', '-o', 'jsonpath={.items[*].metadata.name}'])).split(' ');
      assert.equal(pods.length, 3);
      for (const pod of pods) await cluster.kubectl(['exec', pod, '--', 'sh', '-c', `echo ${pod} > /usr/share/nginx/html/index.html`]);
      const r = await inNode(1, `for i in $(seq 1 100); do curl -s -m 1 http://${WEBUI_IP}/ || echo FAILED; done`);
      const answers = tally(r.stdout);
      assert.deepEqual([...answers.keys()].sort(), [...pods].sort(), JSON.stringify([...answers]));
      assert.equal(
        [...answers.values()].reduce((a, b) => a + b, 0),
        100,
      );
    });

    test('scale 3→10→3 under steady load with readiness probes and graceful termination loses no request', async (t) => {
      const stopFile = join(cluster.dataDir, 'load.stop');
      const load = sandboxSpawn(cluster.sandbox, [
        'sh',
        '-c',
        `cd ${shq(ROOT)} && exec ip netns exec svcnet-node-1 ${shq(process.execPath)} --import tsx test/conformance/load.ts "$@"`,
        'load',
        `http://${ip.backend}/hostname`,
        stopFile,
        '90',
      ]);
      const progress = watchLoad(load);
      try {
        await progress.until((r) => r.ok >= 200, 20_000, 'load flowing');
        await cluster.kubectl(['scale', 'deploy/backend', '--replicas=10']);
        await cluster.kubectl(['rollout', 'status', 'deploy/backend', '--timeout=60s']);
        // Readiness gates traffic: every new pod gets requests once Ready.
        await progress.until((r) => Object.keys(r.bodies).length >= 10, 20_000, 'all 10 pods answering');
        await cluster.kubectl(['scale', 'deploy/backend', '--replicas=3']);
        await cluster.shOk(
          `for i in $(seq 1 300); do [ "$(kubectl get pods -l app=backend --no-headers 2>/dev/null | wc -l)" = 3 ] && exit 0; sleep 0.1; done; exit 1`,
          60_000,
        );
        const before = progress.latest().ok;
        await progress.until((r) => r.ok >= before + 200, 20_000, 'load after scale-down');
      } finally {
        await cluster.sh(`touch ${shq(stopFile)}`);
      }
      const result = await progress.final;
      t.diagnostic(`${result.ok} requests answered, ${result.failed} failed, by ${Object.keys(result.bodies).length} pods`);
      assert.equal(result.failed, 0, `lost requests: ${JSON.stringify(result.errors)} of ${result.ok + result.failed}`);
      assert.ok(result.ok > 500, `only ${result.ok} requests`);
      const survivors = (await cluster.kubectl(['get', 'pods', '-l', 'app=backend', '-o', 'jsonpath={.items[*].metadata.name}'])).split(
        ' ',
      );
      assert.equal(survivors.length, 3);
    });
  });
}

/** Follows a load generator's output: its progress, and its final result. */
function watchLoad(child: ChildProcess): {
  latest(): LoadResult;
  until(done: (r: LoadResult) => boolean, timeoutMs: number, what: string): Promise<void>;
  final: Promise<LoadResult>;
} {
  let latest: LoadResult = { ok: 0, failed: 0, errors: {}, bodies: {} };
  let buffered = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const final = new Promise<LoadResult>((resolve, reject) => {
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.startsWith('{')) continue;
        latest = JSON.parse(line) as LoadResult;
        if (line.includes('"final":true')) resolve(latest);
        for (const wake of waiters) wake();
      }
    });
    child.on('exit', (code) => (code === 0 ? resolve(latest) : reject(new Error(`load generator exited ${code}: ${stderr}`))));
  });
  return {
    latest: () => latest,
    final,
    until: (done, timeoutMs, what) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!done(latest)) return;
          clearTimeout(timer);
          waiters.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`${what}: not reached within ${timeoutMs} ms (load so far ${JSON.stringify(latest)}; ${stderr})`));
        }, timeoutMs);
        waiters.add(check);
        check();
      }),
  };
}

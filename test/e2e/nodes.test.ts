/**
 * `svcnet up --nodes 2` for real, inside a sandbox (its own network, mount and pid namespaces):
 * node namespaces on svcnet0, agents, real pods spread over the nodes, reachable from the host,
 * and `svcnet down` removes every namespace and link it made.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runInSandbox } from '../helpers/sandbox.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

const SCRIPT = `
set -e
cd "$1"
DATA=$(mktemp -d)
export KUBECONFIG=$DATA/kubeconfig HOME=$DATA
node bin/svcnet.js up --nodes 2 --data-dir $DATA --port 0 >/dev/null
ready() { kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ' || true; }
for i in $(seq 1 100); do [ "$(ready)" = 2 ] && break; sleep 0.1; done
echo "nodes: $(ready)"
kubectl apply -f examples/deploy-nginx.yaml -f examples/clusterip-nginx.yaml -f examples/nodeport-nginx.yaml -f examples/headless-service.yaml >/dev/null
kubectl create namespace other >/dev/null
kubectl -n other create service clusterip far --tcp=80:80 >/dev/null
kubectl rollout status deploy/webui --timeout=60s >/dev/null
echo "spread: $(kubectl get pods -o jsonpath='{range .items[*]}{.spec.nodeName}{"\\n"}{end}' | sort -u | tr '\\n' ' ')"
for IP in $(kubectl get pods -o jsonpath='{.items[*].status.podIP}'); do
  for i in $(seq 1 50); do curl -s -m 2 http://$IP/ | grep -q 'Welcome to nginx' && break; sleep 0.1; done
  curl -s -m 2 http://$IP/ | grep -o '<title>[^<]*</title>' | sed "s|^|$IP |"
done
web() { for i in $(seq 1 50); do curl -s -m 2 "$@" | grep -o '<title>[^<]*</title>' && return; sleep 0.1; done; echo none; }
echo "clusterIP from host: $(web http://10.100.100.100/)"
echo "clusterIP from node-2: $(node bin/svcnet.js node shell node-2 -- curl -s -m 2 http://10.100.100.100/ | grep -o '<title>[^<]*</title>')"
echo "nodePort on node-1 from host: $(web http://172.18.0.2:30200/)"
echo "nodePort on node-2 from host: $(web http://172.18.0.3:30200/)"
echo "service url: $(node bin/svcnet.js service nodeport-service --url --data-dir $DATA)"
echo "service url answers: $(web "$(node bin/svcnet.js service nodeport-service --url --data-dir $DATA)")"
kubectl apply -f examples/loadbalancer-nginx.yaml >/dev/null
for i in $(seq 1 100); do node bin/svcnet.js service loadbalancer-service --url --data-dir $DATA 2>/dev/null | grep -q 172.18.255 && break; sleep 0.1; done
LB=$(node bin/svcnet.js service loadbalancer-service --url --data-dir $DATA)
echo "lb url: $LB"
echo "lb url answers: $(web "$LB")"
echo "clusterip url: $(node bin/svcnet.js service clusterip-service --url --data-dir $DATA 2>&1)"
echo "rules: $(node bin/svcnet.js node shell node-1 -- iptables -t nat -L -n | grep -c 'default/clusterip-service')"
POD=$(kubectl get pods -l app=webui -o jsonpath='{.items[0].metadata.name}')
echo "pod nslookup: $(kubectl exec $POD -- nslookup clusterip-service | grep -A1 '^Name:' | tr '\n\t' '  ')"
echo "pod getent other ns: $(kubectl exec $POD -- getent hosts far.other | awk '{print $2}')"
echo "pod headless: $(kubectl exec $POD -- getent ahostsv4 headless-service | awk '{print $1}' | sort -u | wc -l)"
echo "pod curl by name: $(kubectl exec $POD -- curl -s -m 3 http://clusterip-service/ | grep -o '<title>[^<]*</title>')"
echo "node-1 eth0: $(node bin/svcnet.js node shell node-1 -- ip -4 -o addr show eth0 | awk '{print $4}')"
echo "kubernetes endpoints: $(kubectl get ep kubernetes -o jsonpath='{.subsets[0].addresses[0].ip}')"
node bin/svcnet.js down --data-dir $DATA >/dev/null
echo "netns left: $(ip netns list | wc -l)"
echo "links left: $(ip -o link | grep -vc ': lo:')"
`;

test('svcnet up --nodes 2 runs real pods on two nodes and down removes everything', async () => {
  const r = await runInSandbox(SCRIPT, [ROOT], { timeoutMs: 150_000 });
  assert.equal(r.code, 0, `script failed:\n${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  assert.match(out, /^nodes: 2$/m);
  assert.match(out, /^spread: node-1 node-2 $/m);
  const titles = out.match(/^10\.244\.\d+\.\d+ <title>Welcome to nginx!<\/title>$/gm) ?? [];
  assert.equal(titles.length, 3, out);
  assert.match(out, /^kubernetes endpoints: 172\.18\.0\.1$/m);
  assert.match(out, /^clusterIP from host: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^clusterIP from node-2: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^nodePort on node-1 from host: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^nodePort on node-2 from host: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^service url: http:\/\/172\.18\.0\.2:30200$/m, 'svcnet service --url, as minikube service --url');
  assert.match(out, /^service url answers: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^lb url: http:\/\/172\.18\.255\.\d+:\d+$/m);
  assert.match(out, /^lb url answers: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^clusterip url: svcnet: service default\/clusterip-service has no node port$/m);
  assert.ok(Number(/^rules: (\d+)$/m.exec(out)?.[1]) >= 4, 'kube-proxy style rules with the service name in comments');
  assert.match(out, /^pod nslookup: Name: clusterip-service\.default\.svc\.cluster\.local Address: 10\.100\.100\.100 $/m);
  assert.match(out, /^pod getent other ns: far\.other\.svc\.cluster\.local$/m);
  assert.match(out, /^pod headless: 3$/m);
  assert.match(out, /^pod curl by name: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^node-1 eth0: 172\.18\.0\.2\/16$/m, 'svcnet node shell runs inside the node namespace');
  assert.match(out, /^netns left: 0$/m);
  assert.match(out, /^links left: 0$/m);
});

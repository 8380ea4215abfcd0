/**
 * `kubectl logs`, `exec`, `port-forward` and `run -it` against `svcnet up --nodes 2` for real,
 * inside a sandbox (its own network, mount and pid namespaces): kubectl → API server → the
 * node's kubelet API → the pod, on both nodes.
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
trap 'node bin/svcnet.js down --data-dir $DATA >/dev/null 2>&1 || true' EXIT
node bin/svcnet.js up --nodes 2 --data-dir $DATA --port 0 >/dev/null
ready() { kubectl get nodes --no-headers 2>/dev/null | grep -c ' Ready ' || true; }
for i in $(seq 1 100); do [ "$(ready)" = 2 ] && break; sleep 0.1; done
kubectl apply -f examples/deploy-nginx.yaml >/dev/null
kubectl rollout status deploy/webui --timeout=60s >/dev/null
for POD in $(kubectl get pods -o jsonpath='{.items[*].metadata.name}'); do
  echo "exec $(kubectl get pod $POD -o jsonpath='{.spec.nodeName}') $(kubectl exec $POD -- hostname)"
done
echo "resolv: $(kubectl exec deploy/webui -- cat /etc/resolv.conf | tr '\\n' '|')"
kubectl exec deploy/webui -- sh -c 'exit 3' 2>/dev/null || echo "exit code: $?"
kubectl port-forward deploy/webui 8000:80 >$DATA/pf.log 2>&1 &
PF=$!
for i in $(seq 1 100); do grep -q Forwarding $DATA/pf.log && break; sleep 0.05; done
echo "port-forward: $(curl -s -m 5 http://localhost:8000/ | grep -o '<title>[^<]*</title>')"
kill $PF
# port-forward picked one of the three pods (kubectl ranks them, not by name): read all their logs.
for i in $(seq 1 50); do kubectl logs -l app=webui --tail=-1 | grep -q 'GET / ' && break; sleep 0.1; done
echo "logs: $(kubectl logs -l app=webui --tail=-1 | grep -o '"GET / HTTP/1.1" 200' | head -1)"
PTY_STEPS='[{"expect":"try pressing enter","send":"\\r"},{"expect":"# ","send":"echo $((6*7))-answer\\r"},{"expect":"42-answer","send":"exit\\r"}]' \\
  python3 test/streaming/ptydrive.py kubectl run testpod -it --rm --restart=Never --image=busybox -- sh >$DATA/run.log 2>&1 || true
echo "run: $(grep -c '^42-answer' $DATA/run.log) $(grep -o 'pod "testpod" deleted' $DATA/run.log)"
# On a failed dialogue, what the terminal showed (it lands in the assertion's message).
grep -q '^42-answer' $DATA/run.log || sed 's/^/run.log: /' $DATA/run.log
`;

test('kubectl logs, exec, port-forward and run -it reach pods on real nodes through the API server', async () => {
  const r = await runInSandbox(SCRIPT, [ROOT], { timeoutMs: 150_000 });
  assert.equal(r.code, 0, `script failed:\n${r.stdout}\n${r.stderr}`);
  const out = r.stdout;
  const execs = out.match(/^exec (node-\d) webui-\S+$/gm) ?? [];
  assert.equal(execs.length, 3, out);
  assert.deepEqual([...new Set(execs.map((l) => l.split(' ')[1]))].sort(), ['node-1', 'node-2'], out);
  assert.match(
    out,
    /^resolv: nameserver 10\.96\.0\.10\|search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local( \S+)*\|options ndots:5\|$/m,
  );
  assert.match(out, /^exit code: 3$/m);
  assert.match(out, /^port-forward: <title>Welcome to nginx!<\/title>$/m);
  assert.match(out, /^logs: "GET \/ HTTP\/1\.1" 200$/m);
  assert.match(out, /^run: 1 pod "testpod" deleted$/m);
});

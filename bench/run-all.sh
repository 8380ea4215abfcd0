#!/usr/bin/env bash
# Runs every benchmark one after another (they need the machine's cores to themselves) and keeps
# each one's output in bench-results/<name>.txt. `npm run bench` calls this after `setup.sh bench`.
# A benchmark that fails is reported and the rest still run; the exit status says whether all passed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=bench-results
mkdir -p "$out"
failed=()
run() { # run <name> <script> [args…]
  local name=$1; shift
  echo "== $name ($(date -u +%H:%M:%S), load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  if node --import tsx "$@" 2>&1 | tee "$out/$name.txt"; then :; else failed+=("$name"); fi
}
run store bench/store.bench.ts
run apiserver bench/apiserver.bench.ts --services 10000
run controlplane bench/controlplane/network-programming.bench.ts --services 1000 --pods 10 --samples 100
run dns bench/dns/dns.bench.ts 10
run dns-respond bench/dns/respond.bench.ts
run proxy-rules bench/proxy/rules.bench.ts
run proxy-latency bench/proxy/latency.bench.ts iptables,nftables,userspace 1000 20
[ -f bench/proxy/throughput.bench.ts ] && run proxy-throughput bench/proxy/throughput.bench.ts
run agent-pod-start bench/agent/pod-start.bench.ts
if [ ${#failed[@]} -gt 0 ]; then echo "bench: failed: ${failed[*]}" >&2; exit 1; fi
echo "bench: all done; outputs in $out/" >&2

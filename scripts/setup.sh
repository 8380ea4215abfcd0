#!/usr/bin/env bash
# Idempotent set-up for a fresh machine of this kind: Debian packages, npm dependencies, the build.
# Fast when everything is already in place. `setup.sh bench` also installs the benchmark peers.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
want() { # want <command-or-path> <debian-package>
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -e "$1" ]; then need_pkgs+=("$2"); fi
}
want iptables iptables
want nft nftables
want dig dnsutils
want conntrack conntrack
want /usr/lib/cni/bridge containernetworking-plugins
want ip iproute2
want ss iproute2
want netstat net-tools
want ps procps
want curl curl
want sqlite3 sqlite3
want /usr/sbin/nginx nginx
if [ "${1:-}" = bench ]; then
  want dnsperf dnsperf
  want unbound unbound
  want haproxy haproxy
  want wrk wrk
  want iperf3 iperf3
fi
if [ ${#need_pkgs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${need_pkgs[*]}" >&2
  if [ "$(id -u)" != 0 ]; then echo "setup: need root to install Debian packages" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_pkgs[@]}" >/dev/null
  # Debian's policy-rc.d keeps daemons (unbound, haproxy) from starting on install; we start our own.
fi

# npm dependencies: install when node_modules is missing or older than package.json / the lock file.
stamp=node_modules/.svcnet-installed
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || { [ -f package-lock.json ] && [ package-lock.json -nt "$stamp" ]; }; then
  echo "setup: installing npm dependencies (the SQLite native build takes about 100 s on a fresh machine)" >&2
  # `npm install` (not `npm ci`): this registry lacks some platform-only optional packages of
  # biome, which the lock file therefore leaves out and `npm ci` would refuse. The lock still pins
  # every version that is installed.
  npm install --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi

# The DNS server's batched UDP addon (native/udp-batch): built when missing or older than its
# sources. Optional: without it the DNS server serves UDP through node:dgram, so a failed build
# only warns. Node's own headers (nodedir) are used: node-gyp cannot download any here.
addon=native/udp-batch/build/Release/udp_batch.node
if [ ! -f "$addon" ] || [ -n "$(find native/udp-batch -maxdepth 1 -type f \( -name '*.c' -o -name binding.gyp \) -newer "$addon" -print -quit)" ]; then
  echo "setup: building native/udp-batch (batched UDP for the DNS server)" >&2
  nodedir=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
  if ! (cd native/udp-batch && npm run --silent build -- --nodedir="$nodedir" >build.log 2>&1); then
    echo "setup: WARNING: native/udp-batch did not build (see native/udp-batch/build.log); the DNS server will use node:dgram for UDP" >&2
  fi
fi

# The userspace proxy's native byte relay (native/tcp-relay), likewise built when missing or older
# than its sources. Optional: without it the userspace proxy relays through Node streams.
addon=native/tcp-relay/build/Release/tcp_relay.node
if [ ! -f "$addon" ] || [ -n "$(find native/tcp-relay -maxdepth 1 -type f \( -name '*.c' -o -name binding.gyp \) -newer "$addon" -print -quit)" ]; then
  echo "setup: building native/tcp-relay (native byte relay for the userspace proxy)" >&2
  nodedir=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
  if ! (cd native/tcp-relay && npm run --silent build -- --nodedir="$nodedir" >build.log 2>&1); then
    echo "setup: WARNING: native/tcp-relay did not build (see native/tcp-relay/build.log); the userspace proxy will relay through Node streams" >&2
  fi
fi

# Build the CLI bundle when any source is newer than it.
if [ ! -f dist/svcnet.js ] || [ -n "$(find src scripts/build.mjs package.json -newer dist/svcnet.js -print -quit)" ]; then
  node scripts/build.mjs
fi

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

# The C addons in native/, each built when missing or older than its sources. Both are optional
# (svcnet falls back to pure Node without them), so a failed build only warns. Node's own headers
# (nodedir) are used: node-gyp cannot download any here.
build_addon() { # build_addon <name> <what it is for> <what happens without it>
  local dir=native/$1 addon="native/$1/build/Release/${1//-/_}.node"
  if [ -f "$addon" ] && [ -z "$(find "$dir" -maxdepth 1 -type f \( -name '*.c' -o -name binding.gyp \) -newer "$addon" -print -quit)" ]; then return; fi
  echo "setup: building $dir ($2)" >&2
  local nodedir
  nodedir=$(node -p 'require("node:path").resolve(process.execPath, "../..")')
  if ! (cd "$dir" && npm run --silent build -- --nodedir="$nodedir" >build.log 2>&1); then
    echo "setup: WARNING: $dir did not build (see $dir/build.log); $3" >&2
  fi
}
build_addon udp-batch 'batched UDP for the DNS server' 'the DNS server will use node:dgram for UDP'
build_addon tcp-relay 'native byte relay for the userspace proxy' 'the userspace proxy will relay through Node streams'

# Build the CLI bundle when any source is newer than it.
if [ ! -f dist/svcnet.js ] || [ -n "$(find src scripts/build.mjs package.json -newer dist/svcnet.js -print -quit)" ]; then
  node scripts/build.mjs
fi

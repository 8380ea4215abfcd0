#!/usr/bin/env bash
# Runs lint, type-check and every test with node's test runner.
#   scripts/test.sh          everything
#   scripts/test.sh unit     only tests beside the code (src/**/*.test.ts)
#   scripts/test.sh FILE...  just these files
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

if [ $# -gt 0 ] && [ "$1" != unit ]; then
  files=("$@")
else
  echo "== lint (biome)"; biome check src test bench scripts
  echo "== type-check (tsc)"; tsc --noEmit -p .
  mapfile -t files < <(find src -name '*.test.ts' | sort)
  if [ "${1:-}" != unit ]; then mapfile -t -O "${#files[@]}" files < <(find test -name '*.test.ts' | sort); fi
fi
node scripts/build.mjs # e2e tests run the real CLI bundle
echo "== tests (${#files[@]} files)"
exec node --import tsx --test --test-concurrency=2 --test-timeout=300000 "${files[@]}"

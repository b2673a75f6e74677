#!/usr/bin/env bash
# @proctor/player (sdk/js): npm packages from the registry (pinned by package-lock.json), then the
# ESM + script-tag builds and their .d.ts. `scripts/sdk.sh test` also runs vitest and the size budget.
set -euo pipefail
cd "$(dirname "$0")/../sdk/js"
if ! command -v npm >/dev/null; then
  echo "sdk: node and npm are needed (Node.js 20)" >&2
  exit 1
fi
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
if [ ! -f dist/proctor-player.iife.js ] || [ -n "$(find src scripts package.json -newer dist/proctor-player.iife.js -print -quit)" ]; then
  npm run --silent build
fi
if [ "${1:-}" = "test" ]; then
  npx vitest run
  node scripts/size.mjs ${SDK_SIZE_JSON:+--json "$SDK_SIZE_JSON"}
fi

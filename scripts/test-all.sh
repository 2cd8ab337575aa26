#!/usr/bin/env bash
# Every test: type check, engine + CLI unit tests (Vitest, Node), then the
# browser end-to-end tests (Playwright driving Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --browser

echo "== type check"
npx tsc --noEmit -p .

echo "== unit tests (vitest)"
npx vitest run

if [ -f e2e/run.mjs ]; then
  echo "== browser tests (playwright + chromium)"
  node e2e/run.mjs
fi

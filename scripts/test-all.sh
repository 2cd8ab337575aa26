#!/usr/bin/env bash
# Every test: type check, engine + CLI unit tests (Vitest, Node), then the
# browser end-to-end tests (Playwright driving Debian's Chromium).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh --browser

echo "== type check (engine host-free, then app/CLI/tests: tsc -b)"
npx tsc -b

echo "== unit tests (vitest)"
npx vitest run

if [ -f playwright.config.ts ]; then
  echo "== browser tests (@playwright/test + Debian's chromium)"
  npx playwright test
fi

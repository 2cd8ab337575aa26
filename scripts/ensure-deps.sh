#!/usr/bin/env bash
# Install what the workbench and the tests need, once: npm packages from the
# lockfile, and Debian's Chromium for the browser tests (never a downloaded
# browser build: this project runs where only npm and apt are reachable).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "[cxr-align] installing npm packages (npm ci)…"
  npm ci --no-audit --no-fund
fi

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[cxr-align] installing Debian's chromium for the browser tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "[cxr-align] the browser tests need Debian's chromium at /usr/bin/chromium:" >&2
    echo "            sudo apt-get install -y chromium" >&2
    exit 1
  fi
fi

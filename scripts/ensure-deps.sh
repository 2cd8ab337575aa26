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

# The tests also need the Vulkan loader (libvulkan1): the Node WebGPU lane runs
# Dawn on it, with SwiftShader's Vulkan driver from chromium where there is no GPU.
if [ "${1:-}" = "--browser" ] && { [ ! -x /usr/bin/chromium ] || ! ldconfig -p | grep -q 'libvulkan\.so\.1 '; }; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "[cxr-align] installing Debian's chromium and the Vulkan loader for the browser and WebGPU tests…"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium libvulkan1 >/dev/null
  else
    echo "[cxr-align] the browser and WebGPU tests need Debian's chromium at /usr/bin/chromium and the Vulkan loader:" >&2
    echo "            sudo apt-get install -y chromium libvulkan1" >&2
    exit 1
  fi
fi

#!/usr/bin/env bash
# Start the workbench: build once, then serve it on http://localhost:5173
# (with the cross-origin isolation headers the multi-threaded WASM backend needs).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
npx vite build
exec npx vite preview --port "${PORT:-5173}" --strictPort --host "${HOST:-127.0.0.1}"

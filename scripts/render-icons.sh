#!/usr/bin/env bash
# Renders public/icon.svg to the PNG fallbacks public/icon-192.png and
# public/icon-512.png with Debian's Chromium (headless). Run after editing the
# SVG; CHROMIUM_PATH overrides /usr/bin/chromium.
set -euo pipefail
cd "$(dirname "$0")/.."
chromium="${CHROMIUM_PATH:-/usr/bin/chromium}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp public/icon.svg "$tmp/icon.svg"
cat > "$tmp/page.html" <<'HTML'
<!doctype html><html><head><style>html,body{margin:0;background:transparent}img{display:block;width:100vw;height:100vh}</style></head><body><img src="icon.svg"></body></html>
HTML
for size in 192 512; do
  "$chromium" --headless --no-sandbox --disable-gpu --hide-scrollbars --default-background-color=00000000 \
    --window-size="$size,$size" --screenshot="$tmp/icon-$size.png" "file://$tmp/page.html" 2>/dev/null
  cp "$tmp/icon-$size.png" "public/icon-$size.png"
  echo "public/icon-$size.png"
done

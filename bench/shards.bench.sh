#!/usr/bin/env bash
# Throughput of `align` as one process against P shards side by side on this
# machine (P = 1, 2, 4; each shard with one host thread, one network copy and
# the cores shared out as WASM threads, at least one each),
# on N real ChestX-ray14 films from ../shared/data/cxr14 with the default model
# and frame. Wall clock from the first process started to the last one done,
# process start-up and model load included (as a job array pays them too).
#
#   bash bench/shards.bench.sh [N]        # N films, default 120
#
# Close other heavy programs first: on a shared machine the figures are noise.
set -euo pipefail
cd "$(dirname "$0")/.."
N="${1:-120}"
IMAGES="../shared/data/cxr14/images"
if [ ! -d "$IMAGES" ]; then echo "shards.bench: $IMAGES is absent; nothing to measure" >&2; exit 0; fi
WORK="$(mktemp -d "${TMPDIR:-/tmp}/cxr-shards-bench.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
ls "$IMAGES" | grep '\.png$' | sort | head -n "$N" > "$WORK/list.txt"
N="$(wc -l < "$WORK/list.txt")"
# Films in the page cache first, so the first configuration does not pay the disk for the others.
while read -r f; do cat "$IMAGES/$f"; done < "$WORK/list.txt" > /dev/null
ALIGN=(node bin/cxr-align.mjs align --list "$WORK/list.txt" --root "$IMAGES" --quiet)

now() { date +%s.%N; }
# run NAME SHARDS EXTRA…: SHARDS=0 is one plain process with the default threads.
run() {
  local name="$1" shards="$2"; shift 2
  local out="$WORK/$name" t0 t1
  t0="$(now)"
  if [ "$shards" -eq 0 ]; then
    "${ALIGN[@]}" --out "$out" "$@" 2> "$WORK/$name.log"
  else
    local pids=()
    for ((k = 0; k < shards; k++)); do
      "${ALIGN[@]}" --out "$out" --shard "$k/$shards" "$@" 2> "$WORK/$name-$k.log" &
      pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p"; done
  fi
  t1="$(now)"
  echo "$t0 $t1"
}

echo "align: $N films ($IMAGES), models/default, $(nproc) core(s), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-42s %9s %8s %9s\n' configuration seconds 'img/s' 'vs 1 proc'
base=""
CORES="$(nproc)"
for cfg in "one process (defaults):0" "1 shard  (--workers 1, all threads):1" "2 shards (--workers 1, threads shared):2" "4 shards (--workers 1, threads shared):4"; do
  label="${cfg%:*}"; shards="${cfg##*:}"
  threads=$(( CORES / (shards > 0 ? shards : 1) )); [ "$threads" -lt 1 ] && threads=1
  if [ "$shards" -eq 0 ]; then read -r t0 t1 < <(run "p0" 0); else read -r t0 t1 < <(run "p$shards" "$shards" --workers 1 --networks 1 --threads "$threads"); fi
  secs="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
  ips="$(awk -v n="$N" -v s="$secs" 'BEGIN { print n / s }')"
  [ -z "$base" ] && base="$ips"
  printf '%-42s %9.1f %8.2f %8.2fx\n' "$label" "$secs" "$ips" "$(awk -v a="$ips" -v b="$base" 'BEGIN { print a / b }')"
done
# The shards' merged matrices are the single process's, byte for byte.
node bin/cxr-align.mjs merge "$WORK/p4" 2> "$WORK/merge.log" || { cat "$WORK/merge.log" >&2; exit 1; }
cmp -s "$WORK/p0/transforms.json" "$WORK/p4/transforms.json" && echo "merged 4 shards = one process's transforms.json: identical" \
  || { echo "merged 4 shards differ from one process's transforms.json" >&2; exit 1; }
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"

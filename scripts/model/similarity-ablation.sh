#!/bin/bash
# The model card's similarity table: 200 steps of each loss from the same start
# (the previous default model) onto the same lung-field template, then `eval`.
#   bash scripts/model/similarity-ablation.sh PREVIOUS_MODEL_DIR TEMPLATE.png TEACHER.json [IMAGES] [MASKED]
set -euo pipefail
prev=$1; template=$2; teacher=$3
images=${4:-../shared/data/cxr14/images}; masked=${5:-../shared/data/masked}
run() {
  npx cxr-align train --images "$images" --template "$template" --init "$prev" --steps 200 --batch 8 --lr 3e-4 --lr-end 1e-6 \
    --loc-size 128 --frame 128x160 --model-frame 256x320 --margin 0.15,0.15,0.05,0.25 --seed 5 \
    --checkpoint-every 0 --sample-every 0 --quiet --out "runs/ab-$1" "${@:2}"
  npx cxr-align eval --data "$masked" --model "runs/ab-$1/model" --perturb 0 --quiet
}
run lncc-targets --loss lncc --targets "$teacher" --target-weight 20
run lncc --loss lncc
run multiscale --loss multiscale
run ncc --loss ncc
run pixel --loss pixel
run perceptual --loss perceptual --lambda 20

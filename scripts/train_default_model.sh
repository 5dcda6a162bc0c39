#!/usr/bin/env bash
# Trains the embedded default model, or continues its training from the checkpoint in model/default/.
# The whole recipe is this one command; training spans sessions through the checkpoint (model file + .optim).
#   scripts/train_default_model.sh [MINUTES [ITERATION]]
# stops (with a checkpoint) after MINUTES or once ITERATION is done (0: no limit); default: run to the end.
# Then rebuild (ninja -C build) to embed the new weights, and measure with scripts/evaluate_model.py.
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-0}
stop_after=${2:-0}
model=model/default/retinanet_shapes.safetensors
recipe=(--synthetic --iterations 24000 --batch 4 --lr 1e-3 --warmup 500 --seed 1 --checkpoint-every 200
        --time-limit "$minutes" --stop-after "$stop_after" --output "$model")
mkdir -p model/default
if [ -f "$model" ] && [ -f "$model.optim" ]; then
  start=(--resume "$model")
else
  start=(--arch retinanet_tiny_fpn)
fi
started=$(date +%s)
OMP_WAIT_POLICY=PASSIVE build/tools/retinanet-train "${start[@]}" "${recipe[@]}" 2>&1 | tee -a model/default/training.log
echo "train_default_model: $(( ($(date +%s) - started) / 60 )) minutes this run" | tee -a model/default/training.log

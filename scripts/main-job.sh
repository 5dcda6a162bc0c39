#!/usr/bin/env bash
# The main job: installs and builds (scripts/build.sh), makes a sample video of moving shapes, runs it through the
# GStreamer plugin on the embedded default model and leaves, in OUTDIR (default out/):
#   sample.mp4  sample.annotated.mp4  sample.detections.jsonl  sample.truth.jsonl
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-out}
bash scripts/build.sh
mkdir -p "$out"
/usr/bin/python3 pipelines/make_sample_video.py "$out/sample.mp4"
pipelines/file_to_mp4.sh "$out/sample.mp4"
echo "main-job: $(wc -l < "$out/sample.detections.jsonl") frames with detections in $out/sample.detections.jsonl," \
     "annotated video in $out/sample.annotated.mp4"

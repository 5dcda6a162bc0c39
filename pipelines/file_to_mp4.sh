#!/usr/bin/env bash
# A video file in, the same video with its detections drawn (H.264 MP4) and the detections as JSON lines out.
#
#   pipelines/file_to_mp4.sh INPUT [OUTPUT.mp4 [OUTPUT.jsonl]]
#
# Defaults: INPUT's name with .annotated.mp4 and .detections.jsonl. Environment: MODEL (.safetensors; default: the
# embedded model), DETECT_OPTIONS (more retinanetdetect properties, e.g. "score-threshold=0.5 interval=2").
# The pipeline, for copying into your own gst-launch-1.0 line:
#   filesrc ! decodebin ! videoconvert ! retinanetdetect ! retinanetoverlay ! retinanetjson ! videoconvert !
#   x264enc ! mp4mux ! filesink
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,5p' "$0" >&2; exit 2; }
source "$(dirname "$0")/env.sh"
input=$1
output=${2:-${input%.*}.annotated.mp4}
json=${3:-${input%.*}.detections.jsonl}

# -e: on Ctrl-C, send EOS so that mp4mux finishes a playable file.
gst-launch-1.0 -e filesrc location="$input" ! decodebin ! videoconvert ! \
  retinanetdetect "${detect_properties[@]}" ! retinanetoverlay ! retinanetjson location="$json" ! \
  videoconvert ! x264enc speed-preset=faster ! mp4mux ! filesink location="$output"
echo "wrote $output and $json"

#!/usr/bin/env bash
# Several cameras (RTSP URLs, video files, or `test` for a live test pattern) into detectors that share one model
# instance (one copy of the weights, one worker, frames batched across the cameras), each camera's detections drawn
# and written as JSON lines, all annotated streams in one mosaic: in a window, or into an MP4 file.
#
#   pipelines/multi_camera.sh [-o MOSAIC.mp4] [-j JSON_DIR] [-t SECONDS] SOURCE...
#
#   -o  the mosaic into this MP4 file (default: a window when there is a display, else multi_camera.mp4)
#   -j  one JSON-lines file per camera, JSON_DIR/cam0.jsonl, cam1.jsonl, ... ("source": "cam0", ...)
#   -t  stop after this many seconds (live sources run until Ctrl-C otherwise)
#
# Live sources (RTSP, `test`) run in retinanetdetect's async mode: every camera keeps its frame rate whatever the
# detector costs, each frame carrying the newest detections. Files run in sync mode (each frame its own).
# Environment: MODEL, DETECT_OPTIONS (any retinanetdetect property, see file_to_mp4.sh), TILE (mosaic tile size,
# default 640x360), BATCH_TIMEOUT (microseconds a frame may wait for the other cameras', default 0).
set -euo pipefail
usage() { sed -n '2,16p' "$0" >&2; exit 2; }
output="" json_dir="" seconds=""
while getopts "o:j:t:h" opt; do
  case $opt in
    o) output=$OPTARG ;;
    j) json_dir=$OPTARG ;;
    t) seconds=$OPTARG ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ $# -ge 1 ] || usage
source "$(dirname "$0")/env.sh"
[ -n "$json_dir" ] && mkdir -p "$json_dir"

tile=${TILE:-640x360}
tile_w=${tile%x*} tile_h=${tile#*x}
count=$#
columns=1
while [ $((columns * columns)) -lt "$count" ]; do columns=$((columns + 1)); done
has_camerasrc=false
gst-inspect-1.0 retinanetcamerasrc > /dev/null 2>&1 && has_camerasrc=true

pipeline=(compositor name=mosaic background=black)
i=0
for source in "$@"; do
  case $source in
    test) branch=(videotestsrc is-live=true pattern=ball ! "video/x-raw,width=640,height=480,framerate=30/1") ;;
    rtsp://* | rtsps://*)
      if $has_camerasrc; then
        # Reconnects when the camera drops, without ending the stream (see retinanetcamerasrc).
        branch=(retinanetcamerasrc location="$source")
      else
        branch=(uridecodebin uri="$source")
      fi ;;
    *://*) branch=(uridecodebin uri="$source") ;;
    *) [ -e "$source" ] || { echo "multi_camera.sh: no such file or URL: $source" >&2; exit 1; }
       branch=(uridecodebin uri="file://$(cd "$(dirname "$source")" && pwd)/$(basename "$source")") ;;
  esac
  json=()
  [ -n "$json_dir" ] && json=(retinanetjson location="$json_dir/cam$i.jsonl" source-id="cam$i" !)
  x=$(( (i % columns) * tile_w )) y=$(( (i / columns) * tile_h ))
  pipeline+=("${branch[@]}" ! videoconvert !
             retinanetdetect name="detect$i" model-instance-id=multi-camera batch-size="$count"
             batch-timeout="${BATCH_TIMEOUT:-0}" "${detect_properties[@]}" !
             retinanetoverlay ! "${json[@]}" videoconvert ! videoscale add-borders=true !
             "video/x-raw,width=$tile_w,height=$tile_h,pixel-aspect-ratio=1/1" ! queue max-size-buffers=3 !
             mosaic.sink_$i)
  pipeline+=("mosaic.sink_$i::xpos=$x" "mosaic.sink_$i::ypos=$y")
  i=$((i + 1))
done
# The pad placements come as properties of the compositor, before the branches.
properties=()
branches=()
for word in "${pipeline[@]:3}"; do
  case $word in mosaic.sink_*::*) properties+=("${word#mosaic.}") ;; *) branches+=("$word") ;; esac
done

run() {
  if [ -n "$seconds" ]; then
    # SIGINT: gst-launch -e ends the stream, so the MP4 file is finished properly.
    timeout --signal=INT "$seconds" gst-launch-1.0 -e "$@" || { rc=$?; [ $rc -eq 124 ] || [ $rc -eq 130 ]; }
  else
    gst-launch-1.0 -e "$@"
  fi
}
if [ -z "$output" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  run compositor name=mosaic background=black "${properties[@]}" ! videoconvert ! autovideosink "${branches[@]}"
  exit 0
fi
output=${output:-multi_camera.mp4}
run compositor name=mosaic background=black "${properties[@]}" ! videoconvert ! x264enc speed-preset=faster \
    tune=zerolatency ! mp4mux ! filesink location="$output" "${branches[@]}"
echo "wrote $output${json_dir:+ and $json_dir/cam*.jsonl}"

#!/usr/bin/env bash
# A V4L2 webcam with its detections drawn in a window.
#
#   pipelines/webcam.sh [/dev/video0]
#
# Environment: MODEL, DETECT_OPTIONS (see file_to_mp4.sh), WIDTH and HEIGHT (asked of the camera; default 640x480).
# A CPU detector rarely keeps up with 30 frames/s: DETECT_OPTIONS="interval=3" detects on every third frame and
# carries the boxes in between; the leaky queue drops frames rather than let latency grow.
set -euo pipefail
source "$(dirname "$0")/env.sh"
device=${1:-/dev/video0}
exec gst-launch-1.0 v4l2src device="$device" ! videoconvert ! videoscale ! \
  video/x-raw,width="${WIDTH:-640}",height="${HEIGHT:-480}" ! queue leaky=downstream max-size-buffers=1 ! \
  retinanetdetect "${detect_properties[@]}" ! retinanetoverlay ! videoconvert ! autovideosink sync=false

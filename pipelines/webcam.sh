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
# autovideosink without a display, or v4l2src without the device, fail deep inside GStreamer: say so first.
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
  echo "webcam.sh: no display (DISPLAY and WAYLAND_DISPLAY are unset); to record instead:" \
       "pipelines/rtsp_view.sh or file_to_mp4.sh with an MP4 output" >&2
  exit 1
fi
if [ ! -c "$device" ]; then
  echo "webcam.sh: no camera at $device (not a V4L2 device); give the device, e.g. pipelines/webcam.sh /dev/video1" >&2
  exit 1
fi
exec gst-launch-1.0 v4l2src device="$device" ! videoconvert ! videoscale ! \
  video/x-raw,width="${WIDTH:-640}",height="${HEIGHT:-480}" ! queue leaky=downstream max-size-buffers=1 ! \
  retinanetdetect "${detect_properties[@]}" ! retinanetoverlay ! videoconvert ! autovideosink sync=false

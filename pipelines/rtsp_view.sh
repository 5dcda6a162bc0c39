#!/usr/bin/env bash
# An RTSP camera (or any RTSP URL) with its detections drawn: in a window, or into an MP4 file when there is no
# display (or when OUTPUT.mp4 is given). The JSON lines go to JSON when it is set.
#
#   pipelines/rtsp_view.sh rtsp://user:pass@camera/stream [OUTPUT.mp4]
#
# Environment: MODEL, DETECT_OPTIONS (see file_to_mp4.sh), JSON (a file for the detections).
# Stop with Ctrl-C (the file is finished properly).
set -euo pipefail
[ $# -ge 1 ] || { sed -n '2,6p' "$0" >&2; exit 2; }
source "$(dirname "$0")/env.sh"
url=$1
output=${2:-}
json_element=()
[ -n "${JSON:-}" ] && json_element=(retinanetjson location="$JSON" !)

# retinanetcamerasrc: decoded frames that survive the camera going away (it reconnects). Dropping RTP packets
# before the decoder (rtspsrc drop-on-latency) smears H.264; a slow detector is kept live by the leaky queue, which
# drops whole decoded frames instead.
source=(retinanetcamerasrc location="$url" ! videoconvert ! queue leaky=downstream max-size-buffers=1 !
        retinanetdetect "${detect_properties[@]}" ! retinanetoverlay ! "${json_element[@]}" videoconvert)
if [ -z "$output" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  exec gst-launch-1.0 "${source[@]}" ! autovideosink sync=false
fi
output=${output:-rtsp_detections.mp4}
gst-launch-1.0 -e "${source[@]}" ! x264enc speed-preset=faster tune=zerolatency ! mp4mux ! filesink location="$output"
echo "wrote $output"

#!/usr/bin/env bash
# Soak (not a test): MINUTES of frames through retinanetdetect ! retinanettrack ! retinanetoverlay ! retinanetjson,
# with state cycles (PLAYING -> PAUSED -> PLAYING, PLAYING -> READY -> PLAYING) and caps changes (the frame size
# alternates), the process's RSS sampled every SAMPLE seconds into CSV. Prints whether RSS is flat after the warm-up
# (the first fifth of the run): the least-squares slope in MiB per hour.
#
#   scripts/soak.sh [MINUTES (default 10)] [CSV (default soak_rss.csv)]
#
# Environment: MODEL (default: the build tree's test model if built, else the embedded default), SAMPLE (seconds,
# default 5), CYCLE (seconds between state or caps changes, default 10). Run it niced on a shared machine.
set -euo pipefail
cd "$(dirname "$0")/.."
source pipelines/env.sh
if [ -z "${MODEL:-}" ] && [ -f build/tests/gst/gst_test_model.safetensors ]; then
  MODEL=build/tests/gst/gst_test_model.safetensors
fi
export MODEL="${MODEL:-}" SAMPLE="${SAMPLE:-5}" CYCLE="${CYCLE:-10}"
exec /usr/bin/python3 - "${1:-10}" "${2:-soak_rss.csv}" <<'PY'
import os, sys, time
import gi
gi.require_version("Gst", "1.0")
from gi.repository import Gst

Gst.init(None)
minutes, csv_path = float(sys.argv[1]), sys.argv[2]
sample, cycle = float(os.environ["SAMPLE"]), float(os.environ["CYCLE"])
model = f'model="{os.environ["MODEL"]}"' if os.environ["MODEL"] else ""
json_path = csv_path + ".jsonl"
pipeline = Gst.parse_launch(
    "videotestsrc pattern=ball ! capsfilter name=caps caps=video/x-raw,width=320,height=240 ! videoconvert ! "
    f"retinanetdetect mode=sync {model} ! retinanettrack ! retinanetoverlay ! "
    f'retinanetjson location="{json_path}" ! fakesink name=sink')
caps = pipeline.get_by_name("caps")
bus = pipeline.get_bus()
frames = 0
def count(pad, info):
    global frames
    frames += 1
    return Gst.PadProbeReturn.OK
pipeline.get_by_name("sink").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, count)

def rss_mib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
def check_bus():
    msg = bus.pop_filtered(Gst.MessageType.ERROR)
    if msg:
        err, debug = msg.parse_error()
        sys.exit(f"soak: pipeline error: {err.message} ({debug})")

sizes = [(320, 240), (640, 360), (317, 239)]
actions = ["pause", "caps", "ready", "caps"]
pipeline.set_state(Gst.State.PLAYING)
start = time.monotonic()
end = start + minutes * 60
next_sample, next_cycle, step = start, start + cycle, 0
rows = []
with open(csv_path, "w") as out:
    out.write("seconds,rss_mib,frames\n")
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_sample:
            rows.append((now - start, rss_mib(), frames))
            out.write("%.1f,%.1f,%d\n" % rows[-1])
            out.flush()
            next_sample += sample
        if now >= next_cycle:
            action = actions[step % len(actions)]
            if action == "pause":
                pipeline.set_state(Gst.State.PAUSED)
                pipeline.get_state(10 * Gst.SECOND)
            elif action == "ready":
                pipeline.set_state(Gst.State.READY)
                pipeline.get_state(10 * Gst.SECOND)
            else:
                w, h = sizes[step % len(sizes)]
                caps.set_property("caps", Gst.Caps.from_string(f"video/x-raw,width={w},height={h}"))
            pipeline.set_state(Gst.State.PLAYING)
            step += 1
            next_cycle += cycle
        check_bus()
        time.sleep(0.2)
pipeline.set_state(Gst.State.NULL)

warm = [r for r in rows if r[0] >= rows[-1][0] / 5]
n = len(warm)
mx = sum(r[0] for r in warm) / n
my = sum(r[1] for r in warm) / n
sxx = sum((r[0] - mx) ** 2 for r in warm) or 1.0
slope = sum((r[0] - mx) * (r[1] - my) for r in warm) / sxx * 3600
print(f"soak: {minutes:g} min, {frames} frames, {step} state/caps changes; RSS {rows[0][1]:.0f} MiB at start, "
      f"{warm[0][1]:.0f} after warm-up, {rows[-1][1]:.0f} at the end (max {max(r[1] for r in rows):.0f}); "
      f"slope after warm-up {slope:+.1f} MiB/h: {'flat' if abs(slope) < 10 else 'GROWING' if slope > 0 else 'falling'}")
print(f"soak: samples in {csv_path}")
PY

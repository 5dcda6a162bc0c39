#!/usr/bin/env python3
"""An application that embeds retinanetdetect with PyGObject and reads its detections from the bus: with
post-messages=true the element posts one `retinanet-detections` element message per frame.

    pipelines/detect_app.py [--model FILE] [--detect-options "PROPERTY=VALUE ..."] [--max-frames N]
                            [--source "GST-LAUNCH SOURCE"] [--source-id ID] [FILE-OR-URI]

Prints one JSON line per frame, the schema retinanetjson and detect-app write (DESIGN.md, "JSON lines"):
{"frame": N, "pts": NS, "timestamp": S, "width": W, "height": H, "stale": false, "source": "detect",
"detections": [{"label": 2, "name": "square", "score": 0.93, "box": [x1, y1, x2, y2]}]}, boxes in frame pixels,
the same numbers as theirs; "source" is --source-id (default "detect", the detector's name here).
--detect-options gives retinanetdetect more properties ("interval=2 score-threshold=0.5"). Without a FILE,
URI or --source, a videotestsrc runs. Needs python3-gi and python3-gst-1.0; the plugin is found as
pipelines/env.sh finds it."""
import argparse
import json
import os
import struct
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from rtsp_serve import use_build_tree_plugin  # noqa: E402


def float32(value):
    """value as a C float: the C++ writers hold scores and boxes as floats (retinanet::Detection)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def detections_of(structure):
    """The message's `detections` (a GstValueArray of `detection` structures) as the JSON writers' objects:
    scores rounded to 6 decimals and box corners (frame pixels) to 4, as model/files/detection_json.cpp does."""
    width, height = structure.get_value("width"), structure.get_value("height")
    found = []
    for d in structure.get_value("detections"):
        corners = [d.get_value("x_min") * width, d.get_value("y_min") * height,
                   d.get_value("x_max") * width, d.get_value("y_max") * height]
        found.append({"label": d.get_value("label_id"), "name": d.get_value("label"),
                      "score": round(float32(d.get_value("confidence")), 6),
                      "box": [round(float32(c), 4) for c in corners]})
    return found


def frame_line(structure, source):
    """One `retinanet-detections` message as the per-frame object of gst/frame_json.h."""
    pts = structure.get_value("timestamp")
    timed = pts != Gst.CLOCK_TIME_NONE
    return {"frame": structure.get_value("frame"), "pts": pts if timed else None,
            "timestamp": pts / 1e9 if timed else None,
            "width": structure.get_value("width"), "height": structure.get_value("height"),
            "stale": structure.get_value("stale"), "source": source, "detections": detections_of(structure)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("input", nargs="?")
    parser.add_argument("--model", default="")
    parser.add_argument("--detect-options", default="")
    parser.add_argument("--max-frames", type=int, default=0)
    parser.add_argument("--source", default="")
    parser.add_argument("--source-id", default="detect")
    args = parser.parse_args()

    use_build_tree_plugin()
    Gst.init(None)
    source = args.source
    if not source and args.input:
        uri = args.input if Gst.uri_is_valid(args.input) else Gst.filename_to_uri(args.input)
        source = f'uridecodebin uri="{uri}"'
    source = source or "videotestsrc num-buffers=30"
    model = f' model="{args.model}"' if args.model else ""
    pipeline = Gst.parse_launch(f"{source} ! videoconvert ! retinanetdetect post-messages=true{model} "
                                f"{args.detect_options} ! fakesink")

    loop = GLib.MainLoop()
    state = {"frames": 0, "status": 0}

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ELEMENT and msg.get_structure().has_name("retinanet-detections"):
            if args.max_frames and state["frames"] >= args.max_frames:
                return True  # still in flight after EOS was sent
            print(json.dumps(frame_line(msg.get_structure(), args.source_id)), flush=True)
            state["frames"] += 1
            if state["frames"] == args.max_frames:
                pipeline.send_event(Gst.Event.new_eos())
        elif msg.type == Gst.MessageType.ERROR:
            error, _ = msg.parse_error()
            print(f"detect_app: {error.message}", file=sys.stderr)
            state["status"] = 1
            loop.quit()
        elif msg.type == Gst.MessageType.EOS:
            loop.quit()
        return True

    bus = pipeline.get_bus()
    bus.add_watch(GLib.PRIORITY_DEFAULT, on_message)
    pipeline.set_state(Gst.State.PLAYING)
    loop.run()
    pipeline.set_state(Gst.State.NULL)
    bus.remove_watch()
    return state["status"]


if __name__ == "__main__":
    sys.exit(main())

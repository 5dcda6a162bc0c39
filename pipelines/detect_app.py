#!/usr/bin/env python3
"""An application that embeds retinanetdetect with PyGObject and reads each buffer's detections from its metadata
in a pad probe, through pipelines/retinanet_meta.py (the common case in one call: frame_detections(buffer, w, h)).

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
import sys

import gi

gi.require_version("Gst", "1.0")
from gi.repository import GLib, Gst  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import retinanet_meta  # noqa: E402
from rtsp_serve import use_build_tree_plugin  # noqa: E402


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
    pipeline = Gst.parse_launch(f"{source} ! videoconvert ! retinanetdetect name=detect{model} "
                                f"{args.detect_options} ! fakesink")

    loop = GLib.MainLoop()
    state = {"frames": 0, "status": 0}

    def on_buffer(pad, info):
        """Each buffer leaving the detector, with its detections attached as metadata."""
        if args.max_frames and state["frames"] >= args.max_frames:
            return Gst.PadProbeReturn.DROP  # still in flight after EOS was asked for
        width, height = retinanet_meta.frame_size(pad)
        record = retinanet_meta.frame_record(info.get_buffer(), state["frames"], width, height, args.source_id)
        print(json.dumps(record), flush=True)
        state["frames"] += 1
        if state["frames"] == args.max_frames:
            # A probe runs on the streaming thread: the end is asked for from the main loop.
            GLib.idle_add(lambda: pipeline.send_event(Gst.Event.new_eos()) and False)
        return Gst.PadProbeReturn.OK

    pipeline.get_by_name("detect").get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

    def on_message(bus, msg):
        if msg.type == Gst.MessageType.ERROR:
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

#!/usr/bin/env python3
"""The element's overhead (not a test): frames/s of `filesrc ! decodebin ! videoconvert ! retinanetdetect !
fakesink` against the bare detector (build/tools/retinanet-bench) on the same decoded frames, in the same run.

    pipelines/benchmark_element.py [VIDEO] [--model FILE] [--frames 40] [--build build]

Without VIDEO a sample is made (pipelines/make_sample_video.py, 640x480). Prints the bare detector's and the
element's milliseconds per frame (medians; the element's measured between its sink and source pads, so it holds
the frame mapping, the detector call and the metadata) and the pipeline's frames/s end to end, as JSON."""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def element_timings(video, model, frames):
    """Per-frame time inside retinanetdetect (sink pad to source pad) and the pipeline's wall time per frame."""
    props = f' model="{model}"' if model else ""
    pipeline = Gst.parse_launch(f'filesrc location="{video}" ! decodebin ! videoconvert ! '
                                f"video/x-raw,format=RGB ! retinanetdetect name=d{props} ! fakesink sync=false")
    detect = pipeline.get_by_name("d")
    entered, spent, stamps = {}, [], []

    def on_sink(pad, info):
        entered[info.get_buffer().pts] = time.perf_counter()
        return Gst.PadProbeReturn.OK

    def on_src(pad, info):
        now = time.perf_counter()
        spent.append(now - entered.pop(info.get_buffer().pts, now))
        stamps.append(now)
        if len(spent) == frames:
            pipeline.post_message(Gst.Message.new_application(pipeline, Gst.Structure.new_empty("enough")))
        return Gst.PadProbeReturn.OK

    detect.get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, on_sink)
    detect.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_src)
    pipeline.set_state(Gst.State.PLAYING)
    msg = pipeline.get_bus().timed_pop_filtered(
        600 * Gst.SECOND, Gst.MessageType.ERROR | Gst.MessageType.EOS | Gst.MessageType.APPLICATION)
    pipeline.set_state(Gst.State.NULL)
    if msg is None or msg.type == Gst.MessageType.ERROR:
        sys.exit("benchmark_element: " + (msg.parse_error()[0].message if msg else "timed out"))
    # The first frame warms the detector up, as retinanet-bench's --warmup does.
    return spent[1:frames], (stamps[frames - 1] - stamps[0]) / (frames - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?")
    parser.add_argument("--model", default=os.environ.get("MODEL", ""))
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--build", default=os.environ.get("RETINANET_BUILD", os.path.join(HERE, "..", "build")))
    args = parser.parse_args()
    os.environ["GST_PLUGIN_PATH"] = os.path.join(os.path.abspath(args.build), "gst")
    Gst.init(None)

    with tempfile.TemporaryDirectory() as tmp:
        video = args.video
        if not video:
            video = os.path.join(tmp, "sample.mp4")
            subprocess.run([sys.executable, os.path.join(HERE, "make_sample_video.py"), video, "--seconds",
                            str(args.frames / 15 + 1)], check=True, stdout=subprocess.DEVNULL)
        # The same frames for the bare detector: decoded and converted once, as PPM files.
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!",
                        "videoconvert", "!", "video/x-raw,format=RGB", "!", "identity", f"eos-after={args.frames}", "!",
                        "pnmenc", "!", "multifilesink", f"location={tmp}/frame%05d.ppm"], check=True)
        images = sorted(glob.glob(f"{tmp}/frame*.ppm"))[:args.frames]
        bench = [os.path.join(args.build, "tools", "retinanet-bench"), "--warmup", "1", "--repeat", "1"]
        if args.model:
            bench += ["--weights", args.model]
        bare = json.loads(subprocess.run(bench + images[1:], check=True, capture_output=True, text=True).stdout)
        in_element, wall = element_timings(video, args.model, len(images))

    bare_ms = statistics.median(bare["latency_ms"])
    element_ms = statistics.median(in_element) * 1000
    print(json.dumps({"frames": len(images), "bare_ms_per_frame": round(bare_ms, 2),
                      "element_ms_per_frame": round(element_ms, 2),
                      "overhead_percent": round(100 * (element_ms / bare_ms - 1), 2),
                      "pipeline_frames_per_s": round(1 / wall, 2)}))


if __name__ == "__main__":
    main()

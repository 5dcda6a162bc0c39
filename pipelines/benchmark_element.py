#!/usr/bin/env python3
"""The element's overhead (not a test): `filesrc ! decodebin ! videoconvert ! retinanetdetect ! fakesink` against
the bare detector on the same frames, in the same run and the same process, with the same thread count (both use
every core: LibTorch's intra-op threads).

    pipelines/benchmark_element.py [VIDEO] [--model FILE] [--frames 40] [--rounds 3] [--format I420] [--build build]

Fair by construction: the video (made by pipelines/make_sample_video.py when none is given) is decoded once,
before any timing, to an uncompressed Y4M file (I420) and to the same frames as raw bytes. The pipeline then reads
the Y4M file (`decodebin` finds y4mdec, which costs next to nothing), so no H.264 decoder competes with inference
for the cores, and `videoconvert` passes the frames through (retinanetdetect takes I420; `--format RGB` puts a
conversion in front and hands the bare detector RGB frames instead).

build/pipelines/element-bench does the timing in one process: per round, `Detector::detect` on every raw frame
from a thread of its own (as a streaming thread runs the element), then the pipeline, so both sides share the
process, its LibTorch and OpenMP set-up and the machine's load of the moment. (Separate processes are not
comparable on a loaded machine: OpenMP's spinning threads make one process's timings swing by several times.)
Per frame it compares, for the element, the wall time between its sink and source pads (mapping, the detector
call, the metadata) and the process CPU time over the same span, and for the bare detector the wall and CPU time
of the detect() call; then the pipeline's frames/s end to end against the bare detector's. The first `--skip`
frames of each run warm up and are left out; figures are medians over every kept frame of every round. Prints
JSON; the machine's load average is included, since on a busy machine no figure here means much.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstPbutils", "1.0")
from gi.repository import Gst, GstPbutils  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
# What retinanetdetect and the bare detector can be handed. The raw frames are read with unpadded rows, which
# holds for the usual widths (multiples of 8).
FORMATS = ["I420", "NV12", "RGB", "BGR", "RGBA", "BGRx"]


def video_geometry(video):
    """Width, height and frame rate ("num:den") of the video's first stream."""
    info = GstPbutils.Discoverer.new(60 * Gst.SECOND).discover_uri(Gst.filename_to_uri(os.path.abspath(video)))
    stream = info.get_video_streams()[0]
    return stream.get_width(), stream.get_height(), f"{stream.get_framerate_num()}:{stream.get_framerate_denom()}"


def decode_once(video, y4m, raw, frames, fmt):
    """Decodes the first `frames` frames of `video` into a Y4M file (I420, written here) and writes the frames the
    detector will see into `raw` (I420 as stored; other formats converted by videoconvert from the Y4M file, as
    the pipeline will convert them). Returns (width, height, frames)."""
    i420 = raw + ".i420"
    # The NV12 round trip makes videoconvert write fresh, unpadded I420 frames (a decoder's own buffers may carry
    # padding rows that a plain filesink would write out).
    subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert",
                    "!", "video/x-raw,format=NV12", "!", "videoconvert", "!", "video/x-raw,format=I420", "!",
                    "filesink", f"location={i420}"], check=True)
    width, height, rate = video_geometry(video)
    frame_bytes = width * height * 3 // 2
    with open(i420, "rb") as f:
        data = f.read(frame_bytes * frames)
    frames = len(data) // frame_bytes
    with open(y4m, "wb") as f:
        f.write(f"YUV4MPEG2 W{width} H{height} F{rate} Ip A1:1 C420jpeg\n".encode())
        for i in range(frames):
            f.write(b"FRAME\n")
            f.write(data[i * frame_bytes:(i + 1) * frame_bytes])
    if fmt == "I420":
        os.replace(i420, raw)
        with open(raw, "r+b") as f:
            f.truncate(frame_bytes * frames)
    else:
        os.remove(i420)
        subprocess.run(["gst-launch-1.0", "-q", "filesrc", f"location={y4m}", "!", "decodebin", "!", "videoconvert",
                        "!", f"video/x-raw,format={fmt}", "!", "filesink", f"location={raw}"], check=True)
    return width, height, frames


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("video", nargs="?")
    parser.add_argument("--model", default=os.environ.get("MODEL", ""))
    parser.add_argument("--frames", type=int, default=40)
    parser.add_argument("--skip", type=int, default=3, help="warm-up frames left out of each run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", default="I420", choices=FORMATS,
                        help="what retinanetdetect (and the bare detector) get")
    parser.add_argument("--build", default=os.environ.get("RETINANET_BUILD", os.path.join(HERE, "..", "build")))
    args = parser.parse_args()
    os.environ["GST_PLUGIN_PATH"] = os.path.join(os.path.abspath(args.build), "gst")
    Gst.init(None)

    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        video = args.video
        if not video:
            video = os.path.join(tmp, "sample.mp4")
            subprocess.run([sys.executable, os.path.join(HERE, "make_sample_video.py"), video, "--seconds",
                            str(args.frames / 15 + 1)], check=True, stdout=subprocess.DEVNULL)
        y4m, raw = os.path.join(tmp, "frames.y4m"), os.path.join(tmp, "frames.raw")
        width, height, frames = decode_once(video, y4m, raw, args.frames, args.format)
        if frames <= args.skip + 1:
            sys.exit(f"benchmark_element: only {frames} frames decoded")
        props = f' model="{args.model}"' if args.model else ""
        caps = "" if args.format == "I420" else f"video/x-raw,format={args.format} ! "
        launch = (f'filesrc location="{y4m}" ! decodebin ! videoconvert ! {caps}retinanetdetect name=d{props} ! '
                  "fakesink sync=false")
        bench = [os.path.join(args.build, "pipelines", "element-bench"), "--raw", f"{args.format}:{width}x{height}",
                 "--pipeline", launch, "--rounds", str(args.rounds), raw]
        if args.model:
            bench += ["--model", args.model]
        out = json.loads(subprocess.run(bench, check=True, capture_output=True, text=True).stdout)

    bare_wall, bare_cpu, el_wall, el_cpu, bare_fps, el_fps = [], [], [], [], [], []
    k = args.skip
    for r in out["rounds"]:
        if len(r["bare_ms"]) != frames or len(r["element_ms"]) != frames:
            sys.exit(f"benchmark_element: {len(r['bare_ms'])} bare and {len(r['element_ms'])} element frames, "
                     f"expected {frames}")
        bare_wall += r["bare_ms"][k:]
        bare_cpu += r["bare_cpu_ms"][k:]
        el_wall += r["element_ms"][k:]
        el_cpu += r["element_cpu_ms"][k:]
        bare_fps.append(1000 / statistics.mean(r["bare_ms"][k:]))
        # End to end: from the last warm-up frame leaving the element to the last frame leaving it.
        done = r["element_done_s"]
        el_fps.append((frames - 1 - k) / (done[-1] - done[k]))

    def ratio(a, b):
        return round(100 * (a / b - 1), 2)

    bare_ms, element_ms = statistics.median(bare_wall), statistics.median(el_wall)
    bare_cpu_ms, element_cpu_ms = statistics.median(bare_cpu), statistics.median(el_cpu)
    bare_rate, element_rate = statistics.median(bare_fps), statistics.median(el_fps)
    print(json.dumps({
        "frames_per_round": frames - k, "rounds": args.rounds, "size": f"{width}x{height}",
        "format": args.format, "threads": out["threads"],
        "bare_ms_per_frame": round(bare_ms, 2), "element_ms_per_frame": round(element_ms, 2),
        "overhead_percent": ratio(element_ms, bare_ms),
        "bare_cpu_ms_per_frame": round(bare_cpu_ms, 2), "element_cpu_ms_per_frame": round(element_cpu_ms, 2),
        "cpu_overhead_percent": ratio(element_cpu_ms, bare_cpu_ms),
        "bare_frames_per_s": round(bare_rate, 2), "pipeline_frames_per_s": round(element_rate, 2),
        "frames_per_s_loss_percent": round(100 * (1 - element_rate / bare_rate), 2),
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }))

if __name__ == "__main__":
    main()

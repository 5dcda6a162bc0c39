#!/usr/bin/env python3
"""Live streams through retinanetdetect (not a test): N live 640x480 30 frames/s sources, each into its own
retinanetdetect, in sync or async mode, sharing one model instance or each with its own, with the embedded model or
an R50 model file. Per run: output frames/s per stream, inferred frames/s per stream, latency at the sink (the
buffer's arrival at the sink against its capture time: median and 99th percentile), the share of frames that
carry detections, peak resident memory and CPU use of the process. Then batched against unbatched inference on the
CPU (retinanet-bench --batch N on one frame).

    /usr/bin/python3 pipelines/benchmark_live.py [--streams 1,2,4,8] [--models embedded,r50] [--modes async,sync]
                                                  [--sharing shared,separate] [--seconds 12] [--batch-sizes 1,2,4]

Each configuration runs in a process of its own (its memory is its own). The R50 file has random torchvision
weights (made once with Debian's python3-torchvision under ~/.cache/gst-retinanet/), run at min-size 512
(about 0.6 s per frame on two cores). Take figures on a quiet machine.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "gst-retinanet")


def r50_model():
    """A random-weight retinanet_resnet50_fpn model file (made once)."""
    path = os.path.join(CACHE, "benchmark_r50_random.safetensors")
    if not os.path.exists(path):
        os.makedirs(CACHE, exist_ok=True)
        sys.path.insert(0, os.path.join(ROOT, "model", "files"))
        import torch
        import torchvision.models.detection as det
        from export_torchvision import export_model
        torch.manual_seed(0)
        model = det.retinanet_resnet50_fpn(weights=None, weights_backbone=None, num_classes=91)
        export_model(model, "retinanet_resnet50_fpn", [f"c{i}" for i in range(91)], path + ".tmp")
        os.replace(path + ".tmp", path)
    return path


def run_one(args):
    """Child process: one configuration, its figures as one JSON line."""
    sys.path.insert(0, HERE)
    from rtsp_serve import use_build_tree_plugin
    use_build_tree_plugin()
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    import retinanet_meta
    Gst.init(None)

    model = f' model="{args.model_file}" min-size=512' if args.model_file else ""
    instance = " model-instance-id=bench" if args.sharing == "shared" else ""
    batch = f" batch-size={args.streams}" if args.sharing == "shared" else ""
    branches = []
    for i in range(args.streams):
        # A ball moving over a flat background: something the embedded model sees as a circle.
        branches.append(
            f"videotestsrc is-live=true pattern=ball background-color=0xff305070 foreground-color=0xffe0e0e0 "
            f"motion=sweep ! video/x-raw,format=I420,width=640,height=480,framerate=30/1 ! "
            f"retinanetdetect name=detect{i} mode={args.mode}{model}{instance}{batch} ! "
            f"fakesink name=sink{i} sync=true")
    pipeline = Gst.parse_launch(" ".join(branches))
    clock_state = {"start": None}
    stats = [{"frames": 0, "with_detections": 0, "latency": []} for _ in range(args.streams)]

    def probe(pad, info, s):
        now = time.monotonic()
        if clock_state["start"] is None or now < clock_state["start"]:
            return Gst.PadProbeReturn.OK  # warm-up
        buffer = info.get_buffer()
        clock = pipeline.get_clock()
        if clock is not None and buffer.pts != Gst.CLOCK_TIME_NONE:
            running = clock.get_time() - pipeline.get_base_time()
            s["latency"].append((running - buffer.pts) / 1e6)
        s["frames"] += 1
        if retinanet_meta.frame_detections(buffer, 640, 480):
            s["with_detections"] += 1
        return Gst.PadProbeReturn.OK

    for i in range(args.streams):
        pipeline.get_by_name(f"sink{i}").get_static_pad("sink").add_probe(Gst.PadProbeType.BUFFER, probe, stats[i])
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    pipeline.set_state(Gst.State.PLAYING)
    clock_state["start"] = time.monotonic() + args.warmup
    bus = pipeline.get_bus()
    end = clock_state["start"] + args.seconds
    error = None
    detectors = [pipeline.get_by_name(f"detect{i}") for i in range(args.streams)]
    inferred_at_start = None
    while time.monotonic() < end:
        if inferred_at_start is None and time.monotonic() >= clock_state["start"]:
            inferred_at_start = [d.get_property("inferred-frames") for d in detectors]
        msg = bus.timed_pop_filtered(100 * Gst.MSECOND, Gst.MessageType.ERROR)
        if msg:
            error = msg.parse_error()[0].message
            break
    inferred = [d.get_property("inferred-frames") - a for d, a in zip(detectors, inferred_at_start or [0] * len(detectors))]
    pipeline.set_state(Gst.State.NULL)
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    if error:
        print(json.dumps({"error": error}))
        return 1
    seconds = args.seconds
    per_stream = []
    for s, n in zip(stats, inferred):
        lat = sorted(s["latency"]) or [float("nan")]
        per_stream.append({"fps": s["frames"] / seconds, "inferred_fps": n / seconds,
                           "latency_median_ms": statistics.median(lat),
                           "latency_p99_ms": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
                           "with_detections": s["with_detections"] / max(1, s["frames"])})
    cpu = (cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime) / (seconds + args.warmup)
    print(json.dumps({"streams": per_stream, "peak_rss_mb": cpu1.ru_maxrss / 1024, "cpu_cores": cpu}))
    return 0


def batched_throughput(build, model_file, batch_sizes, threads):
    """Frames/s of one forward pass per frame against batches of N (retinanet-bench on one 640x480 frame)."""
    with tempfile.TemporaryDirectory() as tmp:
        frame = os.path.join(tmp, "frame.ppm")
        subprocess.run(["gst-launch-1.0", "-q", "videotestsrc", "num-buffers=1", "pattern=ball", "!",
                        "video/x-raw,format=RGB,width=640,height=480", "!", "pnmenc", "!", "filesink",
                        f"location={frame}"], check=True)
        rows = []
        for n in batch_sizes:
            command = [os.path.join(build, "tools", "retinanet-bench"), "--batch", str(n), "--warmup", "2",
                       "--repeat", "5", "--threads", str(threads), frame]
            if model_file:
                command[1:1] = ["--weights", model_file, "--min-size", "512"]
            out = json.loads(subprocess.run(command, check=True, capture_output=True, text=True).stdout)
            rows.append((n, 1000.0 / out["latency_ms"][0]))
        return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--streams", default="1,2,4,8")
    parser.add_argument("--models", default="embedded,r50")
    parser.add_argument("--modes", default="async,sync")
    parser.add_argument("--sharing", default="shared,separate")
    parser.add_argument("--seconds", type=float, default=12)
    parser.add_argument("--warmup", type=float, default=4)
    parser.add_argument("--batch-sizes", default="1,2,4")
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--model-file", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        args.streams = int(args.streams)
        return run_one(args)

    os.environ.setdefault("RETINANET_BUILD", args.build)
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # idle inference threads yield the cores to video
    models = {"embedded": "", "r50": None}
    print(f"{os.cpu_count()} cores; 640x480 I420 live sources at 30 frames/s; {args.seconds:g} s per run after "
          f"{args.warmup:g} s of warm-up")
    print("model     mode  sharing   N  frames/s  inferred/s  latency ms (median, p99)  with detections  "
          "peak RSS MB  CPU cores")
    for model_name in args.models.split(","):
        model_file = models[model_name] if models[model_name] is not None else r50_model()
        for mode in args.modes.split(","):
            for sharing in args.sharing.split(","):
                for n in [int(x) for x in args.streams.split(",")]:
                    if n == 1 and sharing == "separate":
                        continue  # the same as shared for one stream
                    command = [sys.executable, os.path.abspath(__file__), "--run", "--streams", str(n), "--mode", mode,
                               "--sharing", sharing, "--seconds", str(args.seconds), "--warmup", str(args.warmup),
                               "--model-file", model_file]
                    out = subprocess.run(command, capture_output=True, text=True)
                    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
                    if out.returncode or not lines:
                        print(f"{model_name:9} {mode:5} {sharing:8} {n:2}  failed: {out.stderr.strip()[-300:]}")
                        continue
                    r = json.loads(lines[-1])
                    if "error" in r:
                        print(f"{model_name:9} {mode:5} {sharing:8} {n:2}  error: {r['error']}")
                        continue
                    s = r["streams"]
                    fps = min(x["fps"] for x in s)
                    inferred = statistics.mean(x["inferred_fps"] for x in s)
                    median = statistics.median(x["latency_median_ms"] for x in s)
                    p99 = max(x["latency_p99_ms"] for x in s)
                    with_det = min(x["with_detections"] for x in s)
                    print(f"{model_name:9} {mode:5} {sharing:8} {n:2}  {fps:8.1f}  {inferred:10.2f}  "
                          f"{median:10.0f} {p99:10.0f}      {100 * with_det:10.0f}%      {r['peak_rss_mb']:8.0f}  "
                          f"{r['cpu_cores']:9.2f}", flush=True)
        rows = batched_throughput(args.build, model_file, [int(x) for x in args.batch_sizes.split(",")], args.threads)
        base = rows[0][1]
        print(f"{model_name}: batched inference on the CPU, one 640x480 frame repeated: " +
              ", ".join(f"batch {n}: {fps:.1f} frames/s ({fps / base:.2f}x)" for n, fps in rows), flush=True)
    print("frames/s: the slowest stream's; inferred/s: mean per stream; latency: median of the streams' medians, "
          "worst p99; with detections: the lowest share of frames carrying any")
    return 0


if __name__ == "__main__":
    sys.exit(main())

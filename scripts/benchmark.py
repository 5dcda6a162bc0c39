#!/usr/bin/env python3
"""Benchmark of the detector against torchvision's eager RetinaNet (not a test), on the CPU or a GPU.

Same weights (random, torchvision-initialised), same images, same thread count, same device, in one run; each side
runs in its own process so that its peak memory is its own. Prints per-image latency of both and their ratio at each
short side (and precision), with frames/s at batch 1 (one image after the other).

    python3 scripts/benchmark.py [--build build] [--arch retinanet_resnet50_fpn] [--sizes 512,800] [--repeat 5]
    python3 scripts/benchmark.py --build build-cuda --device cuda --precisions float32,float16 --repeat 50
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))


def torchvision_side(args):
    """Child process: times torchvision on the images; prints the same JSON as retinanet-bench."""
    import numpy as np
    import torch
    import torchvision.models.detection as det
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    import reference as R

    torch.set_num_threads(args.threads)
    torch.backends.cudnn.benchmark = True
    device = torch.device(args.device)
    dtype = torch.float16 if args.half else torch.float32
    model = getattr(det, args.arch)(weights=None, weights_backbone=None, num_classes=91)
    state = R.read_safetensors(args.weights)
    result = model.load_state_dict(state, strict=False)
    # Only BatchNorm's step counters are absent from model files; anything else would be a different model.
    assert not result.unexpected_keys and all(k.endswith("num_batches_tracked") for k in result.missing_keys), result
    model.transform.min_size, model.transform.max_size = (args.min_size,), args.max_size
    model.eval().to(device, dtype)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    latencies = []
    for path in args.images:
        rgb = R.read_ppm(path)
        image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(255)
        with torch.inference_mode():
            for _ in range(args.warmup):
                model([image.to(device, dtype)])
            sync()
            times = []
            for _ in range(args.repeat):
                # From the host image to detections on the host, as the detector's frame path does.
                t0 = time.perf_counter()
                [{k: v.cpu() for k, v in out.items()} for out in model([image.to(device, dtype)])]
                sync()
                times.append((time.perf_counter() - t0) * 1000)
        latencies.append(sorted(times)[len(times) // 2])
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"device": str(device), "threads": torch.get_num_threads(), "latency_ms": latencies,
                      "peak_rss_mb": peak}))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--arch", default="retinanet_resnet50_fpn")
    parser.add_argument("--sizes", default="512,800", help="short sides to measure")
    parser.add_argument("--images", type=int, default=3, help="images per size (640x480, 480x640, 1280x720 ...)")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (both sides)")
    parser.add_argument("--precisions", default="float32", help="float32 and/or float16 (GPU only), comma-separated")
    # Child-process mode.
    parser.add_argument("--torchvision-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--weights", help=argparse.SUPPRESS)
    parser.add_argument("--min-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--max-size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--half", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("image_paths", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.torchvision_child:
        args.images = args.image_paths
        return torchvision_side(args)

    import reference as R
    bench = os.path.join(args.build, "tools", "retinanet-bench")
    if not os.access(bench, os.X_OK):
        sys.exit(f"benchmark: {bench} not found; build first (meson setup build && ninja -C build)")
    shapes = [(480, 640), (640, 480), (720, 1280), (600, 800)][: args.images]
    print(f"{args.arch}, random weights (seed {args.seed}), {args.device}, {args.threads} threads, "
          f"median of {args.repeat} runs, batch 1")
    print(f"{'short side':>10} {'precision':>9} {'image':>10} {'ours ms':>9} {'torchvision ms':>15} {'speed-up':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        model = R.make_model(args.arch, 91, args.seed)
        weights = os.path.join(tmp, "model.safetensors")
        R.export_model(model, args.arch, [f"c{i}" for i in range(91)], weights)
        paths = []
        for k, (h, w) in enumerate(shapes):
            paths.append(os.path.join(tmp, f"{w}x{h}.ppm"))
            R.write_ppm(paths[-1], R.make_image(h, w, args.seed + k))
        for size in [int(s) for s in args.sizes.split(",")]:
            for precision in args.precisions.split(","):
                max_size = int(size * 1333 / 800)
                common = ["--threads", str(args.threads), "--warmup", str(args.warmup), "--repeat", str(args.repeat),
                          "--device", args.device, "--min-size", str(size), "--max-size", str(max_size)]
                if precision == "float16":
                    common.append("--half")
                elif precision != "float32":
                    sys.exit(f"benchmark: unknown precision '{precision}' (float32 or float16)")
                ours = json.loads(subprocess.run([bench, "--weights", weights, *common, *paths],
                                                 check=True, capture_output=True, text=True).stdout)
                theirs = json.loads(subprocess.run(
                    [sys.executable, os.path.abspath(__file__), "--torchvision-child", "--arch", args.arch,
                     "--weights", weights, *common, *paths], check=True, capture_output=True, text=True).stdout)
                for (h, w), a, b in zip(shapes, ours["latency_ms"], theirs["latency_ms"]):
                    print(f"{size:>10} {precision:>9} {f'{w}x{h}':>10} {a:>9.1f} {b:>15.1f} {b / a:>8.2f}x")
                mean_a = sum(ours["latency_ms"]) / len(paths)
                mean_b = sum(theirs["latency_ms"]) / len(paths)
                print(f"{size:>10} {precision:>9} {'mean':>10} {mean_a:>9.1f} {mean_b:>15.1f} {mean_b / mean_a:>8.2f}x   "
                      f"frames/s: ours {1000 / mean_a:.1f}, torchvision {1000 / mean_b:.1f}; "
                      f"peak host memory: ours {ours['peak_rss_mb']:.0f} MB, torchvision {theirs['peak_rss_mb']:.0f} MB")


if __name__ == "__main__":
    main()

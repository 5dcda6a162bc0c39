#!/usr/bin/env python3
"""Accuracy and speed of a shapes model (the embedded default one unless --weights) on scenes training never saw.

The evaluation scenes come from the same generator with another seed and another mix (more objects per scene).
Accuracy: COCO-style AP at IoU 0.5 (101-point interpolated precision) per class and their mean. Speed: frames/s of
`retinanet-detect` over the PNG files (image decoding included, model loading excluded) and the detector's
median per-frame latency (`retinanet-bench`).

    python3 scripts/evaluate_model.py [--build build] [--weights FILE] [--count 300] [--seed 777]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time


def iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(detections, truths, threshold=0.5):
    """detections: [(image, score, box)], truths: {image: [box]} of one class -> AP (COCO's 101 recall points)."""
    total = sum(len(v) for v in truths.values())
    if total == 0:
        return float("nan")
    used = {k: [False] * len(v) for k, v in truths.items()}
    tp = []
    for image, _, box in sorted(detections, key=lambda d: -d[1]):
        best, best_iou = -1, threshold
        for j, t in enumerate(truths.get(image, [])):
            o = iou(box, t)
            if not used[image][j] and o >= best_iou:
                best, best_iou = j, o
        if best >= 0:
            used[image][best] = True
        tp.append(best >= 0)
    precision, recall, hits = [], [], 0
    for k, hit in enumerate(tp, 1):
        hits += hit
        precision.append(hits / k)
        recall.append(hits / total)
    for k in range(len(precision) - 2, -1, -1):  # precision envelope
        precision[k] = max(precision[k], precision[k + 1])
    ap, k = 0.0, 0
    for r in [i / 100 for i in range(101)]:
        while k < len(recall) and recall[k] < r:
            k += 1
        ap += precision[k] if k < len(precision) else 0.0
    return ap / 101


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(root, "build"))
    parser.add_argument("--weights", help="a model file (default: the embedded default model)")
    parser.add_argument("--count", type=int, default=300)
    parser.add_argument("--seed", type=int, default=777)
    parser.add_argument("--min-objects", type=int, default=3)
    parser.add_argument("--max-objects", type=int, default=14)
    args = parser.parse_args()
    tools = os.path.join(args.build, "tools")
    weights = ["--weights", args.weights] if args.weights else []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([os.path.join(tools, "retinanet-train"), "--write-coco", tmp, "--count", str(args.count),
                        "--seed", str(args.seed), "--min-objects", str(args.min_objects),
                        "--max-objects", str(args.max_objects)], check=True)
        with open(os.path.join(tmp, "annotations.json")) as f:
            coco = json.load(f)
        paths = [os.path.join(tmp, im["file_name"]) for im in coco["images"]]
        detect = [os.path.join(tools, "retinanet-detect"), *weights]
        # Accuracy over the whole precision-recall curve: a low threshold.
        out = subprocess.run(detect + ["--score-threshold", "0.05"] + paths, check=True, capture_output=True,
                             text=True).stdout
        # Speed at the model's own settings, as a user runs it.
        started = time.perf_counter()
        subprocess.run(detect + paths[:1], check=True, capture_output=True)  # model load + one frame
        load_and_one = time.perf_counter() - started
        started = time.perf_counter()
        subprocess.run(detect + paths, check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        fps = (len(paths) - 1) / max(1e-9, elapsed - load_and_one)
        bench = json.loads(subprocess.run([os.path.join(tools, "retinanet-bench"), *weights, "--repeat", "20",
                                           "--warmup", "3", *paths[:3]], check=True, capture_output=True,
                                          text=True).stdout)
    results = [json.loads(line) for line in out.splitlines()]
    names = {c["id"]: c["name"] for c in coco["categories"]}
    truths = {cid: {} for cid in names}
    for a in coco["annotations"]:
        x, y, w, h = a["bbox"]
        truths[a["category_id"]].setdefault(a["image_id"], []).append([x, y, x + w, y + h])
    dets = {cid: [] for cid in names}
    for im, r in zip(coco["images"], results):
        for d in r["detections"]:
            if d["label"] in dets:
                dets[d["label"]].append((im["id"], d["score"], d["box"]))
    aps = {names[c]: average_precision(dets[c], truths[c]) for c in names}
    mean_ap = sum(aps.values()) / len(aps)
    print(f"{args.count} unseen scenes (seed {args.seed}, {args.min_objects}-{args.max_objects} objects each, "
          f"{len(coco['annotations'])} objects)")
    for name, ap in aps.items():
        print(f"  AP@0.5 {name:>9}: {ap:.3f}")
    print(f"  mAP@0.5: {mean_ap:.3f}")
    print(f"  retinanet-detect: {fps:.1f} frames/s over {len(paths)} PNG frames of 640x480 "
          f"(decoding included); detector latency {sorted(bench['latency_ms'])[1]:.1f} ms, {bench['threads']} threads")


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""retinanet-eval against pycocotools' COCOeval (from PyPI, in a virtualenv this test makes with Debian's Python and
reuses): seeded random COCO ground truth (several categories with gaps in the ids, crowd boxes, all three size
ranges, `area` differing from the box's, images without objects, a category absent from most images and one with no
ground truth at all) and random detections (true positives, near misses, wrong labels, boxes on crowds, an image with
more than 100), scored by both through the same JSON lines; all twelve metrics and every per-class AP within 1e-3.
Then one run of the real detector on a tiny synthetic set (retinanet-train --write-coco).

usage: test_coco_eval.py RETINANET_EVAL RETINANET_TRAIN"""
import json
import os
import random
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

KEYS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
TOLERANCE = 1e-3


def pycocotools_python():
    """A virtualenv holding pycocotools (RETINANET_COCO_VENV, default ~/.cache/gst-retinanet/pycocotools-venv)."""
    where = Path(os.environ.get("RETINANET_COCO_VENV",
                                Path.home() / ".cache" / "gst-retinanet" / "pycocotools-venv"))
    python = where / "bin" / "python3"
    check = [str(python), "-c", "import pycocotools.cocoeval"]
    if python.exists() and subprocess.run(check, capture_output=True).returncode == 0:
        return python
    where.parent.mkdir(parents=True, exist_ok=True)
    venv.EnvBuilder(with_pip=True, clear=True).create(where)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                    "numpy", "pycocotools"], check=True)
    subprocess.run(check, check=True)
    return python


def make_set(rng, only_large=False):
    categories = [{"id": i, "name": n} for i, n in [(1, "circle"), (2, "square"), (4, "triangle"),
                                                   (7, "star"), (9, "never")]]
    images, annotations, lines = [], [], []
    ann_id = 1
    ids = rng.sample(range(1, 1000), 60)  # not in file order: COCOeval walks them sorted
    for n, image_id in enumerate(ids):
        width, height = 640, 480
        name = f"img_{n:03d}.jpg"
        images.append({"id": image_id, "file_name": f"sub/{name}", "width": width, "height": height})
        objects = []
        count = 0 if n % 7 == 0 else rng.randint(1, 9)
        for _ in range(count):
            label = rng.choice([1, 2, 4, 4, 2, 1] + ([7] if n % 5 == 0 else []))
            side = rng.choice([rng.uniform(6, 31), rng.uniform(33, 95), rng.uniform(97, 300)])
            if only_large:  # no small or medium ground truth: APs, APm, ARs, ARm are -1
                side = rng.uniform(170, 300)
            w, h = side * rng.uniform(0.6, 1.4), side * rng.uniform(0.6, 1.4)
            area = w * h * (rng.uniform(0.5, 1.0) if rng.random() < 0.5 and not only_large else 1.0)
            x, y = rng.uniform(0, width - 20), rng.uniform(0, height - 20)
            crowd = int(rng.random() < 0.1)
            annotations.append({"id": ann_id, "image_id": image_id, "category_id": label,
                                "bbox": [x, y, w, h], "area": area, "iscrowd": crowd})
            ann_id += 1
            objects.append((label, x, y, w, h, crowd))
        dets = []
        for label, x, y, w, h, crowd in objects:
            for _ in range(rng.choice([0, 1, 1, 1, 2])):
                jitter = rng.choice([0.03, 0.1, 0.25, 0.5])  # true positives to near misses
                dx, dy = rng.gauss(0, jitter) * w, rng.gauss(0, jitter) * h
                dw, dh = w * rng.uniform(1 - jitter, 1 + jitter), h * rng.uniform(1 - jitter, 1 + jitter)
                dl = label if rng.random() < 0.85 else rng.choice([1, 2, 4, 7, 9])
                dets.append((dl, x + dx, y + dy, dw, dh, rng.random() ** (0.3 if jitter < 0.2 else 2)))
        for _ in range(150 if n == 3 else rng.randint(0, 4)):  # false positives; image 3 has more than 100
            w, h = rng.uniform(5, 200), rng.uniform(5, 200)
            dets.append((rng.choice([1, 2, 4, 7, 9]), rng.uniform(0, width), rng.uniform(0, height), w, h,
                         rng.random() ** 2))
        if n % 11 == 5:
            continue  # no line for this image: nothing detected
        detections = []
        for label, x, y, w, h, score in dets:
            # As retinanet-detect writes them: score to 6 decimals (ties happen), box to 4.
            box = [round(x, 4), round(y, 4), round(x + w, 4), round(y + h, 4)]
            detections.append({"label": label, "score": round(score, 6), "box": box})
        lines.append({"image": f"/elsewhere/{name}", "width": width, "height": height, "detections": detections})
    return {"images": images, "annotations": annotations, "categories": categories}, lines


COCOEVAL = r"""
import json, sys
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval
import contextlib, io
ann, dets = sys.argv[1], sys.argv[2]
with contextlib.redirect_stdout(io.StringIO()):
    gt = COCO(ann)
    names = {im["file_name"].rsplit("/", 1)[-1]: im["id"] for im in gt.dataset["images"]}
    results = []
    for line in open(dets):
        j = json.loads(line)
        for d in j["detections"]:
            x1, y1, x2, y2 = d["box"]
            results.append({"image_id": names[j["image"].rsplit("/", 1)[-1]], "category_id": d["label"],
                            "score": d["score"], "bbox": [x1, y1, x2 - x1, y2 - y1]})
    dt = gt.loadRes(results)
    e = COCOeval(gt, dt, "bbox")
    e.evaluate(); e.accumulate(); e.summarize()
per_class = {}
for k, cat in enumerate(e.params.catIds):
    p = e.eval["precision"][:, :, k, 0, -1]
    p = p[p > -1]
    per_class[gt.cats[cat]["name"]] = float(p.mean()) if p.size else -1.0
print(json.dumps({"stats": [float(s) for s in e.stats], "per_class_AP": per_class}))
"""


def main():
    tool, train = sys.argv[1], sys.argv[2]
    python = pycocotools_python()
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for seed in (1, 2, 3, 4):
            truth, lines = make_set(random.Random(seed), only_large=seed == 4)
            ann, dets = tmp / f"ann{seed}.json", tmp / f"dets{seed}.jsonl"
            ann.write_text(json.dumps(truth))
            dets.write_text("".join(json.dumps(line) + "\n" for line in lines))
            ours = json.loads(subprocess.run([tool, "--coco", str(ann), "--detections", str(dets)],
                                             check=True, capture_output=True, text=True).stdout)
            ref = json.loads(subprocess.run([str(python), "-c", COCOEVAL, str(ann), str(dets)],
                                            check=True, capture_output=True, text=True).stdout)
            if list(ours)[:12] != KEYS:
                failures.append(f"seed {seed}: keys {list(ours)}")
            worst = 0.0
            for key, want in zip(KEYS, ref["stats"]):
                worst = max(worst, abs(ours[key] - want))
                if abs(ours[key] - want) > TOLERANCE:
                    failures.append(f"seed {seed}: {key} {ours[key]} vs pycocotools {want}")
            for name, want in ref["per_class_AP"].items():
                got = ours["per_class_AP"].get(name)
                worst = max(worst, abs(got - want) if got is not None else 1)
                if got is None or abs(got - want) > TOLERANCE:
                    failures.append(f"seed {seed}: per-class AP of {name}: {got} vs pycocotools {want}")
            if seed == 4 and (ours["APs"] != -1 or ours["ARm"] != -1):
                failures.append(f"seed 4 has no small or medium objects: APs {ours['APs']}, ARm {ours['ARm']}")
            print(f"seed {seed}: AP {ours['AP']:.4f} AP50 {ours['AP50']:.4f} APs {ours['APs']:.4f} "
                  f"AR100 {ours['AR100']:.4f}; largest difference from pycocotools {worst:.2e}")

        # Refusals: one line on stderr, non-zero exit.
        bad = tmp / "bad.jsonl"
        bad.write_text('{"image": "nowhere.jpg", "detections": []}\n')
        for args in ([], ["--coco", str(tmp / "ann1.json")],
                     ["--coco", str(tmp / "ann1.json"), "--detections", str(bad)]):
            r = subprocess.run([tool] + args, capture_output=True, text=True)
            if r.returncode == 0 or len(r.stderr.strip().splitlines()) != 1:
                failures.append(f"{args}: exit {r.returncode}, stderr {r.stderr!r}")

        # The real detector (the embedded default model) on a tiny synthetic set, end to end.
        shapes = tmp / "shapes"
        subprocess.run([train, "--write-coco", str(shapes), "--count", "8", "--seed", "5"], check=True,
                       capture_output=True)
        real = json.loads(subprocess.run([tool, "--coco", str(shapes / "annotations.json"), "--image-dir",
                                          str(shapes), "--device", "cpu"],
                                         check=True, capture_output=True, text=True).stdout)
        print("default model on 8 synthetic images:", json.dumps({k: round(real[k], 4) for k in KEYS}))
        for key in KEYS:
            if not 0 <= real[key] <= 1:
                failures.append(f"default model: {key} = {real[key]} not in [0, 1]")
        if set(real["per_class_AP"]) != {"circle", "square", "triangle"}:
            failures.append(f"default model: per-class AP {real['per_class_AP']}")

    for f in failures:
        print("FAIL", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Loss parity: `retinanet-train --loss-only` against torchvision's RetinaNet in training mode, on the same random
weights, images and boxes, for both architectures (L1 and GIoU box losses) and both batch norms: torchvision's
FrozenBatchNorm2d (fine-tuning; `--loss-only` by default) and nn.BatchNorm2d on batch statistics (`--train-bn`):
relative error below 1e-4.
Usage: test_loss_parity.py RETINANET_TRAIN [SEED]"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

TOLERANCE = 1e-4


def main():
    train = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("RETINANET_TEST_SEED", "2024"))
    torch.set_num_threads(os.cpu_count() or 1)
    failures, compared = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for case, (arch, width, height) in enumerate([("retinanet_resnet50_fpn", 320, 240),
                                                      ("retinanet_resnet50_fpn_v2", 200, 296)]):
            data = os.path.join(tmp, f"set{case}")
            subprocess.run([train, "--write-coco", data, "--count", "3", "--seed", str(seed + case),
                            "--width", str(width), "--height", str(height)], check=True)
            with open(os.path.join(data, "annotations.json")) as f:
                coco = json.load(f)
            labels = [""] * 4
            for c in coco["categories"]:
                labels[c["id"]] = c["name"]
            model = R.make_model(arch, len(labels), seed + case)
            model.transform.min_size, model.transform.max_size = (256,), 427
            # Running statistics away from any batch's, so that frozen and batch-statistics norms differ clearly.
            with torch.no_grad():
                for m in model.backbone.body.modules():
                    if isinstance(m, torch.nn.BatchNorm2d):
                        m.running_mean.add_(torch.randn_like(m.running_mean) * 0.2 * m.running_var.sqrt())
                        m.running_var.mul_(torch.empty_like(m.running_var).uniform_(0.6, 1.6))
            weights = os.path.join(tmp, f"{arch}.safetensors")
            R.export_model(model, arch, labels, weights)
            for norm, reference, flags in (("frozen-bn", R.with_frozen_batch_norm(model), []),
                                           ("train-bn", model, ["--train-bn"])):
                compared += compare(train, arch, norm, reference, flags, weights, data, coco, failures)
    for f in failures:
        print("FAIL", f)
    print(f"seed {seed}: {compared} losses compared, {len(failures)} failures")
    sys.exit(1 if failures or compared == 0 else 0)


def compare(train, arch, norm, model, flags, weights, data, coco, failures):
    """Our losses against `model`'s in training mode, one image at a time; returns how many were compared."""
    run = subprocess.run([train, "--weights", weights, "--coco", os.path.join(data, "annotations.json"),
                          "--image-dir", data, "--loss-only"] + flags, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"retinanet-train --loss-only {' '.join(flags)} failed: {run.stderr.strip()}")
    ours = [json.loads(line) for line in run.stdout.splitlines()]
    assert len(ours) == len(coco["images"]), run.stdout
    compared = 0
    model.train()
    for image, got in zip(coco["images"], ours):
        rgb = np.asarray(Image.open(os.path.join(data, image["file_name"])).convert("RGB"))
        tensor = torch.from_numpy(rgb.copy()).permute(2, 0, 1).float().div(255)
        anns = [a for a in coco["annotations"] if a["image_id"] == image["id"]]
        boxes = torch.tensor([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2],
                               a["bbox"][1] + a["bbox"][3]] for a in anns], dtype=torch.float32).reshape(-1, 4)
        target = {"boxes": boxes, "labels": torch.tensor([a["category_id"] for a in anns], dtype=torch.int64)}
        with torch.no_grad():
            expected = model([tensor], [target])
        assert got["image"] == image["file_name"]
        for key in ("classification", "bbox_regression"):
            e, g = float(expected[key]), got[key]
            rel = abs(g - e) / max(abs(e), 1e-12)
            compared += 1
            print(f"{arch} {norm} {image['file_name']} {len(anns)} objects {key}: torchvision {e:.8g} ours {g:.8g} "
                  f"rel {rel:.2e}")
            if rel >= TOLERANCE:
                failures.append(f"{arch} {norm} {image['file_name']} {key}: {g} vs torchvision {e}")
    return compared


if __name__ == "__main__":
    main()

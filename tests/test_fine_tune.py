#!/usr/bin/python3
"""Fine-tuning as torchvision's references do, end to end through retinanet-train: a small model (the tiny arch)
onto a generated set whose categories are renamed and reduced gets a new class predictor and the data's labels, and
runs in retinanet-detect; which backbone tensors change follows --trainable-backbone-layers and --train-bn (frozen
batch norm keeps statistics and affine parameters); a resumed run keeps its settings; what does not fit is refused.
usage: test_fine_tune.py RETINANET_TRAIN RETINANET_DETECT"""
import json
import math
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

CLS = "head.classification_head.cls_logits."


def run(cmd, expect_ok=True):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if expect_ok and p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}: {p.stderr.strip()}")
    return p


def changed(before, after):
    """Names whose values differ (both files hold the same name)."""
    return {n for n in after if n in before and not torch.equal(before[n], after[n])}


def trained_prefixes(layers):
    """torchvision's _resnet_fpn_extractor: the first `layers` of these train (5 adds bn1)."""
    names = ["layer4", "layer3", "layer2", "layer1", "conv1"][:layers]
    return names + (["bn1"] if layers == 5 else [])


def check_backbone(before, after, layers, frozen_bn, what):
    """Every body parameter changes iff its layer trains (and it is no frozen norm); statistics only if norms train."""
    errors = []
    diff = changed(before, after)
    for name in before:
        if not name.startswith("backbone.body."):
            continue
        local = name[len("backbone.body."):]
        is_norm = ".bn" in "." + local or ".downsample.1." in local
        if local.endswith(("running_mean", "running_var")):
            expect = not frozen_bn  # nn.BatchNorm2d in training mode updates them, trainable or not (torchvision)
        else:
            expect = any(local.startswith(p + ".") for p in trained_prefixes(layers)) and not (is_norm and frozen_bn)
        if (name in diff) != expect:
            errors.append(f"{what}: {name} {'changed' if name in diff else 'unchanged'}, expected "
                          f"{'changed' if expect else 'unchanged'}")
    return errors


def main():
    train, detect = sys.argv[1], sys.argv[2]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        small = ["--min-size", "96", "--max-size", "128"]
        base = os.path.join(tmp, "base.safetensors")
        run([train, "--iterations", "2", "--batch", "1", "--warmup", "0", "--threads", "2", "--output", base] + small)
        data = os.path.join(tmp, "set")
        run([train, "--write-coco", data, "--count", "4", "--width", "128", "--height", "96", "--seed", "7"])
        # The user's own classes: triangles dropped, the others renamed; 3 outputs (ids 0-2) instead of the model's 4.
        with open(os.path.join(data, "annotations.json")) as f:
            coco = json.load(f)
        coco["categories"] = [{"id": 1, "name": "ring"}, {"id": 2, "name": "box"}]
        coco["annotations"] = [a for a in coco["annotations"] if a["category_id"] in (1, 2)]
        ann = os.path.join(data, "own.json")
        with open(ann, "w") as f:
            json.dump(coco, f)
        common = ["--coco", ann, "--image-dir", data, "--batch", "2", "--warmup", "0", "--threads", "2",
                  "--no-augment"]

        tuned = os.path.join(tmp, "tuned.safetensors")
        p = run([train, "--weights", base, "--iterations", "3", "--output", tuned] + common)
        lines = [l for l in p.stderr.splitlines() if "new class set" in l]
        if len(lines) != 1 or "ring, box" not in lines[0]:
            failures.append(f"no single line announcing the new class set: {p.stderr!r}")
        meta = R.read_safetensors_metadata(tuned)
        if json.loads(meta.get("labels", "null")) != ["", "ring", "box"] or meta.get("num_classes") != "3":
            failures.append(f"labels/num_classes in the output: {meta.get('labels')} {meta.get('num_classes')}")
        b, t = R.read_safetensors(base), R.read_safetensors(tuned)
        anchors = b[CLS + "bias"].numel() // 4
        if t[CLS + "bias"].numel() != anchors * 3:
            failures.append(f"cls_logits bias has {t[CLS + 'bias'].numel()} outputs, expected {anchors * 3}")
        failures += check_backbone(b, t, 3, True, "--weights (defaults)")
        head = [n for n in b if n.startswith("head.") and not n.startswith(CLS)]
        if not all(n in changed(b, t) for n in head):
            failures.append("the head (other than cls_logits) did not train")

        # The new predictor as torchvision initialises it: after one step at a negligible rate it is still that.
        init = os.path.join(tmp, "init.safetensors")
        run([train, "--weights", base, "--iterations", "1", "--lr", "1e-9", "--output", init] + common)
        w, bias = R.read_safetensors(init)[CLS + "weight"], R.read_safetensors(init)[CLS + "bias"]
        prior = -math.log((1 - 0.01) / 0.01)
        if not (abs(float(w.std()) - 0.01) < 1e-3 and abs(float(w.mean())) < 1e-3
                and float((bias - prior).abs().max()) < 1e-5):
            failures.append(f"cls_logits not initialised as torchvision's: weight std {float(w.std()):.5f} mean "
                            f"{float(w.mean()):.5f}, bias {bias[:3].tolist()} (expected {prior:.5f})")

        # It runs in the detector and names the data's classes.
        image = os.path.join(data, coco["images"][0]["file_name"])
        p = run([detect, "--weights", tuned, "--score-threshold", "0.001", "--max-detections", "20", image])
        names = {d["name"] for d in json.loads(p.stdout)["detections"]}
        if not names or not names <= {"ring", "box"}:
            failures.append(f"retinanet-detect names {names}, expected ring/box")

        # Which parameters receive updates, for other settings.
        for layers, flags, frozen in ((5, ["--train-bn"], False), (0, [], True), (1, ["--train-bn"], False)):
            out = os.path.join(tmp, f"layers{layers}.safetensors")
            run([train, "--weights", base, "--iterations", "2", "--trainable-backbone-layers", str(layers),
                 "--output", out] + flags + common)
            failures += check_backbone(b, R.read_safetensors(out), layers, frozen,
                                       f"--trainable-backbone-layers {layers} {' '.join(flags)}")

        # A resumed run keeps frozen norms and its trainable layers; it refuses other settings and other classes.
        resumed = os.path.join(tmp, "resumed.safetensors")
        run(["cp", tuned, resumed])
        run(["cp", tuned + ".optim", resumed + ".optim"])
        run([train, "--resume", resumed, "--iterations", "5", "--output", resumed] + common)
        failures += check_backbone(b, R.read_safetensors(resumed), 3, True, "--resume")
        if R.read_safetensors_metadata(resumed).get("iteration") != "5":
            failures.append("the resumed run did not continue to iteration 5")
        for flags, why in ((["--coco", os.path.join(data, "annotations.json")], "other classes"),
                           (["--train-bn"], "--train-bn on a frozen run"),
                           (["--trainable-backbone-layers", "5"], "other trainable layers"),
                           (["--val-coco", os.path.join(data, "annotations.json"), "--val-image-dir", data],
                            "a validation set of other classes")):
            args = [train, "--resume", tuned, "--iterations", "6", "--output", os.path.join(tmp, "x.safetensors")]
            args += common + flags  # a later --coco overrides the first
            p = run(args, expect_ok=False)
            message = p.stderr.strip().splitlines()
            if p.returncode == 0 or len(message) != 1 or not message[0].startswith("retinanet-train:"):
                failures.append(f"--resume with {why}: rc {p.returncode}, stderr {p.stderr!r}")
    R.finish(failures)


if __name__ == "__main__":
    main()

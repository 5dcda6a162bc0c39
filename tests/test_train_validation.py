#!/usr/bin/python3
"""Validation during training (retinanet-train --val-coco/--val-image-dir/--val-every): fine-tuning the default
model for a few iterations prints one AP line per validation, keeps NAME.best.safetensors from the iteration of
the best AP printed, and that file scores the same AP in retinanet-eval; a resumed run keeps the earlier best unless
it beats it.
usage: test_train_validation.py RETINANET_TRAIN RETINANET_EVAL DEFAULT_MODEL"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as R  # noqa: E402

LINE = re.compile(r"^val iter (\d+)  AP (-?[\d.]+)  AP50 (-?[\d.]+)  best AP (-?[\d.]+) at iter (\d+)")


def run(cmd):
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: {' '.join(cmd)}: {p.stderr.strip()}")
    return p


def val_lines(stderr):
    return [(int(m[1]), float(m[2])) for m in map(LINE.match, stderr.splitlines()) if m]


def main():
    train, evaluate, default_model = sys.argv[1:4]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        data = os.path.join(tmp, "set")
        ann = os.path.join(data, "annotations.json")
        run([train, "--write-coco", data, "--count", "6", "--width", "320", "--height", "240", "--seed", "3"])
        out = os.path.join(tmp, "tuned.safetensors")
        best = os.path.join(tmp, "tuned.best.safetensors")
        common = ["--coco", ann, "--image-dir", data, "--val-coco", ann, "--val-image-dir", data, "--val-every", "2",
                  "--batch", "2", "--warmup", "0", "--lr", "3e-3", "--threads", "2", "--output", out]
        p = run([train, "--weights", default_model, "--iterations", "6"] + common)
        seen = val_lines(p.stderr)
        if [i for i, _ in seen] != [2, 4, 6]:
            failures.append(f"validations at {[i for i, _ in seen]}, expected 2, 4, 6: {p.stderr!r}")
        if len({ap for _, ap in seen}) < 2:
            failures.append(f"every validation gave the same AP {seen}: the best-of check would prove nothing")

        def check_best(history, what):
            top = max(ap for _, ap in history)
            at = next(i for i, ap in history if ap == top)  # the first of equals: later ones must beat it
            meta = R.read_safetensors_metadata(best)
            if int(meta.get("iteration", -1)) != at or abs(float(meta.get("val_AP", "nan")) - top) > 1e-6:
                failures.append(f"{what}: best file from iteration {meta.get('iteration')} AP {meta.get('val_AP')}, "
                                f"expected iteration {at} AP {top}")
            scored = json.loads(run([evaluate, "--weights", best, "--coco", ann, "--image-dir", data]).stdout)
            if abs(scored["AP"] - top) > 1e-6:
                failures.append(f"{what}: retinanet-eval scores the best file AP {scored['AP']}, printed {top}")

        check_best(seen, "first run")
        p = run([train, "--resume", out, "--iterations", "10"] + common)
        more = val_lines(p.stderr)
        if [i for i, _ in more] != [8, 10]:
            failures.append(f"resumed validations at {[i for i, _ in more]}, expected 8, 10")
        check_best(seen + more, "resumed run")
    R.finish(failures)


if __name__ == "__main__":
    main()

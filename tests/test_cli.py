#!/usr/bin/env python3
"""retinanet-detect's command line: every bad input exits non-zero with one clear line on stderr.
Usage: test_cli.py RETINANET_DETECT"""
import os
import struct
import subprocess
import sys
import tempfile


def run(detect, *args):
    return subprocess.run([detect, *args], capture_output=True, text=True, timeout=120)


def expect_error(detect, args, fragment, failures):
    r = run(detect, *args)
    lines = r.stderr.strip().splitlines()
    if r.returncode == 0 or len(lines) != 1 or fragment not in r.stderr or r.stdout:
        failures.append(f"{args}: exit {r.returncode}, stderr {r.stderr!r}, stdout {r.stdout[:80]!r}; "
                        f"expected one line containing {fragment!r}")


def main():
    detect = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        image = os.path.join(tmp, "img.ppm")
        with open(image, "wb") as f:
            f.write(b"P6\n4 3\n255\n" + bytes(range(36)))
        corrupt = os.path.join(tmp, "corrupt.safetensors")
        with open(corrupt, "wb") as f:
            f.write(struct.pack("<Q", 10) + b"not json!!")
        not_image = os.path.join(tmp, "notimage.png")
        with open(not_image, "w") as f:
            f.write("hello")
        expect_error(detect, [], "no IMAGE given", failures)
        expect_error(detect, ["--bogus", image], "unknown option '--bogus'", failures)
        expect_error(detect, ["--min-size"], "option '--min-size' needs a value", failures)
        expect_error(detect, ["--min-size", "big", image], "'big' is not a number", failures)
        expect_error(detect, ["--score-threshold", "1.5", image], "out of range", failures)
        expect_error(detect, ["--weights", os.path.join(tmp, "nope.safetensors"), image], "nope.safetensors: cannot open",
                     failures)
        expect_error(detect, ["--weights", corrupt, image], "corrupt.safetensors: bad header", failures)
        expect_error(detect, ["--weights", corrupt, "--device", "gpu7", image], "gpu7", failures)
        expect_error(detect, ["--device", "cpu", "--half", image], "half (float16) runs on a CUDA device only",
                     failures)
        expect_error(detect, ["--half=yes", image], "option '--half' takes no value", failures)
        # Per-class settings: labels the model lacks, thresholds out of range, labels files of the wrong length.
        expect_error(detect, ["--class-thresholds", "square=0.5,hexagon=0.3", image], "'hexagon' is not a label",
                     failures)
        expect_error(detect, ["--class-thresholds", "square=1.5", image], "'square' must lie in [0, 1], got 1.5",
                     failures)
        expect_error(detect, ["--class-thresholds", "square", image], "is not of the form label=threshold", failures)
        short_labels = os.path.join(tmp, "short.txt")
        with open(short_labels, "w") as f:
            f.write("ball\nbox\n")
        expect_error(detect, ["--labels-file", short_labels, image], "has 2 lines, the model 4 labels", failures)
        expect_error(detect, ["--labels-file", short_labels, "--list-labels"], "has 2 lines, the model 4 labels",
                     failures)
        # --list-labels: "index name" lines, exit 0, renamed by a labels file.
        r = run(detect, "--list-labels")
        if r.returncode != 0 or r.stdout.splitlines() != ["0 0", "1 circle", "2 square", "3 triangle"]:
            failures.append(f"--list-labels: exit {r.returncode}, {r.stdout!r}, {r.stderr!r}")
        labels = os.path.join(tmp, "labels.txt")
        with open(labels, "w") as f:
            f.write("background\nball\nbox\nwedge\n")
        r = run(detect, "--list-labels", "--labels-file", labels)
        if r.returncode != 0 or r.stdout.splitlines() != ["0 background", "1 ball", "2 box", "3 wedge"]:
            failures.append(f"--list-labels --labels-file: exit {r.returncode}, {r.stdout!r}, {r.stderr!r}")
        r = run(detect, "--help")
        if r.returncode != 0 or "usage: retinanet-detect" not in r.stdout:
            failures.append(f"--help: exit {r.returncode}, {r.stdout!r}")
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

#!/usr/bin/python3
"""What inference links: retinanet-detect and the GStreamer plugin hold none of the training code (the trainer,
losses, the scene generator, COCO loading), which lives in model/training/ and only retinanet-train links.

usage: test_link_boundary.py BINARY...
"""
import subprocess
import sys

# Demangled names of functions that only model/training/ defines.
TRAINING_SYMBOLS = [
    "retinanet::Trainer::",
    "retinanet::retinanet_losses(",
    "retinanet::match_anchors(",
    "retinanet::SceneGenerator::",
    "retinanet::read_coco(",
    "retinanet::make_train_sample(",
    "retinanet::Prefetcher::",
]


def defined_symbols(path):
    out = subprocess.run(["nm", "-C", "--defined-only", path], check=True, capture_output=True, text=True).stdout
    return [line.split(" ", 2)[-1] for line in out.splitlines() if line.strip()]


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    failures = 0
    for path in sys.argv[1:]:
        symbols = defined_symbols(path)
        if not any("retinanet::Detector::detect(" in s for s in symbols):
            print(f"FAIL {path}: no retinanet::Detector::detect: not the binary this test is about")
            failures += 1
        for name in TRAINING_SYMBOLS:
            found = [s for s in symbols if name in s]
            if found:
                print(f"FAIL {path} links training code: {found[0]}")
                failures += 1
        print(f"{path}: {len(symbols)} symbols checked")
    # The check itself can fail: retinanet-train must hold what the others must not.
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()

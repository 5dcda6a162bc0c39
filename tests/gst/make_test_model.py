#!/usr/bin/env python3
"""Writes the small model the GStreamer tests run: torchvision's retinanet_resnet50_fpn with random but
well-conditioned weights (tests/reference.py), four classes, and small preferred sizes (min_size 128, max_size 213)
so that one frame takes a fraction of a second on two CPU cores. Usage: make_test_model.py OUTPUT"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import export_model, make_model  # noqa: E402

ARCH = "retinanet_resnet50_fpn"
LABELS = ["", "circle", "square", "triangle"]
SEED = 4


def main():
    model = make_model(ARCH, len(LABELS), SEED)
    model.transform.min_size, model.transform.max_size = (128,), 213
    export_model(model, ARCH, LABELS, sys.argv[1])


if __name__ == "__main__":
    main()

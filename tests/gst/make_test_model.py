#!/usr/bin/env python3
"""Writes what the GStreamer tests run on, into OUTDIR: the small model `gst_test_model.safetensors`
(torchvision's retinanet_resnet50_fpn with random but well-conditioned weights from tests/reference.py, four
classes, small preferred sizes min_size 128 / max_size 213, so a frame takes a fraction of a second on two CPU
cores) and test frames `frame_WxH.ppm` of the kind the weights were calibrated on. Usage: make_test_model.py OUTDIR"""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from reference import export_model, make_image, make_model, write_ppm  # noqa: E402

ARCH = "retinanet_resnet50_fpn"
LABELS = ["", "circle", "square", "triangle"]
SEED = 4
FRAMES = ((320, 240, 11), (317, 239, 12))  # even; odd (padded strides, odd chroma planes)


def main():
    outdir = sys.argv[1]
    model = make_model(ARCH, len(LABELS), SEED)
    model.transform.min_size, model.transform.max_size = (128,), 213
    export_model(model, ARCH, LABELS, os.path.join(outdir, "gst_test_model.safetensors"))
    for width, height, seed in FRAMES:
        write_ppm(os.path.join(outdir, f"frame_{width}x{height}.ppm"), make_image(height, width, seed))


if __name__ == "__main__":
    main()

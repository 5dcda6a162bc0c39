#!/usr/bin/env python3
"""Writes a torchvision RetinaNet as a gst-retinanet model file (.safetensors with the metadata of DESIGN.md).

Run where torchvision and its COCO weights are available (the weights download once from torchvision's servers):

    python3 model/files/export_torchvision.py --arch retinanet_resnet50_fpn --output retinanet_coco.safetensors
    python3 model/files/export_torchvision.py --arch retinanet_resnet50_fpn_v2 --output retinanet_v2_coco.safetensors
    python3 model/files/export_torchvision.py --arch retinanet_resnet50_fpn --checkpoint my_finetune.pth \
        --num-classes 3 --labels circle,square,triangle --output mine.safetensors

The tensor names are torchvision's state_dict() names; BatchNorm's num_batches_tracked counters are dropped.
The module also serves the tests, which export randomly initialised models through `export_model`.
"""
import argparse
import http.client
import json
import os
import struct
import sys
import urllib.error

import numpy as np
import torch

ARCHS = ("retinanet_resnet50_fpn", "retinanet_resnet50_fpn_v2")


def write_safetensors(path, tensors, metadata):
    """Writes float32 tensors (name -> tensor) and string metadata in the safetensors format."""
    header = {"__metadata__": {k: str(v) for k, v in metadata.items()}} if metadata else {}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        data = tensors[name].detach().to("cpu", torch.float32).contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def model_metadata(model, arch, labels):
    """The metadata DESIGN.md asks for, read off a torchvision RetinaNet."""
    transform = model.transform
    anchor_sizes = [list(map(float, s)) for s in model.anchor_generator.sizes]
    return {
        "arch": arch,
        "num_classes": json.dumps(len(labels)),
        "labels": json.dumps(labels),
        "min_size": json.dumps(int(transform.min_size[-1])),
        "max_size": json.dumps(int(transform.max_size)),
        "image_mean": json.dumps([float(v) for v in transform.image_mean]),
        "image_std": json.dumps([float(v) for v in transform.image_std]),
        "score_thresh": json.dumps(float(model.score_thresh)),
        "nms_thresh": json.dumps(float(model.nms_thresh)),
        "detections_per_img": json.dumps(int(model.detections_per_img)),
        "topk_candidates": json.dumps(int(model.topk_candidates)),
        "anchor_sizes": json.dumps(anchor_sizes),
        "aspect_ratios": json.dumps([float(r) for r in model.anchor_generator.aspect_ratios[0]]),
    }


def export_model(model, arch, labels, path):
    """Writes `model` (a torchvision RetinaNet of architecture `arch`) with label names `labels` to `path`."""
    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    write_safetensors(path, state, model_metadata(model, arch, labels))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--arch", choices=ARCHS, default=ARCHS[0])
    parser.add_argument("--output", required=True)
    parser.add_argument("--checkpoint", help="a state_dict (.pth) to load instead of torchvision's COCO weights")
    parser.add_argument("--num-classes", type=int, help="with --checkpoint: outputs of the class subnet")
    parser.add_argument("--labels", help="with --checkpoint: comma-separated names of labels 1..N-1")
    args = parser.parse_args()

    import torchvision.models.detection as det

    build = getattr(det, args.arch)
    if args.checkpoint:
        num_classes = args.num_classes or 91
        model = build(weights=None, weights_backbone=None, num_classes=num_classes)
        model.load_state_dict(torch.load(args.checkpoint, map_location="cpu"))
        names = args.labels.split(",") if args.labels else []
        labels = [""] + names + [""] * max(0, num_classes - 1 - len(names))
        if len(labels) != num_classes:
            sys.exit(f"export_torchvision: {len(names)} label names for {num_classes} classes")
    else:
        weights = {"retinanet_resnet50_fpn": det.RetinaNet_ResNet50_FPN_Weights,
                   "retinanet_resnet50_fpn_v2": det.RetinaNet_ResNet50_FPN_V2_Weights}[args.arch].DEFAULT
        try:
            model = build(weights=weights)
        except (OSError, urllib.error.URLError, http.client.HTTPException) as e:  # URLError is an OSError
            checkpoints = os.path.join(torch.hub.get_dir(), "checkpoints")
            sys.exit(f"export_torchvision: the {args.arch} COCO weights need the internet ({e}); offline, download "
                     f"{weights.url} elsewhere and put it in {checkpoints}/")
        labels = ["" if c in ("__background__", "N/A") else c for c in weights.meta["categories"]]
    model.eval()
    export_model(model, args.arch, labels, args.output)
    print(f"wrote {args.output} ({args.arch}, {len(labels)} classes)")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Writes torchvision's answers for the C++ unit tests as one safetensors file (the tests read it with the
project's own reader): anchors, box decoding, NMS, batched NMS and the resize arithmetic, on random inputs.
Usage: make_fixtures.py OUTPUT [SEED]"""
import json
import os
import sys

import torch
from torchvision.models.detection import _utils as det_utils
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.models.detection.image_list import ImageList
from torchvision.models.detection.retinanet import _default_anchorgen
from torchvision.models.detection.transform import _resize_image_and_masks
from torchvision.ops import batched_nms, nms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "files"))
from export_torchvision import write_safetensors  # noqa: E402


def random_boxes(n, size, g):
    xy = torch.rand(n, 2, generator=g) * size
    wh = torch.rand(n, 2, generator=g) * size / 4 + 1
    return torch.cat([xy, xy + wh], dim=1)


def main():
    out = sys.argv[1]
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else int(os.environ.get("RETINANET_TEST_SEED", "2024"))
    g = torch.Generator().manual_seed(seed)
    t, meta = {}, {"seed": str(seed)}

    # Anchors: the default generator and a custom one, for padded image sizes and their P3-P7 grids.
    generators = {"default": _default_anchorgen(),
                  "custom": AnchorGenerator(tuple((s, s * 1.5) for s in (12, 24, 48, 96, 192)), ((0.5, 1.0, 2.0, 3.0),) * 5)}
    meta["anchor_generators"] = json.dumps({k: [[list(map(float, s)) for s in v.sizes],
                                                [float(r) for r in v.aspect_ratios[0]]] for k, v in generators.items()})
    anchor_cases = [(64, 96), (512, 704), (800, 1088), (32, 32)]
    meta["anchor_cases"] = json.dumps(anchor_cases)
    for name, gen in generators.items():
        for h, w in anchor_cases:
            grids = [torch.zeros(1, 1, -(-h // s), -(-w // s)) for s in (8, 16, 32, 64, 128)]
            anchors = gen(ImageList(torch.zeros(1, 3, h, w), [(h, w)]), grids)[0]
            t[f"anchors.{name}.{h}x{w}"] = anchors

    # Box coder: decode random deltas (some beyond the clamp) against random anchors.
    anchors = random_boxes(2000, 800, g)
    deltas = torch.randn(2000, 4, generator=g) * 2
    t["decode.anchors"], t["decode.deltas"] = anchors, deltas
    t["decode.boxes"] = det_utils.BoxCoder(weights=(1.0, 1.0, 1.0, 1.0)).decode_single(deltas, anchors)

    # NMS: clustered boxes so that many overlap, a few exact score ties; both batched_nms strategies.
    for n, tag in ((300, "small"), (3000, "large")):
        centres = random_boxes(n // 10, 600, g).repeat(10, 1)
        boxes = centres + torch.randn(n, 4, generator=g) * 6
        boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
        scores = torch.rand(n, generator=g)
        scores[: n // 20] = 0.5
        labels = torch.randint(0, 5, (n,), generator=g)
        t[f"nms.{tag}.boxes"], t[f"nms.{tag}.scores"], t[f"nms.{tag}.labels"] = boxes, scores, labels.float()
        t[f"nms.{tag}.keep"] = nms(boxes, scores, 0.5).float()
        t[f"nms.{tag}.batched_keep"] = batched_nms(boxes, scores, labels, 0.45).float()

    # Resize arithmetic: (height, width, min_size, max_size) -> torchvision's resized (height, width).
    sizes = []
    for h, w in [(480, 640), (640, 480), (720, 1280), (1080, 1920), (333, 517), (61, 97), (17, 23), (3, 1000),
                 (299, 300), (600, 800), (768, 1024), (1000, 3)]:
        for min_size, max_size in [(800, 1333), (512, 853), (320, 512), (600, 1000)]:
            resized = _resize_image_and_masks(torch.zeros(1, h, w), float(min_size), float(max_size))[0].shape[-2:]
            sizes.append([h, w, min_size, max_size, resized[0], resized[1]])
    t["resize.cases"] = torch.tensor(sizes, dtype=torch.float32)
    write_safetensors(out, t, meta)


if __name__ == "__main__":
    main()

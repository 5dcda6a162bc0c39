"""torchvision reference helpers for the tests: random but well-conditioned RetinaNets, synthetic images, and the
reference detections. Only the tests import this (python3-torchvision is never a runtime dependency)."""
import os
import sys

import numpy as np
import torch
import torchvision.models.detection as det

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "model", "files"))
from export_torchvision import export_model  # noqa: E402


def make_model(arch, num_classes, seed, logit_std=1.0, logit_mean=-5.0, delta_std=0.3):
    """A torchvision RetinaNet with random weights whose outputs look like a trained model's: random batch-norm
    affine parameters with statistics measured on synthetic images, class logits spread so that a few
    percent of anchors pass the default threshold, and box deltas of a realistic size."""
    torch.manual_seed(seed)
    model = getattr(det, arch)(weights=None, weights_backbone=None, num_classes=num_classes)
    body = model.backbone.body
    for m in body.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batches
            m.reset_running_stats()
            with torch.no_grad():
                m.weight.uniform_(0.5, 1.5)
                m.bias.normal_(0, 0.1)
    def calibration_batch(k):
        images = [torch.from_numpy(make_image(160, 192, seed * 100 + k + i)).permute(2, 0, 1).float().div(255)
                  for i in range(2)]
        return model.transform(images)[0].tensors

    model.transform.min_size, model.transform.max_size = (192,), 320  # calibration only: small and quick
    body.train()
    with torch.no_grad():
        for k in range(2):
            body(calibration_batch(2 * k))
    model.eval()
    with torch.no_grad():
        features = list(model.backbone(calibration_batch(10)).values())
        for subnet, predictor, std, mean in ((model.head.classification_head, "cls_logits", logit_std, logit_mean),
                                             (model.head.regression_head, "bbox_reg", delta_std, 0.0)):
            # Standardise each output channel over all positions and levels, then give it its own offset.
            conv = getattr(subnet, predictor)
            outputs = torch.cat([conv(subnet.conv(f)).transpose(0, 1).flatten(1) for f in features], dim=1)
            scale = std / outputs.std(dim=1)
            conv.weight.mul_(scale[:, None, None, None])
            conv.bias.copy_((conv.bias - outputs.mean(dim=1)) * scale + mean + torch.randn_like(conv.bias) * 0.3 * std)
    model.transform.min_size, model.transform.max_size = (800,), 1333
    return model


def make_image(height, width, seed):
    """A uint8 RGB image [H, W, 3]: smooth colour gradients, noise and filled rectangles."""
    g = torch.Generator().manual_seed(seed)
    yy = torch.linspace(0, 1, height)[:, None, None]
    xx = torch.linspace(0, 1, width)[None, :, None]
    base = torch.rand(1, 1, 3, generator=g) * 255
    slope = (torch.rand(2, 1, 1, 3, generator=g) - 0.5) * 200
    img = base + slope[0] * yy + slope[1] * xx + torch.randn(height, width, 3, generator=g) * 20
    for _ in range(6):
        y0, x0 = (torch.rand(2, generator=g) * torch.tensor([height, width])).long().tolist()
        h, w = (torch.rand(2, generator=g) * torch.tensor([height, width]) * 0.5 + 2).long().tolist()
        img[y0:y0 + h, x0:x0 + w] = torch.rand(3, generator=g) * 255
    return img.clamp(0, 255).round().to(torch.uint8).numpy()


def write_ppm(path, rgb):
    """Binary PPM: the simplest lossless RGB file OpenCV reads, with no imaging library needed here."""
    h, w, _ = rgb.shape
    with open(path, "wb") as f:
        f.write(b"P6\n%d %d\n255\n" % (w, h))
        f.write(np.ascontiguousarray(rgb).tobytes())


def reference_detections(model, rgb):
    """torchvision's detections on a uint8 RGB image: a list of dicts as retinanet-detect prints them."""
    image = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1).float().div(255)
    with torch.no_grad():
        out = model([image])[0]
    return [{"label": int(l), "score": float(s), "box": [float(v) for v in b]}
            for b, s, l in zip(out["boxes"], out["scores"], out["labels"])]


def box_iou(a, b):
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    if union > 0:
        return inter / union
    # Boxes clipped flat against the border have no area: equal when their corners agree.
    return 1.0 if max(abs(u - v) for u, v in zip(a, b)) < 1e-2 else 0.0


def read_ppm(path):
    with open(path, "rb") as f:
        magic, dims, maxval = f.readline(), f.readline(), f.readline()
        assert magic.strip() == b"P6" and maxval.strip() == b"255", path
        w, h = map(int, dims.split())
        return np.frombuffer(f.read(w * h * 3), dtype=np.uint8).reshape(h, w, 3)


def read_safetensors(path):
    """name -> float32 tensor, for files this project writes (F32 only)."""
    import json
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    header.pop("__metadata__", None)
    out = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[begin:end], dtype="<f4").copy()).reshape(info["shape"])
    return out


def with_frozen_batch_norm(model):
    """A copy of `model` whose backbone batch norms are torchvision's FrozenBatchNorm2d with the same statistics and
    affine parameters: what retinanet_resnet50_fpn(weights_backbone=...) builds for fine-tuning."""
    import copy
    from torchvision.ops.misc import FrozenBatchNorm2d
    frozen = copy.deepcopy(model)

    def replace(module):
        for name, child in module.named_children():
            if isinstance(child, torch.nn.BatchNorm2d):
                f = FrozenBatchNorm2d(child.num_features, eps=child.eps)
                for key in ("weight", "bias", "running_mean", "running_var"):
                    getattr(f, key).copy_(getattr(child, key).detach())
                setattr(module, name, f)
            else:
                replace(child)
    replace(frozen.backbone.body)
    return frozen


def read_safetensors_metadata(path):
    """The `__metadata__` of a safetensors file (strings, as written)."""
    import json
    import struct
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        return json.loads(f.read(n)).get("__metadata__", {})


def finish(failures):
    """Prints each failure and the count, then exits 1 if there were any."""
    for f in failures:
        print("FAIL", f)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)

#!/usr/bin/env python3
"""Makes the sample video the README's main job runs on: circles, squares and triangles of many sizes and colours
moving (and turning) over backgrounds that change every couple of seconds (flat colour, gradient, noise, line
clutter), H.264 in MP4. The shapes' true boxes go, one JSON line per frame, to OUTPUT with .truth.jsonl in place
of its extension, so a run of the detector can be checked against them.

    pipelines/make_sample_video.py sample.mp4 [--seconds 10] [--width 640] [--height 480] [--fps 15] [--seed 1]

Needs python3-gi, python3-gst-1.0, python3-numpy and GStreamer's x264enc (gstreamer1.0-plugins-ugly)."""
import argparse
import json
import math
import os
import sys

import numpy as np
import gi

gi.require_version("Gst", "1.0")
from gi.repository import Gst  # noqa: E402

CLASSES = ("circle", "square", "triangle")
BACKGROUND_SECONDS = 2.0


def background(kind, h, w, rng):
    """One of the backgrounds the default model is trained against, [h, w, 3] float."""
    if kind == 0:
        return np.broadcast_to(rng.uniform(0, 255, 3), (h, w, 3)).copy()
    if kind == 1:
        yy, xx = np.mgrid[0:h, 0:w]
        a, b = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        t = ((xx * math.cos(rng.uniform(0, math.pi)) + yy) / (w + h))[..., None]
        return a * (1 - t) + b * t
    if kind == 2:
        return np.clip(rng.uniform(60, 200, 3) + rng.normal(0, 35, (h, w, 3)), 0, 255)
    img = np.broadcast_to(rng.uniform(0, 255, 3), (h, w, 3)).copy()
    for _ in range(25):  # line clutter: thin random strokes
        x0, y0, x1, y1 = rng.uniform(0, 1, 4) * [w, h, w, h]
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        xs = np.linspace(x0, x1, n).astype(int).clip(0, w - 2)
        ys = np.linspace(y0, y1, n).astype(int).clip(0, h - 2)
        colour = rng.uniform(0, 255, 3)
        img[ys, xs] = colour
        img[ys + 1, xs] = colour
    return img


class Shape:
    def __init__(self, rng, w, h, kind):
        self.kind = kind
        self.size = float(rng.uniform(10, 80))  # circumradius, pixels: shapes 15 to 160 across
        self.x, self.y = rng.uniform(self.size, w - self.size), rng.uniform(self.size, h - self.size)
        speed, heading = rng.uniform(2, 7), rng.uniform(0, 2 * math.pi)
        self.vx, self.vy = speed * math.cos(heading), speed * math.sin(heading)
        self.angle, self.spin = rng.uniform(0, 2 * math.pi), rng.uniform(-0.08, 0.08)
        self.colour = rng.uniform(0, 255, 3)

    def step(self, w, h):
        self.x += self.vx
        self.y += self.vy
        if not self.size <= self.x <= w - self.size:
            self.vx = -self.vx
        if not self.size <= self.y <= h - self.size:
            self.vy = -self.vy
        self.angle += self.spin

    def corners(self):
        n = 4 if self.kind == 1 else 3
        return [(self.x + self.size * math.cos(self.angle + 2 * math.pi * k / n),
                 self.y + self.size * math.sin(self.angle + 2 * math.pi * k / n)) for k in range(n)]

    def draw(self, img):
        """Fills the shape into img; returns its box [x1, y1, x2, y2] in pixels."""
        h, w, _ = img.shape
        x1, y1 = max(0, int(self.x - self.size)), max(0, int(self.y - self.size))
        x2, y2 = min(w, int(self.x + self.size) + 1), min(h, int(self.y + self.size) + 1)
        yy, xx = np.mgrid[y1:y2, x1:x2] + 0.5
        if self.kind == 0:
            mask = (xx - self.x) ** 2 + (yy - self.y) ** 2 <= self.size ** 2
        else:  # convex polygon: inside every edge's half-plane
            pts = self.corners()
            mask = np.ones(xx.shape, bool)
            for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
                mask &= (bx - ax) * (yy - ay) - (by - ay) * (xx - ax) >= 0
        img[y1:y2, x1:x2][mask] = self.colour
        ys, xs = np.nonzero(mask)
        if len(xs) == 0:
            return None
        return [float(x1 + xs.min()), float(y1 + ys.min()), float(x1 + xs.max() + 1), float(y1 + ys.max() + 1)]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--fps", type=int, default=15)
    parser.add_argument("--shapes", type=int, default=8)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    Gst.init(None)
    w, h, fps = args.width, args.height, args.fps
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={w},height={h},framerate={fps}/1 ! "
        "videoconvert ! x264enc speed-preset=fast key-int-max=30 ! video/x-h264,profile=high ! "
        f"mp4mux ! filesink location={args.output}")
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)

    rng = np.random.default_rng(args.seed)
    # The classes in turn, so that every video shows all three.
    shapes = [Shape(rng, w, h, k % len(CLASSES)) for k in range(args.shapes)]
    truth_path = os.path.splitext(args.output)[0] + ".truth.jsonl"
    frames = int(args.seconds * fps)
    with open(truth_path, "w") as truth:
        bg = None
        for i in range(frames):
            if i % int(BACKGROUND_SECONDS * fps) == 0:
                bg = background((i // int(BACKGROUND_SECONDS * fps)) % 4, h, w, rng)
            img = bg.copy()
            objects = []
            for s in shapes:
                box = s.draw(img)
                if box:
                    objects.append({"label": CLASSES[s.kind], "box": box})
                s.step(w, h)
            truth.write(json.dumps({"frame": i, "objects": objects}) + "\n")
            buf = Gst.Buffer.new_wrapped(img.clip(0, 255).astype(np.uint8).tobytes())
            buf.pts = i * Gst.SECOND // fps
            buf.duration = Gst.SECOND // fps
            if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
                sys.exit("make_sample_video: the encoder refused a frame")
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if not msg or msg.type == Gst.MessageType.ERROR:
        sys.exit("make_sample_video: " + (msg.parse_error()[0].message if msg else "timed out"))
    print(f"wrote {args.output} ({frames} frames, {w}x{h} at {fps}/s) and {truth_path}")


if __name__ == "__main__":
    main()

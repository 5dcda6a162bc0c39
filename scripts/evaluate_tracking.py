#!/usr/bin/python3
"""Scores retinanettrack with py-motmetrics (the MOT community's evaluator) on sequences of the project's moving
shapes with true ids, at several detector intervals, against a plain greedy IoU matcher as the baseline.

    /usr/bin/python3 scripts/evaluate_tracking.py [--seeds 1000-1009] [--scene entering|bouncing]
                                                 [--intervals 1,2,4] [--seconds 10] [--build build]
                                                 [--work DIR] [--keep] [--per-seed]
    /usr/bin/python3 scripts/evaluate_tracking.py --work DIR --replay --track-properties "min-hits=3" ...
                                                 [--blank-frames]

Each seed makes one sequence (640x480, 15 frames/s, H.264): shapes of the default model's classes (circles,
squares, triangles, 15 to 160 px, turning) over backgrounds that change every 2 s. Scene `entering` (the
default): some are in the frame at the start, others enter through an edge later; most drift straight out of the
frame again, some bounce off its edges and stay; pairs enter from opposite sides at the same height and cross, the
later drawn in front (occlusion). Scene `bouncing`: the sample video's kind, 8 shapes in the frame from the start
bouncing off its edges.
Every shape has an id; truth per frame is each shape's box (its pixels inside the frame, hidden ones included)
and its visibility (the share of the whole shape that is in the frame and not covered). Shapes at least half
visible are scored; less visible ones are "don't care" (as MOTChallenge treats its low-visibility boxes): neither
a miss when no box covers them, nor a false positive when one does (a hypothesis overlapping one at IoU 0.5 or
more, and no scored shape better, is left out).

Per interval N the sequence runs once through
    filesrc ! decodebin ! videoconvert ! retinanetdetect interval=N ! retinanetjson (raw) ! retinanettrack !
    retinanetjson (tracked) ! fakesink
with the embedded default model and every element's defaults. The tracker's hypotheses are the tracked boxes
(the detections with an "object_id", the predicted boxes on the frames between inferences); the baseline's are
the raw detections, given ids by matching each inferred frame's detections greedily (highest IoU first, IoU at
least 0.3) to the previous inferred frame's, and carried unchanged, with their ids, on the frames between (what a
viewer sees without a tracker). --replay runs the tracker alone on an earlier run's detections, on the
sequence's decoded frames (remade from the seed when the run kept no video), so that its appearance cue sees the
pixels of the full run. Matching hypotheses to truth: IoU at least 0.5 (motmetrics' iou_matrix,
max_iou=0.5). Printed: MOTA, IDF1, id switches, precision, recall, false positives and misses, over all seeds
(motmetrics' OVERALL) and per seed with --per-seed.

py-motmetrics is installed from PyPI into a virtualenv of its own (~/.cache/gst-retinanet/motmetrics-venv, or
RETINANET_MOTMETRICS_VENV) on first use; scoring runs there, everything else in Debian's python3 (python3-gi,
python3-gst-1.0, python3-numpy, x264enc)."""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.environ.get("RETINANET_MOTMETRICS_VENV",
                      os.path.join(os.path.expanduser("~"), ".cache", "gst-retinanet", "motmetrics-venv"))
# motmetrics 1.4.0 calls numpy.asfarray, which numpy 2 removed.
MOTMETRICS_REQUIREMENTS = ["motmetrics==1.4.0", "numpy<2"]
CLASSES = ("circle", "square", "triangle")
SCORED_VISIBILITY = 0.5
BASELINE_IOU = 0.3


# --- sequences -----------------------------------------------------------------------------------------------

class Mover:
    """One shape on a straight path (or bouncing off the frame's edges), with its id."""

    def __init__(self, rng, oid, kind, w, h, start, inside, bounce, edge=None, y=None, heading=None):
        self.id, self.kind, self.start, self.bounce = oid, kind, start, bounce
        self.size = float(rng.uniform(10, 80))  # circumradius: 15 to 160 px across, as the default model saw
        speed = rng.uniform(2, 7)
        if inside:
            self.x, self.y = rng.uniform(self.size, w - self.size), rng.uniform(self.size, h - self.size)
            heading = rng.uniform(0, 2 * math.pi)
        else:  # just outside an edge, heading inwards (within 60 degrees of the inward normal)
            edge = int(rng.integers(0, 4)) if edge is None else edge
            inward = (0.0, math.pi, math.pi / 2, -math.pi / 2)[edge]  # from left, right, top, bottom
            if heading is None:
                heading = inward + rng.uniform(-math.pi / 3, math.pi / 3)
            if edge < 2:
                self.x = -self.size if edge == 0 else w + self.size
                self.y = rng.uniform(0.15 * h, 0.85 * h) if y is None else y
            else:
                self.x = rng.uniform(0.15 * w, 0.85 * w)
                self.y = -self.size if edge == 2 else h + self.size
        self.vx, self.vy = speed * math.cos(heading), speed * math.sin(heading)
        self.angle, self.spin = rng.uniform(0, 2 * math.pi), rng.uniform(-0.08, 0.08)
        self.colour = rng.uniform(0, 255, 3)
        self.entered = inside

    def step(self, w, h):
        self.x += self.vx
        self.y += self.vy
        self.angle += self.spin
        inside = self.size <= self.x <= w - self.size and self.size <= self.y <= h - self.size
        self.entered = self.entered or inside
        if self.bounce and self.entered:
            if not self.size <= self.x <= w - self.size:
                self.vx = -self.vx
            if not self.size <= self.y <= h - self.size:
                self.vy = -self.vy

    def gone(self, w, h):
        return self.entered and (self.x < -self.size or self.x > w + self.size or
                                 self.y < -self.size or self.y > h + self.size)

    def area(self):
        r = self.size
        return (math.pi * r * r, 2 * r * r, 3 * math.sqrt(3) / 4 * r * r)[self.kind]

    def mask(self, np, w, h):
        """(x1, y1, mask) of the shape's pixels inside the frame, or None."""
        x1, y1 = max(0, int(self.x - self.size)), max(0, int(self.y - self.size))
        x2, y2 = min(w, int(self.x + self.size) + 1), min(h, int(self.y + self.size) + 1)
        if x2 <= x1 or y2 <= y1:
            return None
        yy, xx = np.mgrid[y1:y2, x1:x2] + 0.5
        if self.kind == 0:
            m = (xx - self.x) ** 2 + (yy - self.y) ** 2 <= self.size ** 2
        else:
            n = 4 if self.kind == 1 else 3
            pts = [(self.x + self.size * math.cos(self.angle + 2 * math.pi * k / n),
                    self.y + self.size * math.sin(self.angle + 2 * math.pi * k / n)) for k in range(n)]
            m = np.ones(xx.shape, bool)
            for (ax, ay), (bx, by) in zip(pts, pts[1:] + pts[:1]):
                m &= (bx - ax) * (yy - ay) - (by - ay) * (xx - ax) >= 0
        return (x1, y1, m) if m.any() else None


def push(Gst, src, buf, what):
    if src.emit("push-buffer", buf) != Gst.FlowReturn.OK:
        sys.exit(f"evaluate_tracking: {what}: a frame was refused")


def finish(Gst, pipeline, src, what):
    """Ends an appsrc pipeline: EOS, then its EOS or first error within two minutes."""
    src.emit("end-of-stream")
    msg = pipeline.get_bus().timed_pop_filtered(120 * Gst.SECOND, Gst.MessageType.EOS | Gst.MessageType.ERROR)
    pipeline.set_state(Gst.State.NULL)
    if not msg or msg.type == Gst.MessageType.ERROR:
        sys.exit(f"evaluate_tracking: {what}: " + (msg.parse_error()[0].message if msg else "timed out"))


def make_sequence(seed, path, seconds, scene="entering", w=640, h=480, fps=15):
    """Writes the seed's sequence to `path` (MP4) and returns its truth: per frame, a list of
    {"id", "label", "box", "visibility"}. `scene`: "entering" (shapes entering, crossing and leaving, some
    bouncing) or "bouncing" (the sample video's kind: 8 shapes in the frame from the start, bouncing off its
    edges, the classes in turn)."""
    import numpy as np
    import gi
    gi.require_version("Gst", "1.0")
    from gi.repository import Gst
    sys.path.insert(0, os.path.join(ROOT, "pipelines"))
    from make_sample_video import background  # the backgrounds the default model is trained against

    rng = np.random.default_rng(seed)
    frames = int(seconds * fps)
    movers, next_id = [], 1

    def add(**kw):
        nonlocal next_id
        movers.append(Mover(rng, next_id, int(rng.integers(0, 3)), w, h, **kw))
        next_id += 1

    if scene == "bouncing":
        for k in range(8):
            movers.append(Mover(rng, next_id, k % 3, w, h, start=0, inside=True, bounce=True))
            next_id += 1
    else:
        for _ in range(int(rng.integers(4, 7))):  # in the frame at the start
            add(start=0, inside=True, bounce=bool(rng.random() < 0.35))
        for _ in range(int(rng.integers(4, 8))):  # entering later
            add(start=int(rng.integers(3, max(4, frames - 40))), inside=False, bounce=bool(rng.random() < 0.2))
        for _ in range(int(rng.integers(1, 3))):  # crossing pairs: from both sides at about the same height
            start, y = int(rng.integers(3, max(4, frames - 80))), float(rng.uniform(0.25 * h, 0.75 * h))
            add(start=start, inside=False, bounce=False, edge=0, y=y, heading=0.0)
            add(start=start, inside=False, bounce=False, edge=1, y=y + float(rng.uniform(-15, 15)),
                heading=math.pi)

    Gst.init(None)
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps=video/x-raw,format=RGB,width={w},height={h},framerate={fps}/1 ! "
        "videoconvert ! x264enc speed-preset=fast key-int-max=30 ! video/x-h264,profile=high ! "
        f"mp4mux ! filesink location={path}")
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    truth, bg, bg_frames = [], None, int(2 * fps)
    for i in range(frames):
        if i % bg_frames == 0:
            bg = background(int(rng.integers(0, 4)), h, w, rng)
        img = bg.copy()
        owner = np.full((h, w), -1, np.int32)
        drawn = []
        for m in movers:  # later ids in front
            if m.start > i or m.gone(w, h):
                continue
            got = m.mask(np, w, h)
            if got is None:
                continue
            x1, y1, mask = got
            img[y1:y1 + mask.shape[0], x1:x1 + mask.shape[1]][mask] = m.colour
            owner[y1:y1 + mask.shape[0], x1:x1 + mask.shape[1]][mask] = m.id
            drawn.append((m, x1, y1, mask))
        objects = []
        for m, x1, y1, mask in drawn:
            ys, xs = np.nonzero(mask)
            visible = np.count_nonzero(owner[y1:y1 + mask.shape[0], x1:x1 + mask.shape[1]][mask] == m.id)
            objects.append({"id": m.id, "label": CLASSES[m.kind],
                            "box": [float(x1 + xs.min()), float(y1 + ys.min()), float(x1 + xs.max() + 1),
                                    float(y1 + ys.max() + 1)],
                            "visibility": round(visible / m.area(), 4)})
        truth.append(objects)
        for m in movers:
            if m.start <= i:
                m.step(w, h)
        buf = Gst.Buffer.new_wrapped(img.clip(0, 255).astype(np.uint8).tobytes())
        buf.pts, buf.duration = i * Gst.SECOND // fps, Gst.SECOND // fps
        push(Gst, src, buf, "encoding")
    finish(Gst, pipeline, src, "encoding")
    return truth


# --- runs ----------------------------------------------------------------------------------------------------

def run_pipeline(build, video, interval, raw_path, tracked_path, track_properties=""):
    env = dict(os.environ, GST_PLUGIN_PATH=os.path.join(build, "gst"))
    cmd = ["gst-launch-1.0", "-q", "filesrc", f"location={video}", "!", "decodebin", "!", "videoconvert", "!",
           "retinanetdetect", f"interval={interval}", "!", "retinanetjson", f"location={raw_path}", "!",
           "retinanettrack"] + track_properties.split() + ["!", "retinanetjson", f"location={tracked_path}", "!", "fakesink"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode != 0:
        sys.exit(f"evaluate_tracking: the pipeline failed: {done.stderr.strip() or done.stdout.strip()}")


def replay_tracker(raw_path, tracked_path, properties, video=None, width=640, height=480):
    """Runs retinanettrack alone on the detections of an earlier run (its raw JSON lines as metas again, stale
    flags included), to try the tracker's properties without running the detector again. With `video`, the
    metas ride on the sequence's decoded frames (I420, as in the full run), so that the tracker sees the pixels
    (its appearance cue); without, on blank GRAY8 frames."""
    import gi
    gi.require_version("Gst", "1.0")
    gi.require_version("GstVideo", "1.0")
    from gi.repository import Gst, GstVideo
    Gst.init(None)
    frames = None
    if video:
        decoder = Gst.parse_launch(f"filesrc location={video} ! decodebin ! videoconvert ! "
                                   "video/x-raw,format=I420 ! appsink name=sink sync=false")
        sink = decoder.get_by_name("sink")
        decoder.set_state(Gst.State.PLAYING)
        frames, caps = [], None
        while True:
            sample = sink.emit("pull-sample")
            if sample is None:
                break
            caps = caps or sample.get_caps().to_string()
            frames.append(sample.get_buffer().extract_dup(0, sample.get_buffer().get_size()))
        decoder.set_state(Gst.State.NULL)
        src_caps = caps
    else:
        src_caps = f"video/x-raw,format=GRAY8,width={width},height={height},framerate=15/1"
    pipeline = Gst.parse_launch(
        f"appsrc name=src format=time caps=\"{src_caps}\" ! "
        f"retinanettrack {properties} ! retinanetjson location={tracked_path} ! fakesink")
    src = pipeline.get_by_name("src")
    pipeline.set_state(Gst.State.PLAYING)
    lines = read_lines(raw_path)
    if frames is not None and len(frames) != len(lines):
        sys.exit(f"evaluate_tracking: {video}: {len(frames)} frames, {len(lines)} lines of detections")
    for i, line in enumerate(lines):
        buf = Gst.Buffer.new_wrapped(frames[i]) if frames is not None else \
            Gst.Buffer.new_allocate(None, width * height, None)
        buf.pts, buf.duration = i * Gst.SECOND // 15, Gst.SECOND // 15
        for k, d in enumerate(line["detections"]):
            x1, y1, x2, y2 = d["box"]
            ix1, iy1 = max(0, int(math.floor(x1))), max(0, int(math.floor(y1)))
            ix2, iy2 = min(width, int(math.ceil(x2))), min(height, int(math.ceil(y2)))
            meta = GstVideo.buffer_add_video_region_of_interest_meta(buf, d["name"], ix1, iy1, ix2 - ix1,
                                                                     iy2 - iy1)
            meta.id = k
            s = Gst.Structure.new_empty("detection")
            for key, value in (("label_id", d["label"]), ("label", d["name"]), ("confidence", float(d["score"])),
                               ("x_min", x1 / width), ("y_min", y1 / height), ("x_max", x2 / width),
                               ("y_max", y2 / height), ("stale", bool(line["stale"]))):
                s.set_value(key, value)
            meta.add_param(s)
        push(Gst, src, buf, "replay")
    finish(Gst, pipeline, src, "replay")


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def iou(a, b):
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def tracker_hypotheses(lines):
    return [[(d["object_id"], d["box"]) for d in line["detections"] if d.get("object_id") is not None]
            for line in lines]


def greedy_baseline(lines):
    """The plain IoU matcher: each inferred frame's detections take the ids of the previous inferred frame's,
    greedily by IoU (>= BASELINE_IOU); carried frames repeat their inferred frame's boxes and ids."""
    out, previous, next_id = [], [], 1
    for line in lines:
        boxes = [d["box"] for d in line["detections"]]
        if line.get("stale") and previous and len(previous) == len(boxes):
            out.append([(oid, box) for (oid, _), box in zip(previous, boxes)])
            continue
        pairs = sorted(((iou(p[1], b), pi, bi) for pi, p in enumerate(previous) for bi, b in enumerate(boxes)),
                       reverse=True)
        ids, used = [None] * len(boxes), set()
        for v, pi, bi in pairs:
            if v < BASELINE_IOU:
                break
            if pi in used or ids[bi] is not None:
                continue
            used.add(pi)
            ids[bi] = previous[pi][0]
        for bi in range(len(boxes)):
            if ids[bi] is None:
                ids[bi] = next_id
                next_id += 1
        previous = list(zip(ids, boxes))
        out.append(previous)
    return out


# --- scoring (in the motmetrics virtualenv) ------------------------------------------------------------------

def ensure_venv():
    python = os.path.join(VENV, "bin", "python")
    if os.path.exists(python) and subprocess.run([python, "-c", "import motmetrics"],
                                                 capture_output=True).returncode == 0:
        return python
    print(f"evaluate_tracking: installing py-motmetrics into {VENV}", file=sys.stderr)
    subprocess.run(["/usr/bin/python3", "-m", "venv", VENV], check=True)
    subprocess.run([python, "-m", "pip", "install", "-q"] + MOTMETRICS_REQUIREMENTS, check=True)
    return python


def score(runs_path, per_seed):
    import motmetrics as mm
    import numpy as np

    with open(runs_path) as f:
        runs = json.load(f)
    metrics = ["mota", "idf1", "num_switches", "precision", "recall", "num_false_positives", "num_misses",
               "num_objects", "num_frames"]
    mh = mm.metrics.create()
    table = {}
    for run in runs:
        acc = mm.MOTAccumulator(auto_id=True)
        for objects, hyps in zip(run["truth"], run["hypotheses"]):
            scored = [o for o in objects if o["visibility"] >= SCORED_VISIBILITY]
            ignored = [o for o in objects if o["visibility"] < SCORED_VISIBILITY]
            kept = []
            for oid, box in hyps:
                best_ignored = max((iou(box, o["box"]) for o in ignored), default=0)
                best_scored = max((iou(box, o["box"]) for o in scored), default=0)
                if best_ignored >= 0.5 and best_ignored > best_scored:
                    continue
                kept.append((oid, box))
            xywh = lambda b: [b[0], b[1], b[2] - b[0], b[3] - b[1]]  # noqa: E731
            dist = mm.distances.iou_matrix(np.array([xywh(o["box"]) for o in scored]).reshape(-1, 4),
                                           np.array([xywh(b) for _, b in kept]).reshape(-1, 4), max_iou=0.5)
            acc.update([o["id"] for o in scored], [oid for oid, _ in kept], dist)
        table.setdefault((run["interval"], run["method"]), []).append((f"seed {run['seed']}", acc))
    print(f"{'interval':>8} {'method':<14} {'MOTA':>7} {'IDF1':>7} {'id sw':>6} {'prec':>6} {'recall':>6} "
          f"{'FP':>6} {'miss':>6} {'objects':>8}")
    for (interval, method), accs in sorted(table.items()):
        summary = mh.compute_many([a for _, a in accs], metrics=metrics, names=[n for n, _ in accs],
                                  generate_overall=True)
        rows = summary.index if per_seed else ["OVERALL"]
        for name in rows:
            r = summary.loc[name]
            label = method if name == "OVERALL" else f"  {name}"
            print(f"{interval:>8} {label:<14} {r['mota']:>7.3f} {r['idf1']:>7.3f} {int(r['num_switches']):>6} "
                  f"{r['precision']:>6.3f} {r['recall']:>6.3f} {int(r['num_false_positives']):>6} "
                  f"{int(r['num_misses']):>6} {int(r['num_objects']):>8}")


def parse_seeds(text):
    seeds = []
    for part in text.split(","):
        if "-" in part:
            a, b = part.split("-")
            seeds.extend(range(int(a), int(b) + 1))
        elif part:
            seeds.append(int(part))
    return seeds


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", default="1000-1009", help="e.g. 1000-1009 or 5,7,9 (default: 1000-1009)")
    parser.add_argument("--intervals", default="1,2,4")
    parser.add_argument("--scene", choices=["entering", "bouncing"], default="entering",
                        help="entering: shapes enter, cross and leave; bouncing: the sample video's 8 bouncing shapes")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--work", help="directory for the videos and JSON lines (default: a temporary one)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--per-seed", action="store_true", help="print every seed's figures too")
    parser.add_argument("--replay", action="store_true",
                        help="with --work of an earlier run: reuse its sequences and detections, run only the "
                             "tracker again (to try --track-properties)")
    parser.add_argument("--blank-frames", action="store_true",
                        help="with --replay: the metas on blank frames instead of the sequence's video (no "
                             "pixels for the tracker's appearance cue; no video needed)")
    parser.add_argument("--track-properties", default="", help='retinanettrack properties, e.g. "min-hits=3"')
    parser.add_argument("--score", help=argparse.SUPPRESS)  # internal: score a runs file (in the virtualenv)
    args = parser.parse_args()
    if args.score:
        score(args.score, args.per_seed)
        return

    if args.replay and not args.work:
        sys.exit("evaluate_tracking: --replay needs the --work directory of an earlier run")
    os.environ["GST_PLUGIN_PATH"] = os.path.join(args.build, "gst")
    python = ensure_venv()
    work = args.work or tempfile.mkdtemp(prefix="evaluate_tracking.")
    os.makedirs(work, exist_ok=True)
    runs = []
    for seed in parse_seeds(args.seeds):
        video = os.path.join(work, f"seq{seed}.mp4")
        truth_path = os.path.join(work, f"seq{seed}.truth.json")
        if args.replay:
            with open(truth_path) as f:
                truth = json.load(f)
            if not args.blank_frames and not os.path.exists(video):
                # An earlier run that kept no videos: the seed makes the same sequence again (the truth says so).
                remade = make_sequence(seed, video, args.seconds, args.scene)
                if json.loads(json.dumps(remade)) != truth:
                    sys.exit(f"evaluate_tracking: seed {seed}: the remade sequence is not the recorded one "
                             "(another --scene or --seconds?)")
        else:
            truth = make_sequence(seed, video, args.seconds, args.scene)
            with open(truth_path, "w") as f:
                json.dump(truth, f)
        for interval in [int(i) for i in args.intervals.split(",")]:
            raw = os.path.join(work, f"seq{seed}.i{interval}.raw.jsonl")
            tracked = os.path.join(work, f"seq{seed}.i{interval}.tracked.jsonl")
            if args.replay:
                tracked = os.path.join(work, f"seq{seed}.i{interval}.replayed.jsonl")
                replay_tracker(raw, tracked, args.track_properties, None if args.blank_frames else video)
            else:
                run_pipeline(args.build, video, interval, raw, tracked, args.track_properties)
            raw_lines, tracked_lines = read_lines(raw), read_lines(tracked)
            if len(raw_lines) != len(truth) or len(tracked_lines) != len(truth):
                sys.exit(f"evaluate_tracking: seed {seed}: {len(truth)} frames made, "
                         f"{len(raw_lines)}/{len(tracked_lines)} came out of the pipeline")
            for method, hyps in (("retinanettrack", tracker_hypotheses(tracked_lines)),
                                 ("greedy IoU", greedy_baseline(raw_lines))):
                runs.append({"seed": seed, "interval": interval, "method": method, "truth": truth,
                             "hypotheses": hyps})
        print(f"evaluate_tracking: seed {seed} done", file=sys.stderr)
    runs_path = os.path.join(work, "runs.json")
    with open(runs_path, "w") as f:
        json.dump(runs, f)
    subprocess.run([python, os.path.abspath(__file__), "--score", runs_path] +
                   (["--per-seed"] if args.per_seed else []), check=True)
    if not args.keep and not args.work:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()

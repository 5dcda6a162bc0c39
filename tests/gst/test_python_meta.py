#!/usr/bin/python3
"""pipelines/retinanet_meta.py on buffers made here: retinanetdetect's metas (a `detection` structure, stale ones
with their age), a tracker's object ids, and another producer's metas without a `detection` structure."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "pipelines"))
import retinanet_meta  # noqa: E402
from retinanet_meta import Gst, GstVideo  # noqa: E402

failures = []


def check(condition, what):
    if not condition:
        failures.append(what)
        print(f"FAIL {what}")


def detection_structure(label_id, label, score, box, width, height, stale=False, age=0, inferred_pts=None):
    s = Gst.Structure.new_empty("detection")
    s.set_value("label_id", label_id)
    s.set_value("label", label)
    s.set_value("confidence", score)
    for name, value, size in zip(("x_min", "y_min", "x_max", "y_max"), box, (width, height, width, height)):
        s.set_value(name, value / size)
    s.set_value("stale", stale)
    if stale:
        s.set_value("age", age)
        s.set_value("inferred_pts", inferred_pts)
    return s


def main():
    Gst.init(None)
    width, height = 640, 480
    buffer = Gst.Buffer.new_allocate(None, 16, None)
    buffer.pts = 2 * Gst.SECOND
    # Two of retinanetdetect's (ids 0 and 1), the second tracked; then a foreign one without a structure (id 2).
    for meta_id, (label_id, name, score, box, tracked) in enumerate(
            [(2, "square", 0.91, (10.5, 20.25, 110.5, 120.75), None),
             (1, "circle", 0.4, (300.0, 200.0, 340.0, 260.0), 17)]):
        roi = GstVideo.buffer_add_video_region_of_interest_meta(buffer, name, int(box[0]), int(box[1]),
                                                                 int(box[2] - box[0]), int(box[3] - box[1]))
        roi.id = meta_id
        roi.add_param(detection_structure(label_id, name, score, box, width, height, stale=True, age=3,
                                          inferred_pts=Gst.SECOND))
        if tracked is not None:
            t = Gst.Structure.new_empty("object_id")
            t.set_value("id", tracked)
            t.set_value("predicted", True)
            roi.add_param(t)
    foreign = GstVideo.buffer_add_video_region_of_interest_meta(buffer, "face", 5, 6, 7, 8)
    foreign.id = 2

    found = retinanet_meta.frame_detections(buffer, width, height)
    check(len(found) == 3, f"three detections, got {found}")
    if len(found) == 3:
        check(found[0] == {"label": 2, "name": "square", "score": 0.91, "box": [10.5, 20.25, 110.5, 120.75]},
              f"retinanetdetect's detection as the JSON object: {found[0]}")
        check(found[1].get("object_id") == 17 and found[1]["name"] == "circle", f"tracked: {found[1]}")
        check(found[1].get("predicted") is True, f"the tracker's prediction says so: {found[1]}")
        check("object_id" not in found[0] and "predicted" not in found[0], "no id where no tracker gave one")
        check(found[2] == {"label": None, "name": "face", "score": None, "box": [5.0, 6.0, 12.0, 14.0]},
              f"a foreign meta: {found[2]}")
    check(retinanet_meta.frame_provenance(buffer) == (True, 3, Gst.SECOND), "stale, 3 frames back, from 1 s")
    record = retinanet_meta.frame_record(buffer, 7, width, height, "cam1")
    check(record["frame"] == 7 and record["pts"] == 2 * Gst.SECOND and record["timestamp"] == 2.0,
          f"frame fields: {record}")
    check(record["stale"] is True and record["source"] == "cam1" and len(record["detections"]) == 3,
          f"record: {record}")
    empty = Gst.Buffer.new_allocate(None, 16, None)
    check(retinanet_meta.frame_detections(empty, width, height) == [], "a buffer without metas has none")
    check(retinanet_meta.frame_record(empty, 0, width, height, "x")["pts"] is None, "no pts: null")
    check(retinanet_meta.frame_provenance(empty) == (False, 0, None), "fresh when nothing is carried")
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

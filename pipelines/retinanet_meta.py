"""Reading a buffer's detections in Python: the GstVideoRegionOfInterestMeta that retinanetdetect attaches (and
retinanettrack extends), as plain dicts in the project's JSON schema (DESIGN.md, "JSON lines").

    import retinanet_meta

    def on_buffer(pad, info):
        width, height = retinanet_meta.frame_size(pad)
        for d in retinanet_meta.frame_detections(info.get_buffer(), width, height):
            print(d["name"], d["score"], d["box"], d.get("object_id"))
        return Gst.PadProbeReturn.OK

    detector.get_static_pad("src").add_probe(Gst.PadProbeType.BUFFER, on_buffer)

A detection is {"label": 3, "name": "square", "score": 0.97, "box": [x1, y1, x2, y2]} (frame pixels), plus
"object_id" when a tracker gave it one (and "predicted": true on the tracker's predicted boxes); frame_record()
gives the whole per-frame object that retinanetjson writes, number for number. A meta of another producer, without retinanetdetect's `detection` structure (or one that
videoscale's meta transform stripped), has a null label and score and its integer box.

Needs python3-gi and python3-gst-1.0 (Debian). PyGObject cannot iterate a buffer's metas, so this reads them by
id: retinanetdetect numbers its metas 0, 1, 2, ... on each frame.
"""
import struct

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstVideo", "1.0")
from gi.repository import GLib, Gst, GstVideo  # noqa: E402


def _float32(value):
    """value as a C float: the C++ writers hold scores and boxes as floats (retinanet::Detection)."""
    return struct.unpack("f", struct.pack("f", value))[0]


def frame_size(pad):
    """(width, height) of the video caps on `pad`, (0, 0) before caps."""
    caps = pad.get_current_caps()
    if not caps or caps.get_size() == 0:
        return 0, 0
    s = caps.get_structure(0)
    return s.get_value("width") or 0, s.get_value("height") or 0


def regions(buffer):
    """The buffer's region-of-interest metas, in the order they were attached (by id)."""
    found = []
    # The API type is looked up here, not at import: Gst.init() may come after the import.
    api = GstVideo.VideoRegionOfInterestMeta.get_info().api
    for meta_id in range(buffer.get_n_meta(api)):
        roi = GstVideo.buffer_get_video_region_of_interest_meta_id(buffer, meta_id)
        if roi is not None:
            found.append(roi)
    return found


def _detection(roi, width, height):
    detection = roi.get_param("detection")
    item = {}
    if detection is not None and detection.has_field("x_min"):
        corners = [detection.get_value("x_min") * width, detection.get_value("y_min") * height,
                   detection.get_value("x_max") * width, detection.get_value("y_max") * height]
        item["label"] = detection.get_value("label_id")
        item["name"] = detection.get_value("label") or GLib.quark_to_string(roi.roi_type)
        item["score"] = round(_float32(detection.get_value("confidence")), 6)
        item["box"] = [round(_float32(c), 4) for c in corners]
        stale = bool(detection.get_value("stale")) if detection.has_field("stale") else False
    else:
        item["label"] = None
        item["name"] = GLib.quark_to_string(roi.roi_type)
        item["score"] = None
        item["box"] = [float(roi.x), float(roi.y), float(roi.x + roi.w), float(roi.y + roi.h)]
        stale = False
    tracked = roi.get_param("object_id")
    if tracked is not None and tracked.has_field("id"):
        item["object_id"] = tracked.get_value("id")
        if tracked.has_field("predicted") and tracked.get_value("predicted"):
            item["predicted"] = True
    return item, stale


def frame_detections(buffer, width, height):
    """The buffer's detections as the JSON writers' objects, boxes in the pixels of a width x height frame."""
    return [_detection(roi, width, height)[0] for roi in regions(buffer)]


def frame_provenance(buffer):
    """Whether the buffer's detections were carried from an earlier frame, how many frames back, and that frame's
    pts (None when unknown): (stale, age, inferred_pts)."""
    for roi in regions(buffer):
        detection = roi.get_param("detection")
        if detection is not None and detection.has_field("stale") and detection.get_value("stale"):
            age = detection.get_value("age") if detection.has_field("age") else 1
            pts = detection.get_value("inferred_pts") if detection.has_field("inferred_pts") else None
            return True, age, (None if pts in (None, Gst.CLOCK_TIME_NONE) else pts)
    return False, 0, None


def frame_record(buffer, frame, width, height, source):
    """The per-frame object retinanetjson writes for `buffer` (gst/frame_json.cpp), the same numbers."""
    found = [_detection(roi, width, height) for roi in regions(buffer)]
    pts = buffer.pts
    timed = pts != Gst.CLOCK_TIME_NONE
    record = {"frame": frame, "pts": pts if timed else None, "timestamp": pts / 1e9 if timed else None,
              "width": width, "height": height, "stale": any(stale for _, stale in found), "source": source,
              "detections": [item for item, _ in found]}
    reason = not_analysed(buffer)
    if reason is not None:
        record.update(stale=False, analysed=False, reason=reason, detections=[])
    return record


def not_analysed(buffer):
    """Why the detector could not look at this frame (a buffer too small for its caps), or None when it did: a frame
    without detections for that reason is "not analysed", not "nothing found"."""
    meta = buffer.get_custom_meta("GstRetinanetAnalysisMeta")
    if meta is None:
        return None
    s = meta.get_structure()
    return s.get_value("reason") or "" if not s.get_value("analysed") else None

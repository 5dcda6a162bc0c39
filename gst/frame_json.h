// One frame's detections as a JSON object, DESIGN.md's schema, written in this one place for retinanetjson and
// the C++ example app (the Python app writes the same keys; tests/gst/test_apps.py compares all three):
//   {"frame": 0, "pts": 0, "timestamp": 0.0, "width": 640, "height": 480, "stale": false, "source": "cam1",
//    "detections": [{"label": 3, "name": "square", "score": 0.97, "box": [x1, y1, x2, y2]}]}
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <string>
#include <nlohmann/json.hpp>

namespace retinanet::gst {

// The region-of-interest metas of `buffer`, a width x height frame, with its pts and its number `frame`.
// Detections are retinanet-detect's objects (model/files/detection_json.h), boxes in frame pixels; a meta without
// a `detection` param (another producer's) has a null label and score; a tracked one (retinanettrack's `object_id`
// param) has "object_id", the object's id. `pts` and `timestamp` (seconds) are null
// when the buffer has no pts; `stale` is true when retinanetdetect carried the detections over. `source` is the
// writer's source id (retinanetjson's and retinanetpublish's `source-id`), which tells cameras apart downstream.
// The schema of the object (and of every published message): schema/frame.schema.json.
nlohmann::json frame_json(GstBuffer* buffer, uint64_t frame, int width, int height, const std::string& source);

}  // namespace retinanet::gst

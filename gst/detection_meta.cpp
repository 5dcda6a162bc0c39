#include "gst/detection_meta.h"

#include <algorithm>
#include <cmath>

namespace retinanet::gst {

GstStructure* detection_structure(const Detection& d, int width, int height, const Provenance& provenance) {
  GstStructure* s = gst_structure_new (kDetectionStructure,
      "label_id", G_TYPE_INT, d.label,
      "label", G_TYPE_STRING, d.name.c_str (),
      "confidence", G_TYPE_DOUBLE, static_cast<double>(d.score),
      "x_min", G_TYPE_DOUBLE, d.x1 / static_cast<double>(width),
      "y_min", G_TYPE_DOUBLE, d.y1 / static_cast<double>(height),
      "x_max", G_TYPE_DOUBLE, d.x2 / static_cast<double>(width),
      "y_max", G_TYPE_DOUBLE, d.y2 / static_cast<double>(height),
      kStaleField, G_TYPE_BOOLEAN, static_cast<gboolean>(provenance.stale),
      NULL);
  if (provenance.stale)
    gst_structure_set (s, kAgeField, G_TYPE_UINT, provenance.age, kInferredPtsField, G_TYPE_UINT64,
        static_cast<guint64>(provenance.inferred_pts), NULL);
  return s;
}

void attach_detections(GstBuffer* buffer, const std::vector<Detection>& detections, int width, int height,
                       const Provenance& provenance) {
  gint id = 0;
  for (const Detection& d : detections) {
    // The integer box covers the float one, clipped to the frame.
    const int x1 = std::clamp(static_cast<int>(std::floor(d.x1)), 0, width);
    const int y1 = std::clamp(static_cast<int>(std::floor(d.y1)), 0, height);
    const int x2 = std::clamp(static_cast<int>(std::ceil(d.x2)), x1, width);
    const int y2 = std::clamp(static_cast<int>(std::ceil(d.y2)), y1, height);
    GstVideoRegionOfInterestMeta* meta = gst_buffer_add_video_region_of_interest_meta (buffer,
        d.name.c_str (), x1, y1, x2 - x1, y2 - y1);
    meta->id = id++;
    gst_video_region_of_interest_meta_add_param (meta, detection_structure (d, width, height, provenance));
  }
}

std::vector<Region> read_regions(GstBuffer* buffer) {
  std::vector<Region> regions;
  gpointer state = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE))) {
    auto* roi = reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta);
    Region r;
    const gchar* type = g_quark_to_string (roi->roi_type);
    r.label = type ? type : "";
    r.x = roi->x;
    r.y = roi->y;
    r.w = roi->w;
    r.h = roi->h;
    const GstStructure* s = gst_video_region_of_interest_meta_get_param (roi, kDetectionStructure);
    if (s) {
      r.has_detection = gst_structure_get_double (s, "x_min", &r.x_min) &&
                        gst_structure_get_double (s, "y_min", &r.y_min) &&
                        gst_structure_get_double (s, "x_max", &r.x_max) &&
                        gst_structure_get_double (s, "y_max", &r.y_max);
      gst_structure_get_int (s, "label_id", &r.label_id);
      gst_structure_get_double (s, "confidence", &r.confidence);
      gboolean stale = FALSE;
      if (gst_structure_get_boolean (s, kStaleField, &stale)) r.stale = stale;
      gst_structure_get_uint (s, kAgeField, &r.age);
      guint64 inferred_pts = GST_CLOCK_TIME_NONE;
      if (gst_structure_get_uint64 (s, kInferredPtsField, &inferred_pts)) r.inferred_pts = inferred_pts;
      if (const gchar* label = gst_structure_get_string (s, "label")) r.label = label;
    }
    if (const GstStructure* o = gst_video_region_of_interest_meta_get_param (roi, kObjectIdStructure)) {
      gst_structure_get_int (o, "id", &r.object_id);
      gboolean predicted = FALSE;
      if (gst_structure_get_boolean (o, kPredictedField, &predicted)) r.predicted = predicted;
      r.stale = r.stale || r.predicted;
    }
    regions.push_back(std::move(r));
  }
  // GStreamer (1.16 and later) iterates metas in the order they were added: here, by decreasing score.
  return regions;
}

std::vector<GstVideoRegionOfInterestMeta*> region_metas(GstBuffer* buffer) {
  std::vector<GstVideoRegionOfInterestMeta*> metas;
  gpointer state = nullptr;
  GstMeta* meta;
  while ((meta = gst_buffer_iterate_meta_filtered (buffer, &state, GST_VIDEO_REGION_OF_INTEREST_META_API_TYPE)))
    metas.push_back(reinterpret_cast<GstVideoRegionOfInterestMeta*>(meta));
  return metas;
}

void set_object_id(GstVideoRegionOfInterestMeta* meta, int id, bool predicted) {
  // The meta's params are a plain list of structures it owns; an earlier tracker's `object_id` goes.
  for (GList* l = meta->params; l;) {
    GList* next = l->next;
    if (gst_structure_has_name (static_cast<GstStructure*>(l->data), kObjectIdStructure)) {
      gst_structure_free (static_cast<GstStructure*>(l->data));
      meta->params = g_list_delete_link (meta->params, l);
    }
    l = next;
  }
  gst_video_region_of_interest_meta_add_param (meta, gst_structure_new (kObjectIdStructure,
      "id", G_TYPE_INT, id, kPredictedField, G_TYPE_BOOLEAN, static_cast<gboolean>(predicted), NULL));
}

Detection to_detection(const Region& r, int width, int height) {
  Detection d;
  d.label = r.label_id;
  d.name = r.label;
  d.score = static_cast<float>(r.confidence);
  if (r.has_detection) {
    d.x1 = static_cast<float>(r.x_min * width);
    d.y1 = static_cast<float>(r.y_min * height);
    d.x2 = static_cast<float>(r.x_max * width);
    d.y2 = static_cast<float>(r.y_max * height);
  } else {
    d.x1 = static_cast<float>(r.x);
    d.y1 = static_cast<float>(r.y);
    d.x2 = static_cast<float>(r.x + r.w);
    d.y2 = static_cast<float>(r.y + r.h);
  }
  return d;
}

namespace {

// Registered once per process; GStreamer keeps the registration. Another copy of this code (the plugin's, in an
// application that links these helpers too) may have registered it first.
const GstMetaInfo* analysis_meta_info() {
  static const GstMetaInfo* info = [] {
    if (const GstMetaInfo* known = gst_meta_get_info (kAnalysisMeta)) return known;
    static const gchar* tags[] = {nullptr};
    return gst_meta_register_custom (kAnalysisMeta, tags, nullptr, nullptr, nullptr);
  }();
  return info;
}

}  // namespace

void mark_not_analysed(GstBuffer* buffer, const std::string& reason) {
  analysis_meta_info ();
  GstCustomMeta* meta = gst_buffer_add_custom_meta (buffer, kAnalysisMeta);
  if (!meta) return;
  GstStructure* s = gst_custom_meta_get_structure (meta);
  gst_structure_set (s, "analysed", G_TYPE_BOOLEAN, FALSE, "reason", G_TYPE_STRING, reason.c_str (), NULL);
}

bool was_analysed(GstBuffer* buffer, std::string* reason) {
  analysis_meta_info ();
  GstCustomMeta* meta = gst_buffer_get_custom_meta (buffer, kAnalysisMeta);
  if (!meta) return true;
  const GstStructure* s = gst_custom_meta_get_structure (meta);
  gboolean analysed = TRUE;
  gst_structure_get_boolean (s, "analysed", &analysed);
  if (!analysed && reason) {
    const gchar* text = gst_structure_get_string (s, "reason");
    *reason = text ? text : "";
  }
  return analysed;
}

}  // namespace retinanet::gst

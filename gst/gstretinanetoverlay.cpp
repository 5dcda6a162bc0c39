/**
 * SECTION:element-retinanetoverlay
 * @title: retinanetoverlay
 * @see_also: retinanetdetect
 *
 * Draws every #GstVideoRegionOfInterestMeta of a buffer onto its frame, in place: the box outline (inside the box)
 * and a banner with "label score" resting on the box's top edge, above the box so that small objects stay
 * visible (inside the box only when the frame has no room above it), one stable colour per class (chosen from the
 * label name, or set per class with #GstRetinanetOverlay:class-colors). Any producer's metas are drawn, not only
 * retinanetdetect's: the label comes from the meta's `detection` structure when it has one, else from its
 * `roi_type`, and the score is shown only when there is one. Nothing is drawn outside the boxes and their banners. A frame without metas is not mapped at all (so a
 * frame that a tee shares is not copied for nothing). I420 and NV12 frames are drawn on their Y and chroma planes
 * directly, without converting the frame to RGB and back.
 *
 * With a tracker upstream (retinanettrack) the caption starts with the object's id ("#7 square 0.87",
 * #GstRetinanetOverlay:show-ids) and #GstRetinanetOverlay:trail-length draws each object's recent path. Boxes
 * that are not this frame's detections (carried over by retinanetdetect's `interval`, or predicted by the tracker)
 * are drawn dashed and half as thick. Captions of neighbouring boxes are placed so that they do not overlap.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 videotestsrc ! video/x-raw,width=640,height=480 ! retinanetdetect model=model.safetensors ! \
 *     retinanetoverlay thickness=3 font-scale=0.6 ! videoconvert ! autovideosink
 * ]| Shows the detections on a test pattern.
 */

#include "gst/gstretinanetoverlay.h"

#include "gst/detection_meta.h"
#include "gst/frame_view.h"
#include "gst/roi_painter.h"

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_overlay_debug);
#define GST_CAT_DEFAULT gst_retinanet_overlay_debug

enum
{
  PROP_0,
  PROP_THICKNESS,
  PROP_FONT_SCALE,
  PROP_SHOW_LABELS,
  PROP_SHOW_CONFIDENCE,
  PROP_SHOW_IDS,
  PROP_TRAIL_LENGTH,
  PROP_CLASS_COLORS,
};

#define DEFAULT_PROP_THICKNESS 2
#define DEFAULT_PROP_FONT_SCALE 0.5
#define DEFAULT_PROP_SHOW_LABELS TRUE
#define DEFAULT_PROP_SHOW_CONFIDENCE TRUE
#define DEFAULT_PROP_SHOW_IDS TRUE
#define DEFAULT_PROP_TRAIL_LENGTH 0
#define DEFAULT_PROP_CLASS_COLORS NULL

struct OverlayState
{
  retinanet::gst::ClassColours colours;  /* from class-colors, under the object lock */
  retinanet::gst::TrailHistory trails;   /* streaming thread only */
};

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (RETINANET_VIDEO_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (RETINANET_VIDEO_CAPS));

static void gst_retinanet_overlay_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_overlay_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_overlay_finalize (GObject * object);
static gboolean gst_retinanet_overlay_stop (GstBaseTransform * trans);
static gboolean gst_retinanet_overlay_sink_event (GstBaseTransform * trans, GstEvent * event);
static gboolean gst_retinanet_overlay_set_info (GstVideoFilter * filter, GstCaps * incaps, GstVideoInfo * in_info,
    GstCaps * outcaps, GstVideoInfo * out_info);
static GstFlowReturn gst_retinanet_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

#define gst_retinanet_overlay_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetOverlay, gst_retinanet_overlay, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (retinanetoverlay, "retinanetoverlay", GST_RANK_NONE, GST_TYPE_RETINANET_OVERLAY);

#define LIVE_PARAM_FLAGS ((GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING))

static void
gst_retinanet_overlay_class_init (GstRetinanetOverlayClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_retinanet_overlay_set_property;
  gobject_class->get_property = gst_retinanet_overlay_get_property;
  gobject_class->finalize = gst_retinanet_overlay_finalize;

  g_object_class_install_property (gobject_class, PROP_THICKNESS,
      g_param_spec_int ("thickness", "Thickness", "Width of the box outlines in pixels, drawn inside the box",
          1, 100, DEFAULT_PROP_THICKNESS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_FONT_SCALE,
      g_param_spec_double ("font-scale", "Font scale",
          "Size of the caption text (OpenCV Hershey font scale; 1.0 is about 22 pixels high)",
          0.1, 10.0, DEFAULT_PROP_FONT_SCALE, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_LABELS,
      g_param_spec_boolean ("show-labels", "Show labels", "Write the label name in each box's caption",
          DEFAULT_PROP_SHOW_LABELS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_CONFIDENCE,
      g_param_spec_boolean ("show-confidence", "Show confidence",
          "Write the confidence in each box's caption (when the meta has one)",
          DEFAULT_PROP_SHOW_CONFIDENCE, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_SHOW_IDS,
      g_param_spec_boolean ("show-ids", "Show ids",
          "Write a tracker's object id (\"#7\") first in each box's caption (when the meta has an object_id param)",
          DEFAULT_PROP_SHOW_IDS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_TRAIL_LENGTH,
      g_param_spec_uint ("trail-length", "Trail length",
          "Draw each tracked object's path over its last N frames as a line through its box centres (0: no trail)",
          0, 1000, DEFAULT_PROP_TRAIL_LENGTH, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_CLASS_COLORS,
      g_param_spec_string ("class-colors", "Class colours",
          "Colours per class, comma-separated class=RRGGBB entries, the class a label name or id "
          "(\"circle=ff0000,square=#00c000,3=0x2040ff\"); other classes keep their palette colour",
          DEFAULT_PROP_CLASS_COLORS, LIVE_PARAM_FLAGS));

  gst_element_class_set_static_metadata (element_class,
      "RetinaNet detection overlay", "Filter/Effect/Video",
      "Draws region-of-interest metadata (from retinanetdetect or any other producer) onto video frames: "
      "box outlines and 'label score' captions, one colour per class",
      "gst-retinanet project");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_retinanet_overlay_set_info);
  /* Our own transform_ip rather than GstVideoFilter's transform_frame_ip: the metas are read before the frame is
   * mapped, and a frame without any is not mapped for writing (which copies a frame shared with a tee). */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_retinanet_overlay_transform_ip);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_retinanet_overlay_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_retinanet_overlay_sink_event);

  GST_DEBUG_CATEGORY_INIT (gst_retinanet_overlay_debug, "retinanetoverlay", 0, "RetinaNet detection overlay");
}

static void
gst_retinanet_overlay_init (GstRetinanetOverlay * self)
{
  self->thickness = DEFAULT_PROP_THICKNESS;
  self->font_scale = DEFAULT_PROP_FONT_SCALE;
  self->show_labels = DEFAULT_PROP_SHOW_LABELS;
  self->show_confidence = DEFAULT_PROP_SHOW_CONFIDENCE;
  self->show_ids = DEFAULT_PROP_SHOW_IDS;
  self->trail_length = DEFAULT_PROP_TRAIL_LENGTH;
  self->class_colors = g_strdup (DEFAULT_PROP_CLASS_COLORS);
  self->state = new OverlayState ();
  self->paint = NULL;
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_retinanet_overlay_finalize (GObject * object)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (object);

  delete self->state;
  self->state = NULL;
  g_free (self->class_colors);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_retinanet_overlay_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THICKNESS:
      self->thickness = g_value_get_int (value);
      break;
    case PROP_FONT_SCALE:
      self->font_scale = g_value_get_double (value);
      break;
    case PROP_SHOW_LABELS:
      self->show_labels = g_value_get_boolean (value);
      break;
    case PROP_SHOW_CONFIDENCE:
      self->show_confidence = g_value_get_boolean (value);
      break;
    case PROP_SHOW_IDS:
      self->show_ids = g_value_get_boolean (value);
      break;
    case PROP_TRAIL_LENGTH:
      self->trail_length = g_value_get_uint (value);
      break;
    case PROP_CLASS_COLORS:{
      const gchar *text = g_value_get_string (value);
      std::string error;
      /* A malformed value is refused with a warning; the colours stay as they were. */
      if (!retinanet::gst::parse_class_colours (text ? text : "", self->state->colours, error)) {
        g_warning ("%s: class-colors: %s", GST_OBJECT_NAME (self), error.c_str ());
        break;
      }
      g_free (self->class_colors);
      self->class_colors = g_strdup (text);
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_retinanet_overlay_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_THICKNESS:
      g_value_set_int (value, self->thickness);
      break;
    case PROP_FONT_SCALE:
      g_value_set_double (value, self->font_scale);
      break;
    case PROP_SHOW_LABELS:
      g_value_set_boolean (value, self->show_labels);
      break;
    case PROP_SHOW_CONFIDENCE:
      g_value_set_boolean (value, self->show_confidence);
      break;
    case PROP_SHOW_IDS:
      g_value_set_boolean (value, self->show_ids);
      break;
    case PROP_TRAIL_LENGTH:
      g_value_set_uint (value, self->trail_length);
      break;
    case PROP_CLASS_COLORS:
      g_value_set_string (value, self->class_colors);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_retinanet_overlay_stop (GstBaseTransform * trans)
{
  GST_RETINANET_OVERLAY (trans)->state->trails.reset ();
  return TRUE;
}

static gboolean
gst_retinanet_overlay_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (trans);

  /* The trails belong to the stream before a flush (the tracker upstream starts its ids again). */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP)
    self->state->trails.reset ();
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static gboolean
gst_retinanet_overlay_set_info (GstVideoFilter * filter, GstCaps * incaps, GstVideoInfo * in_info,
    GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (filter);
  retinanet::gst::PaintFunction paint = retinanet::gst::painter_for (GST_VIDEO_INFO_FORMAT (in_info));

  if (!paint)
    goto unsupported;
  self->paint = reinterpret_cast<gpointer> (paint);
  self->state->trails.reset ();  /* paths in the old frame's pixels */
  return TRUE;

unsupported:
  GST_ERROR_OBJECT (self, "unsupported format %s", gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)));
  return FALSE;
}

static GstFlowReturn
gst_retinanet_overlay_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstRetinanetOverlay *self = GST_RETINANET_OVERLAY (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  retinanet::gst::PaintStyle style;
  guint trail_length;
  GstVideoFrame frame;

  if (G_UNLIKELY (!filter->negotiated))
    goto not_negotiated;

  GST_OBJECT_LOCK (self);
  style.thickness = self->thickness;
  style.font_scale = self->font_scale;
  style.show_labels = self->show_labels;
  style.show_confidence = self->show_confidence;
  style.show_ids = self->show_ids;
  style.colours = self->state->colours;
  trail_length = self->trail_length;
  GST_OBJECT_UNLOCK (self);

  try {
    /* Nothing to draw on (an empty buffer flagged GAP): the frame is not even mapped. */
    if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size (buffer) == 0)
      return GST_FLOW_OK;
    const std::vector<retinanet::gst::Region> regions = retinanet::gst::read_regions (buffer);
    const std::vector<retinanet::gst::Trail> trails = self->state->trails.update (regions, style, trail_length);
    /* Nothing to draw: the frame is not mapped either. */
    if (regions.empty () && trails.empty ())
      return GST_FLOW_OK;
    if (!gst_video_frame_map (&frame, &filter->in_info, buffer,
            (GstMapFlags) (GST_MAP_READWRITE | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)))
      goto invalid_buffer;
    try {
      reinterpret_cast<retinanet::gst::PaintFunction> (self->paint) (&frame, regions, style, trails);
    } catch (...) {
      gst_video_frame_unmap (&frame);
      throw;
    }
    gst_video_frame_unmap (&frame);
  } catch (const std::exception & e) {
    /* Only OpenCV can throw here (out of memory, a broken frame); the stream cannot go on sensibly. */
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not draw the detections on a %dx%d frame.",
            GST_VIDEO_INFO_WIDTH (&filter->in_info), GST_VIDEO_INFO_HEIGHT (&filter->in_info)), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;

not_negotiated:
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("a buffer arrived before the caps"));
  return GST_FLOW_NOT_NEGOTIATED;
invalid_buffer:
  GST_ELEMENT_WARNING (self, CORE, NOT_IMPLEMENTED, (NULL), ("invalid video buffer received"));
  return GST_FLOW_OK;
}

/**
 * SECTION:element-retinanettrack
 * @title: retinanettrack
 * @see_also: retinanetdetect, retinanetoverlay, retinanetjson
 *
 * Tracks the objects that an upstream detector marks with #GstVideoRegionOfInterestMeta (retinanetdetect's, or any
 * other producer's: only the meta's box and roi_type are needed, the `detection` param's score and label are used
 * when present) and gives each a persistent id, in a param structure `object_id` with the int field `id` and the
 * boolean `predicted` on the same meta (DL Streamer's convention). Ids count from 1 and are not reused.
 *
 * Association follows ByteTrack: each track's box is predicted by a constant-velocity Kalman filter, confident
 * detections (#GstRetinanetTrack:high-threshold) are matched to the tracks first by IoU with an optimal
 * assignment, then the low-score ones (down to #GstRetinanetTrack:low-threshold) to the tracks still unmatched,
 * then the rest by the filter's motion gate. A new object gets its id on its #GstRetinanetTrack:min-hits -th
 * detection, or on its first when that scores #GstRetinanetTrack:confirm-threshold or more and overlaps no
 * other track; a track that no detection continues is dropped after #GstRetinanetTrack:max-age frames. A class
 * change does not change the id, unless #GstRetinanetTrack:per-class restricts each track to its class. A
 * confirmed track that the detector misses on up to #GstRetinanetTrack:coast-misses inferred frames in a row
 * (none by default) is still shown, at its predicted box, marked predicted; a predicted box mostly outside the
 * frame (an object leaving) is not shown. Detections that overlap a more confident one at IoU 0.5 or more,
 * whatever their classes (one object reported as two classes by a detector with per-class NMS), take no track.
 *
 * With #GstRetinanetTrack:appearance (the default) each detection's box also gets a colour descriptor, a joint
 * RGB histogram of at most 16x16 pixels in the middle of the box, read from the frame (any of the detector's
 * eight formats in system memory; other frames are tracked without it). A track keeps a moving average of the
 * descriptors of its detections that overlap no other detection, and a detection further from it than
 * #GstRetinanetTrack:appearance-threshold (halfway from there to 1 for a detection that overlaps another) is
 * not matched to it: where one object hides another, the track of the hidden one does not move on to the one in
 * front, and two tracks do not swap their objects as these separate.
 *
 * On frames without fresh detections (retinanetdetect's `interval` or `mode=async` frames, whose carried metas
 * are marked stale, or frames without metas from a producer that infers every Nth frame) the carried metas are
 * replaced by the tracks' predicted boxes, which move with the objects, marked `predicted` (and `stale` in their
 * `detection` param). Tracks are counted in frames, the dropped ones included: a gap in the timestamps (a leaky
 * queue before a slow detector, a camera that skips frames), measured against the median gap of the last frames,
 * moves the tracks on by the time that passed. New caps and flushes reset the tracks; the pixels are never
 * touched.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! retinanetdetect interval=4 ! \
 *     retinanettrack ! retinanetoverlay ! videoconvert ! autovideosink
 * ]| Infers every 4th frame; ids stay on the objects and the boxes follow them in between.
 */

#include "gst/gstretinanettrack.h"

#include "gst/frame_view.h"
#include "gst/region_tracker.h"

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_track_debug);
#define GST_CAT_DEFAULT gst_retinanet_track_debug

enum
{
  PROP_0,
  PROP_HIGH_THRESHOLD,
  PROP_LOW_THRESHOLD,
  PROP_NEW_TRACK_THRESHOLD,
  PROP_IOU_THRESHOLD,
  PROP_MIN_HITS,
  PROP_CONFIRM_THRESHOLD,
  PROP_PER_CLASS,
  PROP_MAX_AGE,
  PROP_COAST_MISSES,
  PROP_APPEARANCE,
  PROP_APPEARANCE_THRESHOLD,
};

/* ByteTrack's defaults (track_thresh 0.5, det_thresh 0.6, match_thresh 0.8 as a distance, i.e. IoU 0.2). */
#define DEFAULT_PROP_HIGH_THRESHOLD 0.5
#define DEFAULT_PROP_LOW_THRESHOLD 0.1
#define DEFAULT_PROP_NEW_TRACK_THRESHOLD 0.6
#define DEFAULT_PROP_IOU_THRESHOLD 0.2
#define DEFAULT_PROP_MIN_HITS 2
#define DEFAULT_PROP_CONFIRM_THRESHOLD 0.7
#define DEFAULT_PROP_PER_CLASS FALSE
#define DEFAULT_PROP_MAX_AGE 30
#define DEFAULT_PROP_COAST_MISSES 0
#define DEFAULT_PROP_APPEARANCE TRUE
#define DEFAULT_PROP_APPEARANCE_THRESHOLD 0.5

/* Any raw video, in any memory: only metadata and the caps' size are used. */
#define TRACK_CAPS "video/x-raw(ANY)"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (TRACK_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (TRACK_CAPS));

struct RegionTrackerBox
{
  retinanet::gst::RegionTracker tracker;
};

static void gst_retinanet_track_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_track_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_track_finalize (GObject * object);
static gboolean gst_retinanet_track_start (GstBaseTransform * trans);
static gboolean gst_retinanet_track_stop (GstBaseTransform * trans);
static gboolean gst_retinanet_track_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_retinanet_track_sink_event (GstBaseTransform * trans, GstEvent * event);
static GstFlowReturn gst_retinanet_track_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

#define gst_retinanet_track_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetTrack, gst_retinanet_track, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (retinanettrack, "retinanettrack", GST_RANK_NONE, GST_TYPE_RETINANET_TRACK);

#define LIVE_PARAM_FLAGS ((GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING))

static void
gst_retinanet_track_class_init (GstRetinanetTrackClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_retinanet_track_set_property;
  gobject_class->get_property = gst_retinanet_track_get_property;
  gobject_class->finalize = gst_retinanet_track_finalize;

  g_object_class_install_property (gobject_class, PROP_HIGH_THRESHOLD,
      g_param_spec_double ("high-threshold", "High threshold",
          "Detections at least this confident are associated first and may start tracks (a meta without a "
          "score counts as confident). Changeable while playing", 0.0, 1.0, DEFAULT_PROP_HIGH_THRESHOLD,
          LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_LOW_THRESHOLD,
      g_param_spec_double ("low-threshold", "Low threshold",
          "Detections between this and high-threshold only continue tracks already matched on the last frame "
          "with detections; less confident ones are ignored. Changeable while playing", 0.0, 1.0,
          DEFAULT_PROP_LOW_THRESHOLD, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_NEW_TRACK_THRESHOLD,
      g_param_spec_double ("new-track-threshold", "New track threshold",
          "An unmatched detection at least this confident (and at least high-threshold) starts a new track. "
          "Changeable while playing", 0.0, 1.0, DEFAULT_PROP_NEW_TRACK_THRESHOLD, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_IOU_THRESHOLD,
      g_param_spec_double ("iou-threshold", "IoU threshold",
          "Least intersection over union between a track's predicted box and a confident detection for them to "
          "be matched by overlap. Changeable while playing", 0.0, 1.0, DEFAULT_PROP_IOU_THRESHOLD,
          LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MIN_HITS,
      g_param_spec_uint ("min-hits", "Minimum hits",
          "Detections a new track needs before it is confirmed and given an id (1: at once; tracks on the first "
          "frame are confirmed at once). Changeable while playing", 1, G_MAXINT, DEFAULT_PROP_MIN_HITS,
          LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_CONFIRM_THRESHOLD,
      g_param_spec_double ("confirm-threshold", "Confirm threshold",
          "A new object whose first detection scores at least this and overlaps no other track gets its id at "
          "once instead of on its min-hits-th detection (until then a miss drops it; metas without a score "
          "never qualify; 1: never). Changeable while playing", 0.0, 1.0, DEFAULT_PROP_CONFIRM_THRESHOLD,
          LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_PER_CLASS,
      g_param_spec_boolean ("per-class", "Per class",
          "Match detections only to tracks of their own class (for a detector that never confuses its classes: "
          "objects of different classes that meet cannot swap ids); off: a class change keeps the id. "
          "Changeable while playing", DEFAULT_PROP_PER_CLASS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MAX_AGE,
      g_param_spec_uint ("max-age", "Maximum age",
          "Frames a track survives without a detection (hidden, missed, or between inferences: keep it above the "
          "detector's interval) before it is dropped. Changeable while playing", 1, G_MAXINT,
          DEFAULT_PROP_MAX_AGE, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_COAST_MISSES,
      g_param_spec_uint ("coast-misses", "Coast misses",
          "Inferred frames in a row a confirmed track may miss and still be shown at its predicted box (marked "
          "predicted): bridges a detector's flicker without boxes lingering (0: only detected objects are "
          "shown). Changeable while playing", 0, G_MAXINT, DEFAULT_PROP_COAST_MISSES, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_APPEARANCE,
      g_param_spec_boolean ("appearance", "Appearance",
          "Use the colours of each detection's box as a cue (a histogram of the middle of the box, read from "
          "frames of the detector's formats in system memory): a detection that does not look like a track is "
          "not matched to it, so that where one object covers another their ids stay apart. Off: IoU and motion "
          "only. Changeable while playing", DEFAULT_PROP_APPEARANCE, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_APPEARANCE_THRESHOLD,
      g_param_spec_double ("appearance-threshold", "Appearance threshold",
          "Largest colour distance (Hellinger distance of the histograms, 0: the same colours, 1: none in "
          "common) at which a detection may still continue a track (1: no gate). Changeable while playing",
          0.0, 1.0, DEFAULT_PROP_APPEARANCE_THRESHOLD, LIVE_PARAM_FLAGS));

  gst_element_class_set_static_metadata (element_class,
      "RetinaNet object tracker", "Filter/Analyzer/Video",
      "Gives the region-of-interest metas of any producer persistent object ids (ByteTrack association over "
      "Kalman-predicted boxes) and moves the boxes with the objects on frames without fresh detections",
      "gst-retinanet project");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_retinanet_track_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_retinanet_track_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_retinanet_track_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_retinanet_track_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_retinanet_track_transform_ip);

  GST_DEBUG_CATEGORY_INIT (gst_retinanet_track_debug, "retinanettrack", 0, "RetinaNet object tracker");
}

static void
gst_retinanet_track_init (GstRetinanetTrack * self)
{
  self->high_threshold = DEFAULT_PROP_HIGH_THRESHOLD;
  self->low_threshold = DEFAULT_PROP_LOW_THRESHOLD;
  self->new_track_threshold = DEFAULT_PROP_NEW_TRACK_THRESHOLD;
  self->iou_threshold = DEFAULT_PROP_IOU_THRESHOLD;
  self->min_hits = DEFAULT_PROP_MIN_HITS;
  self->confirm_threshold = DEFAULT_PROP_CONFIRM_THRESHOLD;
  self->per_class = DEFAULT_PROP_PER_CLASS;
  self->max_age = DEFAULT_PROP_MAX_AGE;
  self->coast_misses = DEFAULT_PROP_COAST_MISSES;
  self->appearance = DEFAULT_PROP_APPEARANCE;
  self->appearance_threshold = DEFAULT_PROP_APPEARANCE_THRESHOLD;
  gst_video_info_init (&self->info);
  self->caps = NULL;
  self->impl = NULL;
  /* The metas change, the pixels never: in place, and a shared buffer is made writable (its memory is not
   * copied). */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_retinanet_track_finalize (GObject * object)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (object);

  delete self->impl;
  self->impl = NULL;
  gst_caps_replace (&self->caps, NULL);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_retinanet_track_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_HIGH_THRESHOLD:
      self->high_threshold = g_value_get_double (value);
      break;
    case PROP_LOW_THRESHOLD:
      self->low_threshold = g_value_get_double (value);
      break;
    case PROP_NEW_TRACK_THRESHOLD:
      self->new_track_threshold = g_value_get_double (value);
      break;
    case PROP_IOU_THRESHOLD:
      self->iou_threshold = g_value_get_double (value);
      break;
    case PROP_MIN_HITS:
      self->min_hits = g_value_get_uint (value);
      break;
    case PROP_CONFIRM_THRESHOLD:
      self->confirm_threshold = g_value_get_double (value);
      break;
    case PROP_PER_CLASS:
      self->per_class = g_value_get_boolean (value);
      break;
    case PROP_MAX_AGE:
      self->max_age = g_value_get_uint (value);
      break;
    case PROP_COAST_MISSES:
      self->coast_misses = g_value_get_uint (value);
      break;
    case PROP_APPEARANCE:
      self->appearance = g_value_get_boolean (value);
      break;
    case PROP_APPEARANCE_THRESHOLD:
      self->appearance_threshold = g_value_get_double (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_retinanet_track_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_HIGH_THRESHOLD:
      g_value_set_double (value, self->high_threshold);
      break;
    case PROP_LOW_THRESHOLD:
      g_value_set_double (value, self->low_threshold);
      break;
    case PROP_NEW_TRACK_THRESHOLD:
      g_value_set_double (value, self->new_track_threshold);
      break;
    case PROP_IOU_THRESHOLD:
      g_value_set_double (value, self->iou_threshold);
      break;
    case PROP_MIN_HITS:
      g_value_set_uint (value, self->min_hits);
      break;
    case PROP_CONFIRM_THRESHOLD:
      g_value_set_double (value, self->confirm_threshold);
      break;
    case PROP_PER_CLASS:
      g_value_set_boolean (value, self->per_class);
      break;
    case PROP_MAX_AGE:
      g_value_set_uint (value, self->max_age);
      break;
    case PROP_COAST_MISSES:
      g_value_set_uint (value, self->coast_misses);
      break;
    case PROP_APPEARANCE:
      g_value_set_boolean (value, self->appearance);
      break;
    case PROP_APPEARANCE_THRESHOLD:
      g_value_set_double (value, self->appearance_threshold);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_retinanet_track_start (GstBaseTransform * trans)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (trans);

  delete self->impl;
  self->impl = new RegionTrackerBox ();
  gst_video_info_init (&self->info);
  gst_caps_replace (&self->caps, NULL);
  return TRUE;
}

static gboolean
gst_retinanet_track_stop (GstBaseTransform * trans)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (trans);

  delete self->impl;
  self->impl = NULL;
  gst_caps_replace (&self->caps, NULL);
  return TRUE;
}

static gboolean
gst_retinanet_track_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (trans);

  if (!gst_video_info_from_caps (&self->info, incaps))
    goto invalid_caps;
  /* Tracks are in the old caps' pixels and time: other caps start again. */
  if (self->impl && self->caps && !gst_caps_is_equal (self->caps, incaps)) {
    GST_DEBUG_OBJECT (self, "new caps %" GST_PTR_FORMAT ": tracks reset", incaps);
    self->impl->tracker.reset ();
  }
  gst_caps_replace (&self->caps, incaps);
  return TRUE;

invalid_caps:
  GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
  return FALSE;
}

static gboolean
gst_retinanet_track_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (trans);

  /* A flush jumps to another place in the stream: the tracks belong to the old one. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_FLUSH_STOP && self->impl)
    self->impl->tracker.reset ();
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static GstFlowReturn
gst_retinanet_track_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstRetinanetTrack *self = GST_RETINANET_TRACK (trans);
  retinanet::tracking::TrackerSettings settings;
  gboolean appearance, mapped = FALSE;
  GstVideoFrame frame;
  retinanet::PixelFormat format;
  retinanet::ImageView pixels;

  if (G_UNLIKELY (!self->impl || GST_VIDEO_INFO_WIDTH (&self->info) == 0))
    goto not_negotiated;
  /* An empty GAP buffer holds no frame: nothing was seen (the next frame's timestamp moves the tracks on). */
  if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size (buffer) == 0)
    return GST_FLOW_OK;

  GST_OBJECT_LOCK (self);
  settings.high_threshold = static_cast<float> (self->high_threshold);
  settings.low_threshold = static_cast<float> (self->low_threshold);
  settings.new_track_threshold = static_cast<float> (self->new_track_threshold);
  settings.iou_threshold = static_cast<float> (self->iou_threshold);
  settings.min_hits = self->min_hits;
  settings.confirm_threshold = static_cast<float> (self->confirm_threshold);
  settings.per_class = self->per_class;
  settings.max_age = self->max_age;
  settings.coast_misses = self->coast_misses;
  settings.appearance_threshold = static_cast<float> (self->appearance_threshold);
  appearance = self->appearance;
  GST_OBJECT_UNLOCK (self);

  /* The appearance cue reads the pixels of the detector's formats (mapped without a ref: the metas change
   * while it is mapped, which needs the buffer writable); other formats, or memory that cannot be
   * mapped, are tracked without it. */
  if (appearance && retinanet::gst::pixel_format_for (GST_VIDEO_INFO_FORMAT (&self->info), format) &&
      gst_video_frame_map (&frame, &self->info, buffer,
          (GstMapFlags) (GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF))) {
    mapped = TRUE;
    pixels = retinanet::gst::image_view (frame, format);
  }
  try {
    self->impl->tracker.process (buffer, GST_VIDEO_INFO_WIDTH (&self->info), GST_VIDEO_INFO_HEIGHT (&self->info),
        settings, mapped ? &pixels : NULL);
  } catch (const std::exception & e) {
    if (mapped)
      gst_video_frame_unmap (&frame);
    /* Only OpenCV can throw here (out of memory): the stream cannot go on sensibly. */
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not track the objects of a frame."), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  if (mapped)
    gst_video_frame_unmap (&frame);
  return GST_FLOW_OK;

not_negotiated:
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("a buffer arrived before the caps"));
  return GST_FLOW_NOT_NEGOTIATED;
}

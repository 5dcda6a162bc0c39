/**
 * SECTION:element-retinanetdetect
 * @title: retinanetdetect
 * @see_also: retinanetoverlay, retinanetjson
 *
 * Detects objects with a RetinaNet (torchvision's architecture, run by LibTorch) in raw video frames and attaches
 * one #GstVideoRegionOfInterestMeta per detected object to the buffer, the metadata DL Streamer and GStreamer's
 * own analytics elements use: `roi_type` is the label name, `x`, `y`, `w`, `h` the box in frame pixels, clipped
 * to the frame, and a param structure named `detection` carries `label_id` (int), `label` (string), `confidence`
 * (double), `x_min`, `y_min`, `x_max`, `y_max` (double, 0..1 of the frame) and `stale` (boolean, TRUE on frames
 * that carry the detections of an earlier frame, see #GstRetinanetDetect:interval). Pixels are not changed.
 *
 * The model is a `.safetensors` file (see model/files/export_torchvision.py); it is loaded once, when the element
 * starts. Without #GstRetinanetDetect:model the project's embedded default model is used. Thresholds and sizes
 * default to the model file's own settings. A model that cannot be loaded, or a device that is not there, stops
 * the pipeline with an error naming the file and the reason.
 *
 * #GstRetinanetDetect:model, #GstRetinanetDetect:device, #GstRetinanetDetect:half (float16 on a GPU),
 * #GstRetinanetDetect:threads (LibTorch's intra-op threads), #GstRetinanetDetect:min-size,
 * #GstRetinanetDetect:max-size and #GstRetinanetDetect:labels-file shape the loaded model and can only be set in
 * the NULL and READY states (a change later is refused with a warning). The thresholds (also
 * #GstRetinanetDetect:class-thresholds), #GstRetinanetDetect:agnostic-nms, #GstRetinanetDetect:max-detections,
 * #GstRetinanetDetect:classes, #GstRetinanetDetect:interval and #GstRetinanetDetect:post-messages can be changed
 * while PLAYING: a change applies from the next frame (thresholds, agnostic-nms and max-detections from the next
 * inferred frame, see #GstRetinanetDetect:interval).
 *
 * Per class: `class-thresholds="person=0.6,car=0.4"` keeps a person only above 0.6 and a car above 0.4, the
 * other classes at #GstRetinanetDetect:score-threshold (the candidates are selected at the lowest of these
 * thresholds, then each class's are filtered by its own before NMS). `agnostic-nms=true` runs the non-maximum
 * suppression over all classes at once (torchvision.ops.nms), so that one object does not come out as both
 * "square 0.96" and "triangle 0.42". The read-only #GstRetinanetDetect:labels lists the model's label names
 * once it is loaded; #GstRetinanetDetect:labels-file renames them (DL Streamer's property name).
 *
 * #GstRetinanetDetect:max-detections counts the detections a frame keeps after the
 * #GstRetinanetDetect:classes filter: with `classes=circle,triangle max-detections=5` a frame gets the five most
 * confident circles and triangles (fewer only when there are fewer).
 *
 * The frame is mapped read-only and only metadata is added, so a frame shared with other branches (a tee) is
 * not copied: only the #GstBuffer is made writable, never its memory.
 *
 * ## Live sources, many streams
 *
 * #GstRetinanetDetect:mode decides whether a frame waits for its own detections. `sync` (files, offline jobs):
 * each inferred frame waits for its detections; QoS is honoured (a frame already late downstream is not inferred
 * and carries the last detections, stale) and the latency query reports the detector's time per frame. `async`
 * (live cameras): every frame is pushed on at once with the newest detections the detector has finished, marked
 * stale with their `age` (frames since the inferred frame) and `inferred_pts` (that frame's pts); the detector
 * works on the newest frame only, on its own thread, and frames it cannot get to are not inferred. No buffer is
 * held back or reordered, and detections computed before a caps change or a flush are dropped. `auto` (the
 * default) is `async` when upstream is live, `sync` otherwise.
 *
 * Elements of one process that name the same #GstRetinanetDetect:model-instance-id share one loaded model and
 * one worker thread; the frames they hand over are run in batches of up to #GstRetinanetDetect:batch-size frames
 * of one size (the first frame of a batch waits at most #GstRetinanetDetect:batch-timeout for the others). A
 * batched frame's detections equal its unbatched ones. Elements naming one id with another model, device or size
 * are refused with an error naming both. Whatever the instances, one forward pass runs at a time per device, so
 * N elements never run more inference threads than the machine has cores.
 *
 * With #GstRetinanetDetect:post-messages, an element message named `retinanet-detections` is posted on the bus
 * for every frame, with fields `frame` (guint64), `timestamp`, `running-time`, `stream-time` (GstClockTime),
 * `width`, `height` (int), `stale` (boolean) and `detections` (a #GstValueArray of the `detection` structures).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=input.mp4 ! decodebin ! videoconvert ! \
 *     retinanetdetect model=retinanet_coco.safetensors score-threshold=0.5 ! retinanetoverlay ! \
 *     videoconvert ! autovideosink
 * ]| Detects objects in a video file and shows them with their boxes.
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://cam1/stream ! decodebin ! videoconvert ! \
 *     retinanetdetect model-instance-id=cams batch-size=4 ! retinanetoverlay ! videoconvert ! autovideosink \
 *   rtspsrc location=rtsp://cam2/stream ! decodebin ! videoconvert ! \
 *     retinanetdetect model-instance-id=cams batch-size=4 ! retinanetoverlay ! videoconvert ! autovideosink
 * ]| Two live cameras at their own frame rate, one shared model, their frames batched.
 */

#include "gst/gstretinanetdetect.h"

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <vector>

#include "gst/detection_meta.h"
#include "gst/frame_view.h"
#include "gst/stream_policy.h"
#include "common/model_error.h"
#include "model/files/model_source.h"
#include "model/inference/class_options.h"
#include "model/inference/detector.h"
#include "model/inference/device.h"
#include "model/serving/instance_registry.h"

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_detect_debug);
#define GST_CAT_DEFAULT gst_retinanet_detect_debug

enum
{
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_HALF,
  PROP_THREADS,
  PROP_SCORE_THRESHOLD,
  PROP_NMS_THRESHOLD,
  PROP_MAX_DETECTIONS,
  PROP_MIN_SIZE,
  PROP_MAX_SIZE,
  PROP_INTERVAL,
  PROP_CLASSES,
  PROP_CLASS_THRESHOLDS,
  PROP_AGNOSTIC_NMS,
  PROP_LABELS_FILE,
  PROP_LABELS,
  PROP_POST_MESSAGES,
  PROP_MODE,
  PROP_MODEL_INSTANCE_ID,
  PROP_BATCH_SIZE,
  PROP_BATCH_TIMEOUT,
  PROP_INFERRED_FRAMES,
};

#define DEFAULT_PROP_MODEL NULL
#define DEFAULT_PROP_DEVICE "auto"
#define DEFAULT_PROP_HALF FALSE
#define DEFAULT_PROP_THREADS 0
#define DEFAULT_PROP_SCORE_THRESHOLD -1.0f
#define DEFAULT_PROP_NMS_THRESHOLD -1.0f
#define DEFAULT_PROP_MAX_DETECTIONS 0
#define DEFAULT_PROP_MIN_SIZE 0
#define DEFAULT_PROP_MAX_SIZE 0
#define DEFAULT_PROP_INTERVAL 1
#define DEFAULT_PROP_CLASSES NULL
#define DEFAULT_PROP_CLASS_THRESHOLDS NULL
#define DEFAULT_PROP_AGNOSTIC_NMS FALSE
#define DEFAULT_PROP_LABELS_FILE NULL
#define DEFAULT_PROP_POST_MESSAGES FALSE
#define DEFAULT_PROP_MODE GST_RETINANET_DETECT_MODE_AUTO
#define DEFAULT_PROP_MODEL_INSTANCE_ID NULL
#define DEFAULT_PROP_BATCH_SIZE 1
#define DEFAULT_PROP_BATCH_TIMEOUT 0

/* Name of the bus message posted per frame with post-messages=true. */
#define DETECTIONS_MESSAGE "retinanet-detections"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (RETINANET_VIDEO_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (RETINANET_VIDEO_CAPS));

/* What the streaming thread works with; the element only ever holds a pointer to it. The stream's decisions
 * (which frames are inferred, which classes are kept) are the policy's; the detector runs on an instance's
 * worker, shared with other elements or the element's own. */
struct RetinanetDetectState
{
  RetinanetDetectState (std::shared_ptr<retinanet::InferenceInstance> i, const retinanet::Thresholds & applied)
    : instance (std::move (i)), stream (instance->open_stream ()), policy (instance->config (), applied) {}

  std::shared_ptr<retinanet::InferenceInstance> instance;
  std::unique_ptr<retinanet::InstanceStream> stream;  /* thread-safe: also cancelled from other threads */
  retinanet::gst::StreamPolicy policy;
  std::string model_path;                 /* as loaded, for messages */
  retinanet::PixelFormat format = retinanet::PixelFormat::kRGB;  /* chosen at set_info */
  bool mode_known = false;                /* auto is resolved on the first buffer */
  bool async = false;
  guint64 generation = 0;                 /* caps and flushes: async answers of an older one are dropped */
  double reported_ms = 0;                 /* the time per frame the last latency message announced */
  guint64 warmed_up = 0;                  /* frames inferred in sync mode */
};

static void gst_retinanet_detect_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_detect_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_detect_finalize (GObject * object);
static gboolean gst_retinanet_detect_start (GstBaseTransform * trans);
static gboolean gst_retinanet_detect_stop (GstBaseTransform * trans);
static gboolean gst_retinanet_detect_sink_event (GstBaseTransform * trans, GstEvent * event);
static gboolean gst_retinanet_detect_src_event (GstBaseTransform * trans, GstEvent * event);
static gboolean gst_retinanet_detect_query (GstBaseTransform * trans, GstPadDirection direction, GstQuery * query);
static GstStateChangeReturn gst_retinanet_detect_change_state (GstElement * element, GstStateChange transition);
static gboolean gst_retinanet_detect_set_info (GstVideoFilter * filter, GstCaps * incaps, GstVideoInfo * in_info,
    GstCaps * outcaps, GstVideoInfo * out_info);
static GstFlowReturn gst_retinanet_detect_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

GType
gst_retinanet_detect_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_RETINANET_DETECT_MODE_AUTO, "async when upstream is live, sync otherwise", "auto"},
    {GST_RETINANET_DETECT_MODE_SYNC, "each inferred frame waits for its detections", "sync"},
    {GST_RETINANET_DETECT_MODE_ASYNC, "frames never wait; they carry the newest finished detections", "async"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstRetinanetDetectMode", values));
  return type;
}

#define gst_retinanet_detect_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetDetect, gst_retinanet_detect, GST_TYPE_VIDEO_FILTER);
GST_ELEMENT_REGISTER_DEFINE (retinanetdetect, "retinanetdetect", GST_RANK_NONE, GST_TYPE_RETINANET_DETECT);

/* Properties that shape the loaded model: writable in NULL and READY only (checked in set_property). */
#define MODEL_PARAM_FLAGS ((GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY))
/* Properties the streaming thread reads per frame. */
#define LIVE_PARAM_FLAGS ((GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING))

static void
gst_retinanet_detect_class_init (GstRetinanetDetectClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  GstVideoFilterClass *filter_class = GST_VIDEO_FILTER_CLASS (klass);

  gobject_class->set_property = gst_retinanet_detect_set_property;
  gobject_class->get_property = gst_retinanet_detect_get_property;
  gobject_class->finalize = gst_retinanet_detect_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Path of the RetinaNet model (.safetensors, as written by model/files/export_torchvision.py or "
          "retinanet-train); empty: the embedded default model. NULL or READY state only", DEFAULT_PROP_MODEL,
          MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "Where the model runs: auto (the first CUDA GPU when there is one, else the CPU), cpu, cuda or cuda:N. "
          "NULL or READY state only",
          DEFAULT_PROP_DEVICE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_HALF,
      g_param_spec_boolean ("half", "Half precision",
          "Run the network in float16 on a CUDA GPU (boxes and scores stay float32); refused on the CPU. "
          "NULL or READY state only", DEFAULT_PROP_HALF, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_THREADS,
      g_param_spec_int ("threads", "Threads",
          "LibTorch intra-op threads for the CPU path; 0: every core. LibTorch has one such setting per process: "
          "the element started last sets it. NULL or READY state only", 0, 1024, DEFAULT_PROP_THREADS,
          MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_SCORE_THRESHOLD,
      g_param_spec_float ("score-threshold", "Score threshold",
          "Smallest confidence a detection is kept with; -1: the model file's setting. "
          "Changeable while playing (from the next inferred frame)",
          -1.0f, 1.0f, DEFAULT_PROP_SCORE_THRESHOLD, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_NMS_THRESHOLD,
      g_param_spec_float ("nms-threshold", "NMS threshold",
          "IoU above which non-maximum suppression drops the weaker of two boxes of one class; "
          "-1: the model file's setting. Changeable while playing (from the next inferred frame)",
          -1.0f, 1.0f, DEFAULT_PROP_NMS_THRESHOLD, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MAX_DETECTIONS,
      g_param_spec_int ("max-detections", "Maximum detections",
          "Most detections kept per frame, by decreasing confidence, counted after the classes filter; "
          "0: the model file's setting. Changeable while playing (from the next inferred frame)",
          0, G_MAXINT, DEFAULT_PROP_MAX_DETECTIONS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MIN_SIZE,
      g_param_spec_int ("min-size", "Minimum size",
          "The frame is resized for the network so that its shorter side has this many pixels "
          "(unless max-size stops it); 0: the model file's setting. NULL or READY state only", 0, 8192,
          DEFAULT_PROP_MIN_SIZE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MAX_SIZE,
      g_param_spec_int ("max-size", "Maximum size",
          "Longest side of the resized frame, in pixels; 0: the model file's setting. NULL or READY state only",
          0, 16384, DEFAULT_PROP_MAX_SIZE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_INTERVAL,
      g_param_spec_uint ("interval", "Interval",
          "Run the detector on every Nth frame only; the frames in between carry the last detections, "
          "marked stale=TRUE in their detection structure. Changeable while playing", 1, G_MAXINT,
          DEFAULT_PROP_INTERVAL, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_CLASSES,
      g_param_spec_string ("classes", "Classes",
          "Comma-separated labels to keep, by name or number (e.g. \"person,car\" or \"1,3\"); "
          "empty: every class. Changeable while playing", DEFAULT_PROP_CLASSES, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_CLASS_THRESHOLDS,
      g_param_spec_string ("class-thresholds", "Class thresholds",
          "Per-class score thresholds, comma-separated label=threshold with a label name or number "
          "(e.g. \"person=0.6,car=0.4\"); classes not named use score-threshold; empty: the model file's "
          "class_score_thresh, if any. A malformed entry or a value outside 0..1 is refused when set (warning, "
          "the previous value kept); a label the model lacks fails the start, or while playing is warned about "
          "and the previous thresholds kept. Changeable while playing (from the next inferred frame)",
          DEFAULT_PROP_CLASS_THRESHOLDS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_AGNOSTIC_NMS,
      g_param_spec_boolean ("agnostic-nms", "Class-agnostic NMS",
          "Non-maximum suppression across classes: of overlapping boxes only the most confident is kept whatever "
          "their labels, so that one object is not reported under two labels. Changeable while playing "
          "(from the next inferred frame)", DEFAULT_PROP_AGNOSTIC_NMS, LIVE_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_LABELS_FILE,
      g_param_spec_string ("labels-file", "Labels file",
          "A text file renaming the model's labels: one name per line, line i naming label i, as many lines as "
          "the model has labels (else the start fails, giving both counts). The names appear in the metadata "
          "(roi_type, label), the messages and the labels property; classes and class-thresholds take them. "
          "Empty: the model file's names. NULL or READY state only", DEFAULT_PROP_LABELS_FILE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_LABELS,
      g_param_spec_boxed ("labels", "Labels",
          "The loaded model's label names, entry i naming label i (its number where the model names none), "
          "after labels-file; filled when the model is loaded (the READY to PAUSED change), NULL before and "
          "after the element stops", G_TYPE_STRV, (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
  g_object_class_install_property (gobject_class, PROP_POST_MESSAGES,
      g_param_spec_boolean ("post-messages", "Post messages",
          "Post an element message named " DETECTIONS_MESSAGE " on the bus for every frame, with its detections. "
          "Changeable while playing",
          DEFAULT_PROP_POST_MESSAGES, LIVE_PARAM_FLAGS));

  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "sync: each inferred frame waits for its detections; async: frames never wait and carry the newest "
          "finished detections (stale, with their age); auto: async when upstream is live. NULL or READY state only",
          GST_TYPE_RETINANET_DETECT_MODE, DEFAULT_PROP_MODE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_MODEL_INSTANCE_ID,
      g_param_spec_string ("model-instance-id", "Model instance id",
          "Elements of one process with the same id share one loaded model and its worker, and their frames are "
          "batched; empty: a model of the element's own. NULL or READY state only",
          DEFAULT_PROP_MODEL_INSTANCE_ID, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_BATCH_SIZE,
      g_param_spec_uint ("batch-size", "Batch size",
          "Most frames of one size in one forward pass, gathered from the elements sharing the model instance "
          "(the first element to load the instance sets it). NULL or READY state only", 1, 64,
          DEFAULT_PROP_BATCH_SIZE, MODEL_PARAM_FLAGS));
  g_object_class_install_property (gobject_class, PROP_BATCH_TIMEOUT,
      g_param_spec_uint64 ("batch-timeout", "Batch timeout",
          "Microseconds the first frame of a batch may wait for others to join it; 0: a batch takes the frames "
          "already waiting. NULL or READY state only", 0, G_GUINT64_CONSTANT (10000000), DEFAULT_PROP_BATCH_TIMEOUT,
          MODEL_PARAM_FLAGS));

  g_object_class_install_property (gobject_class, PROP_INFERRED_FRAMES,
      g_param_spec_uint64 ("inferred-frames", "Inferred frames",
          "Frames of this stream the detector has run on since the element started (in async mode: the answers "
          "received); with the frame count, how many frames carry their own detections", 0, G_MAXUINT64, 0,
          (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata (element_class,
      "RetinaNet object detector", "Filter/Analyzer/Video",
      "Detects objects in video frames with a RetinaNet and attaches them as region-of-interest metadata "
      "(GstVideoRegionOfInterestMeta with a 'detection' structure: label_id, label, confidence, normalised box)",
      "gst-retinanet project");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_retinanet_detect_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_retinanet_detect_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_retinanet_detect_sink_event);
  trans_class->src_event = GST_DEBUG_FUNCPTR (gst_retinanet_detect_src_event);
  trans_class->query = GST_DEBUG_FUNCPTR (gst_retinanet_detect_query);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_retinanet_detect_change_state);
  filter_class->set_info = GST_DEBUG_FUNCPTR (gst_retinanet_detect_set_info);
  /* Our own transform_ip rather than GstVideoFilter's transform_frame_ip, which maps the frame for writing. */
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_retinanet_detect_transform_ip);

  GST_DEBUG_CATEGORY_INIT (gst_retinanet_detect_debug, "retinanetdetect", 0, "RetinaNet object detector");
  gst_type_mark_as_plugin_api (GST_TYPE_RETINANET_DETECT_MODE, (GstPluginAPIFlags) 0);
}

static void
gst_retinanet_detect_init (GstRetinanetDetect * self)
{
  self->model = g_strdup (DEFAULT_PROP_MODEL);
  self->device = g_strdup (DEFAULT_PROP_DEVICE);
  self->half = DEFAULT_PROP_HALF;
  self->threads = DEFAULT_PROP_THREADS;
  self->score_threshold = DEFAULT_PROP_SCORE_THRESHOLD;
  self->nms_threshold = DEFAULT_PROP_NMS_THRESHOLD;
  self->max_detections = DEFAULT_PROP_MAX_DETECTIONS;
  self->min_size = DEFAULT_PROP_MIN_SIZE;
  self->max_size = DEFAULT_PROP_MAX_SIZE;
  self->interval = DEFAULT_PROP_INTERVAL;
  self->classes = g_strdup (DEFAULT_PROP_CLASSES);
  self->class_thresholds = g_strdup (DEFAULT_PROP_CLASS_THRESHOLDS);
  self->agnostic_nms = DEFAULT_PROP_AGNOSTIC_NMS;
  self->labels_file = g_strdup (DEFAULT_PROP_LABELS_FILE);
  self->labels = NULL;
  self->post_messages = DEFAULT_PROP_POST_MESSAGES;
  self->mode = DEFAULT_PROP_MODE;
  self->model_instance_id = g_strdup (DEFAULT_PROP_MODEL_INSTANCE_ID);
  self->batch_size = DEFAULT_PROP_BATCH_SIZE;
  self->batch_timeout = DEFAULT_PROP_BATCH_TIMEOUT;
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->frame_ms = 0;
  self->inferred_frames = 0;
  self->state = NULL;
  /* Metadata only: the buffer goes on in place; its memory is read, never copied. */
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
  /* GstBaseTransform's own QoS drops late buffers; here a late frame goes on, not inferred (see src_event). */
  gst_base_transform_set_qos_enabled (GST_BASE_TRANSFORM (self), FALSE);
}

static void
gst_retinanet_detect_finalize (GObject * object)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (object);

  delete self->state;
  self->state = NULL;
  g_free (self->model);
  g_free (self->device);
  g_free (self->classes);
  g_free (self->class_thresholds);
  g_free (self->labels_file);
  g_strfreev (self->labels);
  g_free (self->model_instance_id);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* GStreamer does not enforce GST_PARAM_MUTABLE_READY itself: the model is loaded at start, so a later change
 * would silently do nothing. Refuse it loudly instead. */
static gboolean
gst_retinanet_detect_model_settable (GstRetinanetDetect * self, GParamSpec * pspec)
{
  GstState state;

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  GST_OBJECT_UNLOCK (self);
  if (state <= GST_STATE_READY)
    return TRUE;
  g_warning ("%s: property '%s' changes the loaded model and can only be set in the NULL or READY state",
      GST_OBJECT_NAME (self), pspec->name);
  return FALSE;
}

static void
gst_retinanet_detect_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (object);

  switch (prop_id) {
    case PROP_MODEL:
    case PROP_DEVICE:
    case PROP_HALF:
    case PROP_THREADS:
    case PROP_MIN_SIZE:
    case PROP_MAX_SIZE:
    case PROP_MODE:
    case PROP_MODEL_INSTANCE_ID:
    case PROP_BATCH_SIZE:
    case PROP_BATCH_TIMEOUT:
    case PROP_LABELS_FILE:
      if (!gst_retinanet_detect_model_settable (self, pspec))
        return;
      break;
    default:
      break;
  }
  /* Checked when set, so a typo fails at once rather than at start. */
  if (prop_id == PROP_DEVICE) {
    const gchar *device = g_value_get_string (value);
    std::string why;
    if (!retinanet::is_valid_device (device ? device : "", &why)) {
      GST_OBJECT_LOCK (self);
      gchar *kept = g_strdup (self->device);
      GST_OBJECT_UNLOCK (self);
      g_warning ("%s: %s; keeping '%s'", GST_OBJECT_NAME (self), why.c_str (), kept);
      g_free (kept);
      return;
    }
  }
  /* Syntax and ranges now; the labels are checked against the model when it is loaded. */
  if (prop_id == PROP_CLASS_THRESHOLDS) {
    const gchar *text = g_value_get_string (value);
    const std::string why = retinanet::check_class_thresholds_syntax (text ? text : "");
    if (!why.empty ()) {
      g_warning ("%s: property 'class-thresholds': %s; keeping its value", GST_OBJECT_NAME (self), why.c_str ());
      return;
    }
  }

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_free (self->model);
      /* An empty string means the default model, as an unset property does. */
      self->model = g_value_get_string (value) && *g_value_get_string (value) ? g_value_dup_string (value) : NULL;
      break;
    case PROP_DEVICE:
      g_free (self->device);
      self->device = g_strdup (g_value_get_string (value) && *g_value_get_string (value) ?
          g_value_get_string (value) : DEFAULT_PROP_DEVICE);
      break;
    case PROP_HALF:
      self->half = g_value_get_boolean (value);
      break;
    case PROP_THREADS:
      self->threads = g_value_get_int (value);
      break;
    case PROP_SCORE_THRESHOLD:
      self->score_threshold = g_value_get_float (value);
      break;
    case PROP_NMS_THRESHOLD:
      self->nms_threshold = g_value_get_float (value);
      break;
    case PROP_MAX_DETECTIONS:
      self->max_detections = g_value_get_int (value);
      break;
    case PROP_MIN_SIZE:
      self->min_size = g_value_get_int (value);
      break;
    case PROP_MAX_SIZE:
      self->max_size = g_value_get_int (value);
      break;
    case PROP_INTERVAL:
      self->interval = g_value_get_uint (value);
      break;
    case PROP_CLASSES:
      g_free (self->classes);
      self->classes = g_value_dup_string (value);
      break;
    case PROP_CLASS_THRESHOLDS:
      g_free (self->class_thresholds);
      self->class_thresholds = g_value_dup_string (value);
      break;
    case PROP_AGNOSTIC_NMS:
      self->agnostic_nms = g_value_get_boolean (value);
      break;
    case PROP_LABELS_FILE:
      g_free (self->labels_file);
      self->labels_file = g_value_get_string (value) && *g_value_get_string (value) ?
          g_value_dup_string (value) : NULL;
      break;
    case PROP_POST_MESSAGES:
      self->post_messages = g_value_get_boolean (value);
      break;
    case PROP_MODE:
      self->mode = (GstRetinanetDetectMode) g_value_get_enum (value);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_free (self->model_instance_id);
      self->model_instance_id = g_value_get_string (value) && *g_value_get_string (value) ?
          g_value_dup_string (value) : NULL;
      break;
    case PROP_BATCH_SIZE:
      self->batch_size = g_value_get_uint (value);
      break;
    case PROP_BATCH_TIMEOUT:
      self->batch_timeout = g_value_get_uint64 (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_retinanet_detect_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL:
      g_value_set_string (value, self->model);
      break;
    case PROP_DEVICE:
      g_value_set_string (value, self->device);
      break;
    case PROP_HALF:
      g_value_set_boolean (value, self->half);
      break;
    case PROP_THREADS:
      g_value_set_int (value, self->threads);
      break;
    case PROP_SCORE_THRESHOLD:
      g_value_set_float (value, self->score_threshold);
      break;
    case PROP_NMS_THRESHOLD:
      g_value_set_float (value, self->nms_threshold);
      break;
    case PROP_MAX_DETECTIONS:
      g_value_set_int (value, self->max_detections);
      break;
    case PROP_MIN_SIZE:
      g_value_set_int (value, self->min_size);
      break;
    case PROP_MAX_SIZE:
      g_value_set_int (value, self->max_size);
      break;
    case PROP_INTERVAL:
      g_value_set_uint (value, self->interval);
      break;
    case PROP_CLASSES:
      g_value_set_string (value, self->classes);
      break;
    case PROP_CLASS_THRESHOLDS:
      g_value_set_string (value, self->class_thresholds);
      break;
    case PROP_AGNOSTIC_NMS:
      g_value_set_boolean (value, self->agnostic_nms);
      break;
    case PROP_LABELS_FILE:
      g_value_set_string (value, self->labels_file);
      break;
    case PROP_LABELS:
      g_value_set_boxed (value, self->labels);
      break;
    case PROP_POST_MESSAGES:
      g_value_set_boolean (value, self->post_messages);
      break;
    case PROP_MODE:
      g_value_set_enum (value, self->mode);
      break;
    case PROP_MODEL_INSTANCE_ID:
      g_value_set_string (value, self->model_instance_id);
      break;
    case PROP_BATCH_SIZE:
      g_value_set_uint (value, self->batch_size);
      break;
    case PROP_BATCH_TIMEOUT:
      g_value_set_uint64 (value, self->batch_timeout);
      break;
    case PROP_INFERRED_FRAMES:
      g_value_set_uint64 (value, self->inferred_frames);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static gboolean
gst_retinanet_detect_start (GstBaseTransform * trans)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);
  retinanet::InstanceSettings settings;
  retinanet::DetectorOptions & options = settings.detector;
  retinanet::Thresholds applied;
  std::string instance_id;

  GST_OBJECT_LOCK (self);
  options.weights = self->model ? self->model : "";
  options.device = self->device;
  options.half = self->half;
  options.threads = self->threads;
  options.min_size = self->min_size;
  options.max_size = self->max_size;
  options.labels_file = self->labels_file ? self->labels_file : "";
  const std::string class_thresholds = self->class_thresholds ? self->class_thresholds : "";
  settings.batch_size = static_cast<int> (self->batch_size);
  settings.batch_timeout = std::chrono::microseconds (self->batch_timeout);
  instance_id = self->model_instance_id ? self->model_instance_id : "";
  self->earliest_time = GST_CLOCK_TIME_NONE;
  self->frame_ms = 0;
  self->inferred_frames = 0;
  GST_OBJECT_UNLOCK (self);
  /* Thresholds travel with each frame (elements sharing an instance keep their own); the instance keeps the model
   * file's, from which the policy learns the model's own detections_per_img. */

  const std::string shown = retinanet::model_display_name (options.weights);
  try {
    retinanet::check_model_source (options.weights);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("Could not load RetinaNet model: %s%s.", e.what (),
            options.weights.empty () ? " (set the 'model' property to a .safetensors file)" : ""),
        ("%s", e.what ()));
    return FALSE;
  }

  try {
    std::shared_ptr<retinanet::InferenceInstance> instance;
    bool loaded = true;
    if (instance_id.empty ()) {
      instance = retinanet::InferenceInstance::create (settings);
    } else {
      retinanet::SharedInstance shared =
          retinanet::acquire_shared_instance (instance_id, settings, GST_OBJECT_NAME (self));
      instance = shared.instance;
      loaded = shared.loaded;
      const retinanet::InstanceSettings & used = instance->settings ();
      if (!loaded && (used.batch_size != settings.batch_size || used.batch_timeout != settings.batch_timeout))
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("Model instance '%s' runs batches of %d frames with a timeout of %lld us, as %s set them; this "
                "element's batch-size and batch-timeout are not used.", instance_id.c_str (), used.batch_size,
                static_cast<long long> (used.batch_timeout.count ()), shared.owner.c_str ()), (NULL));
    }
    auto state = std::make_unique<RetinanetDetectState> (instance, applied);
    state->model_path = shown;
    const retinanet::ModelConfig & config = instance->config ();
    /* A label the model lacks is refused before the first frame, naming it. */
    const std::string refused = state->policy.set_class_thresholds (class_thresholds);
    if (!refused.empty ()) {
      GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
          ("Invalid 'class-thresholds' for model '%s': %s.", shown.c_str (), refused.c_str ()), (NULL));
      return FALSE;
    }
    gchar **labels = g_new0 (gchar *, config.num_classes + 1);
    for (int id = 0; id < config.num_classes; ++id)
      labels[id] = g_strdup (config.label_name (id).c_str ());
    GST_OBJECT_LOCK (self);
    g_strfreev (self->labels);
    self->labels = labels;
    GST_OBJECT_UNLOCK (self);
    g_object_notify (G_OBJECT (self), "labels");
    if (loaded)
      GST_INFO_OBJECT (self, "loaded %s (%s, %d classes) on %s, min-size %d, max-size %d, score %.3f, nms %.3f%s%s",
          shown.c_str (), config.arch.c_str (), config.num_classes, instance->device ().c_str (),
          config.min_size, config.max_size, config.score_thresh, config.nms_thresh,
          instance_id.empty () ? "" : " as model instance ", instance_id.c_str ());
    else
      GST_INFO_OBJECT (self, "shares model instance '%s' (%s)", instance_id.c_str (), shown.c_str ());
    delete self->state;
    self->state = state.release ();
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load RetinaNet model '%s' on device '%s': %s", shown.c_str (), options.device.c_str (),
            e.what ()), ("%s", e.what ()));
    return FALSE;
  } catch (...) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ,
        ("Could not load RetinaNet model '%s': unknown error.", shown.c_str ()), (NULL));
    return FALSE;
  }
  return TRUE;
}

static gboolean
gst_retinanet_detect_stop (GstBaseTransform * trans)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);

  /* The last element to let go of a shared instance frees it here (joining its worker). */
  delete self->state;
  self->state = NULL;
  GST_OBJECT_LOCK (self);
  g_strfreev (self->labels);
  self->labels = NULL;
  GST_OBJECT_UNLOCK (self);
  g_object_notify (G_OBJECT (self), "labels");
  return TRUE;
}

static GstStateChangeReturn
gst_retinanet_detect_change_state (GstElement * element, GstStateChange transition)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (element);

  /* A streaming thread waiting for its frame's detections (sync) returns at once instead of after the forward
   * pass, so that the pads can be deactivated. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY && self->state)
    self->state->stream->cancel ();
  return GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
}

static gboolean
gst_retinanet_detect_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_FLUSH_START:
      /* Not serialized: the streaming thread may be waiting for its frame's detections. */
      if (self->state)
        self->state->stream->cancel ();
      break;
    case GST_EVENT_FLUSH_STOP:
      /* After a flush (a seek) the last detections belong to another place in the stream: infer afresh. */
      if (self->state) {
        self->state->policy.reset ();
        self->state->stream->clear ();
        ++self->state->generation;
      }
      GST_OBJECT_LOCK (self);
      self->earliest_time = GST_CLOCK_TIME_NONE;
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

/* QoS as GstVideoDecoder reads it: a frame whose running time is before `earliest_time` will be late. */
static gboolean
gst_retinanet_detect_src_event (GstBaseTransform * trans, GstEvent * event)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);

  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS) {
    GstQOSType type;
    gdouble proportion;
    GstClockTimeDiff diff;
    GstClockTime timestamp;

    gst_event_parse_qos (event, &type, &proportion, &diff, &timestamp);
    GST_OBJECT_LOCK (self);
    if (GST_CLOCK_TIME_IS_VALID (timestamp))
      self->earliest_time = diff > 0 ? timestamp + 2 * diff : timestamp + diff;
    GST_OBJECT_UNLOCK (self);
    GST_LOG_OBJECT (self, "QoS: proportion %.3f, diff %" G_GINT64_FORMAT ", earliest %" GST_TIME_FORMAT,
        proportion, diff, GST_TIME_ARGS (self->earliest_time));
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->src_event (trans, event);
}

/* Whether upstream is live (auto mode), from a latency query of the peer. */
static bool
gst_retinanet_detect_upstream_live (GstRetinanetDetect * self)
{
  GstQuery *query = gst_query_new_latency ();
  gboolean live = FALSE;
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (self), query))
    gst_query_parse_latency (query, &live, NULL, NULL);
  gst_query_unref (query);
  return live;
}

/* In sync mode each inferred frame waits for the detector: that time is the element's latency. */
static gboolean
gst_retinanet_detect_query (GstBaseTransform * trans, GstPadDirection direction, GstQuery * query)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);

  if (!GST_BASE_TRANSFORM_CLASS (parent_class)->query (trans, direction, query))
    return FALSE;
  if (direction == GST_PAD_SRC && GST_QUERY_TYPE (query) == GST_QUERY_LATENCY) {
    gboolean live;
    GstClockTime min, max;
    gst_query_parse_latency (query, &live, &min, &max);
    GST_OBJECT_LOCK (self);
    const GstRetinanetDetectMode mode = self->mode;
    const double frame_ms = self->frame_ms;
    GST_OBJECT_UNLOCK (self);
    const bool async = mode == GST_RETINANET_DETECT_MODE_ASYNC || (mode == GST_RETINANET_DETECT_MODE_AUTO && live);
    if (!async && frame_ms > 0) {
      const GstClockTime ours = static_cast<GstClockTime> (frame_ms * GST_MSECOND);
      min += ours;
      if (GST_CLOCK_TIME_IS_VALID (max))
        max += ours;
      gst_query_set_latency (query, live, min, max);
    }
    GST_DEBUG_OBJECT (self, "latency: live %d, min %" GST_TIME_FORMAT " (%s, %.1f ms per frame)", live,
        GST_TIME_ARGS (min), async ? "async: none added" : "sync", frame_ms);
  }
  return TRUE;
}

static gboolean
gst_retinanet_detect_set_info (GstVideoFilter * filter, GstCaps * incaps, GstVideoInfo * in_info,
    GstCaps * outcaps, GstVideoInfo * out_info)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (filter);
  retinanet::PixelFormat format;

  if (!self->state)
    goto not_started;
  if (!retinanet::gst::pixel_format_for (GST_VIDEO_INFO_FORMAT (in_info), format))
    goto unsupported;
  /* A new size is the policy's to notice (carried boxes are in the old frame's pixels); answers still coming for
   * frames of the old caps are dropped. */
  if (filter->in_info.finfo == NULL || !gst_video_info_is_equal (&filter->in_info, in_info)) {
    self->state->stream->clear ();
    ++self->state->generation;
  }
  self->state->format = format;
  GST_DEBUG_OBJECT (self, "negotiated %s %dx%d", gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)),
      GST_VIDEO_INFO_WIDTH (in_info), GST_VIDEO_INFO_HEIGHT (in_info));
  return TRUE;

not_started:
  GST_ERROR_OBJECT (self, "caps set before the model was loaded");
  return FALSE;
unsupported:
  GST_ERROR_OBJECT (self, "unsupported format %s", gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (in_info)));
  return FALSE;
}

static void
gst_retinanet_detect_post_message (GstRetinanetDetect * self, GstBuffer * buffer, guint64 frame_number, int width,
    int height, const std::vector<retinanet::Detection> & detections, bool stale)
{
  GstSegment *segment = &GST_BASE_TRANSFORM (self)->segment;
  const GstClockTime pts = GST_BUFFER_PTS (buffer);
  GValue list = G_VALUE_INIT;

  gst_value_array_init (&list, detections.size ());
  for (const retinanet::Detection & d : detections) {
    GValue item = G_VALUE_INIT;
    g_value_init (&item, GST_TYPE_STRUCTURE);
    g_value_take_boxed (&item, retinanet::gst::detection_structure (d, width, height, stale));
    gst_value_array_append_and_take_value (&list, &item);
  }
  GstStructure *s = gst_structure_new (DETECTIONS_MESSAGE,
      "frame", G_TYPE_UINT64, frame_number,
      "timestamp", G_TYPE_UINT64, pts,
      "running-time", G_TYPE_UINT64, gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts),
      "stream-time", G_TYPE_UINT64, gst_segment_to_stream_time (segment, GST_FORMAT_TIME, pts),
      "width", G_TYPE_INT, width, "height", G_TYPE_INT, height,
      "stale", G_TYPE_BOOLEAN, static_cast<gboolean> (stale), NULL);
  gst_structure_take_value (s, "detections", &list);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* The sync path's time per frame, smoothed; a change of a quarter or more is announced, so that the pipeline
 * asks for the latency again. */
static void
gst_retinanet_detect_measured (GstRetinanetDetect * self, double ms)
{
  RetinanetDetectState & s = *self->state;
  /* The first forward pass plans the network for the frame size (several times a normal one): not counted. */
  if (s.warmed_up++ == 0)
    return;
  GST_OBJECT_LOCK (self);
  self->frame_ms = self->frame_ms > 0 ? 0.8 * self->frame_ms + 0.2 * ms : ms;
  const double now = self->frame_ms;
  GST_OBJECT_UNLOCK (self);
  if (s.reported_ms == 0 || now > 1.25 * s.reported_ms || now < 0.75 * s.reported_ms) {
    s.reported_ms = now;
    gst_element_post_message (GST_ELEMENT (self), gst_message_new_latency (GST_OBJECT (self)));
  }
}

/* The frame handed to the instance in async mode: mapped (with a reference on the buffer) until the worker has
 * read it; downstream elements that write to the buffer get a copy of its memory meanwhile. */
static std::shared_ptr<const void>
gst_retinanet_detect_hold_frame (GstVideoInfo * info, GstBuffer * buffer, retinanet::PixelFormat format,
    retinanet::ImageView & view)
{
  auto *held = new GstVideoFrame;
  if (!gst_video_frame_map (held, info, buffer, GST_MAP_READ)) {
    delete held;
    return nullptr;
  }
  view = retinanet::gst::image_view (*held, format);
  return std::shared_ptr<const void> (held, [](const void *p) {
        auto *frame = static_cast<GstVideoFrame *> (const_cast<void *> (p));
        gst_video_frame_unmap (frame);
        delete frame;
      });
}

static GstFlowReturn
gst_retinanet_detect_process (GstRetinanetDetect * self, GstVideoFrame * frame)
{
  RetinanetDetectState & s = *self->state;
  GstBaseTransform *trans = GST_BASE_TRANSFORM (self);
  const int width = GST_VIDEO_FRAME_WIDTH (frame), height = GST_VIDEO_FRAME_HEIGHT (frame);
  const GstClockTime pts = GST_BUFFER_PTS (frame->buffer);
  const GstClockTime running_time = gst_segment_to_running_time (&trans->segment, GST_FORMAT_TIME, pts);
  retinanet::gst::StreamSettings settings;

  if (G_UNLIKELY (!s.mode_known)) {
    GST_OBJECT_LOCK (self);
    const GstRetinanetDetectMode mode = self->mode;
    GST_OBJECT_UNLOCK (self);
    s.async = mode == GST_RETINANET_DETECT_MODE_ASYNC ||
        (mode == GST_RETINANET_DETECT_MODE_AUTO && gst_retinanet_detect_upstream_live (self));
    s.mode_known = true;
    GST_INFO_OBJECT (self, "mode %s", s.async ? "async" : "sync");
  }

  GST_OBJECT_LOCK (self);
  settings.interval = self->interval;
  settings.thresholds.score = self->score_threshold;
  settings.thresholds.nms = self->nms_threshold;
  settings.thresholds.max_detections = self->max_detections;
  settings.thresholds.agnostic_nms = self->agnostic_nms;
  settings.late = !s.async && GST_CLOCK_TIME_IS_VALID (self->earliest_time) &&
      GST_CLOCK_TIME_IS_VALID (running_time) && running_time < self->earliest_time;
  const bool post = self->post_messages;
  /* Copied only when it changed: no allocation per frame. */
  const gchar *classes_now = self->classes ? self->classes : "";
  const bool classes_changed = s.policy.classes () != classes_now;
  const std::string classes = classes_changed ? classes_now : "";
  const gchar *class_thresholds_now = self->class_thresholds ? self->class_thresholds : "";
  const bool class_thresholds_changed = s.policy.class_thresholds () != class_thresholds_now;
  const std::string class_thresholds = class_thresholds_changed ? class_thresholds_now : "";
  GST_OBJECT_UNLOCK (self);

  try {
    /* A name the model does not have would silently filter everything out: warned about once per change. */
    if (classes_changed)
      for (const std::string & token : s.policy.set_classes (classes))
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("Class '%s' in the 'classes' property is not a label of model '%s'; it matches nothing.",
                token.c_str (), s.model_path.c_str ()), (NULL));
    /* Changed while playing to a label the model lacks: warned about once, the previous thresholds kept. */
    if (class_thresholds_changed) {
      const std::string refused = s.policy.set_class_thresholds (class_thresholds);
      if (!refused.empty ())
        GST_ELEMENT_WARNING (self, RESOURCE, SETTINGS,
            ("Invalid 'class-thresholds' for model '%s': %s; the previous per-class thresholds stay.",
                s.model_path.c_str (), refused.c_str ()), (NULL));
    }
    const int64_t pts_or_none = GST_CLOCK_TIME_IS_VALID (pts) ? static_cast<int64_t> (pts) : -1;
    const retinanet::gst::FramePlan plan = s.policy.plan (settings, width, height, pts_or_none);
    retinanet::FrameRequest request;
    request.thresholds = plan.detector;
    request.frame = plan.frame;
    request.pts = pts_or_none;
    request.generation = s.generation;

    bool fresh = false;
    if (!s.async) {
      if (plan.infer) {
        request.image = retinanet::gst::image_view (*frame, s.format);
        const auto started = std::chrono::steady_clock::now ();
        retinanet::FrameResult result = s.stream->run (std::move (request));
        gst_retinanet_detect_measured (self,
            std::chrono::duration<double, std::milli> (std::chrono::steady_clock::now () - started).count ());
        s.policy.inferred (std::move (result.detections));
        fresh = true;
        GST_OBJECT_LOCK (self);
        ++self->inferred_frames;
        GST_OBJECT_UNLOCK (self);
      } else if (settings.late) {
        GST_DEBUG_OBJECT (self, "frame %" G_GUINT64_FORMAT " is late downstream: not inferred", (guint64) plan.frame);
      }
    } else {
      /* The newest finished answer of this stream, unless it belongs to caps or a place left since. */
      std::optional<retinanet::FrameResult> newest = s.stream->newest_unless (
          s.policy.has_answer () ? std::optional<uint64_t> (s.policy.answer_frame ()) : std::nullopt);
      if (newest && newest->generation == s.generation) {
        if (!newest->error.empty ())
          throw retinanet::ModelError (newest->error);
        s.policy.arrived (std::move (newest->detections), newest->frame, newest->pts);
        GST_OBJECT_LOCK (self);
        ++self->inferred_frames;
        GST_OBJECT_UNLOCK (self);
      }
    }

    const std::vector<retinanet::Detection> kept = s.policy.detections ();
    retinanet::gst::Provenance provenance;
    provenance.stale = !fresh;
    if (!fresh && s.policy.has_answer ()) {
      provenance.age = static_cast<guint> (plan.frame - s.policy.answer_frame ());
      provenance.inferred_pts = s.policy.answer_pts () >= 0 ? static_cast<GstClockTime> (s.policy.answer_pts ())
          : GST_CLOCK_TIME_NONE;
    }
    GST_LOG_OBJECT (self, "frame %" G_GUINT64_FORMAT ": %zu detections%s (age %u)", (guint64) plan.frame,
        kept.size (), fresh ? "" : ", carried", provenance.age);
    retinanet::gst::attach_detections (frame->buffer, kept, width, height, provenance);
    if (post)
      gst_retinanet_detect_post_message (self, frame->buffer, plan.frame, width, height, kept, provenance.stale);

    /* Async: handed over after the metadata is attached (the hold makes the buffer shared). */
    if (s.async && plan.infer) {
      GstVideoFilter *filter = GST_VIDEO_FILTER (self);
      std::shared_ptr<const void> hold = gst_retinanet_detect_hold_frame (&filter->in_info, frame->buffer,
          s.format, request.image);
      if (hold) {
        request.hold = std::move (hold);
        s.stream->submit_latest (std::move (request));
        s.policy.submitted ();
      }
    }
  } catch (const retinanet::StreamCancelled &) {
    GST_DEBUG_OBJECT (self, "flushing: frame not inferred");
    return GST_FLOW_FLUSHING;
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED,
        ("Detection failed on a %dx%d %s frame with model '%s': %s", width, height,
            gst_video_format_to_string (GST_VIDEO_FRAME_FORMAT (frame)),
            s.model_path.c_str (), e.what ()), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  return GST_FLOW_OK;
}

/* The frame is mapped for reading only. GstBaseTransform has already made the buffer itself writable for us
 * (a new GstBuffer sharing the same memory when upstream holds another reference, as a tee does), which is all
 * that adding metadata needs; mapping it for writing would copy every shared frame for nothing. NO_REF keeps
 * the buffer writable while mapped. */
static GstFlowReturn
gst_retinanet_detect_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstRetinanetDetect *self = GST_RETINANET_DETECT (trans);
  GstVideoFilter *filter = GST_VIDEO_FILTER (trans);
  GstVideoFrame frame;
  GstFlowReturn ret;

  if (G_UNLIKELY (!filter->negotiated || !self->state))
    goto not_negotiated;
  /* A gap without a picture (an empty buffer flagged GAP) has nothing to detect in: it goes on untouched. */
  if (G_UNLIKELY (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_GAP) && gst_buffer_get_size (buffer) == 0))
    return GST_FLOW_OK;
  if (!gst_video_frame_map (&frame, &filter->in_info, buffer,
          (GstMapFlags) (GST_MAP_READ | GST_VIDEO_FRAME_MAP_FLAG_NO_REF)))
    goto invalid_buffer;
  ret = gst_retinanet_detect_process (self, &frame);
  gst_video_frame_unmap (&frame);
  return ret;

not_negotiated:
  GST_ELEMENT_ERROR (self, CORE, NEGOTIATION, (NULL), ("a buffer arrived before the caps"));
  return GST_FLOW_NOT_NEGOTIATED;
invalid_buffer:
  {
    /* The frame goes on (nothing is lost), marked as not analysed, so that a writer downstream does not report it
     * as a frame without objects. */
    const GstVideoInfo *info = &filter->in_info;
    gchar *reason = g_strdup_printf ("a %" G_GSIZE_FORMAT "-byte buffer is too small for a %dx%d %s frame "
        "(%" G_GSIZE_FORMAT " bytes)", gst_buffer_get_size (buffer), GST_VIDEO_INFO_WIDTH (info),
        GST_VIDEO_INFO_HEIGHT (info), gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (info)),
        GST_VIDEO_INFO_SIZE (info));
    GST_ELEMENT_WARNING (self, STREAM, FORMAT, ("Frame not analysed: %s.", reason),
        ("pts %" GST_TIME_FORMAT ", flags 0x%x", GST_TIME_ARGS (GST_BUFFER_PTS (buffer)), GST_BUFFER_FLAGS (buffer)));
    retinanet::gst::mark_not_analysed (buffer, reason);
    g_free (reason);
    return GST_FLOW_OK;
  }
}

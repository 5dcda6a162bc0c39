/**
 * SECTION:element-retinanetjson
 * @title: retinanetjson
 * @see_also: retinanetdetect
 *
 * Passes buffers through untouched and writes one JSON object per frame and line, to the file named by
 * #GstRetinanetJson:location or to standard output when it is unset:
 *
 * |[
 * {"frame": 0, "pts": 0, "timestamp": 0.0, "width": 640, "height": 480, "stale": false, "source": "cam1",
 *  "detections": [{"label": 3, "name": "square", "score": 0.97, "box": [x1, y1, x2, y2]}]}
 * ]|
 *
 * `frame` counts buffers from 0, `pts` is the buffer's presentation timestamp in nanoseconds and `timestamp` the
 * same in seconds (both null when the buffer has none), and `detections` lists the buffer's
 * #GstVideoRegionOfInterestMeta in the form retinanet-detect prints (boxes in frame pixels). A meta from another
 * producer, without retinanetdetect's `detection` structure, is written with a null label and score; a tracked
 * one (retinanettrack upstream) has `"object_id"`, the object's id. `stale` is
 * true when retinanetdetect carried the detections over from an earlier frame (its `interval` property). `source`
 * is #GstRetinanetJson:source-id (default: the element's name), which tells cameras apart when several streams'
 * lines are gathered. This is the project's one JSON-lines schema (DESIGN.md, schema/frame.schema.json), written
 * by gst/frame_json.h, which retinanetpublish and the example apps call too.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=input.mp4 ! decodebin ! videoconvert ! retinanetdetect model=model.safetensors ! \
 *     retinanetjson location=detections.jsonl ! fakesink
 * ]| Writes the detections of every frame of a video file to detections.jsonl.
 */

#include "gst/gstretinanetjson.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <string>

#include "gst/frame_json.h"

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_json_debug);
#define GST_CAT_DEFAULT gst_retinanet_json_debug

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_SOURCE_ID,
};

#define DEFAULT_PROP_LOCATION NULL
#define DEFAULT_PROP_SOURCE_ID NULL

/* Any raw video, in any memory: only metadata and the caps' size are read. */
#define JSON_CAPS "video/x-raw(ANY)"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (JSON_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (JSON_CAPS));

static void gst_retinanet_json_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_json_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_json_finalize (GObject * object);
static gboolean gst_retinanet_json_start (GstBaseTransform * trans);
static gboolean gst_retinanet_json_stop (GstBaseTransform * trans);
static gboolean gst_retinanet_json_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps);
static GstFlowReturn gst_retinanet_json_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

#define gst_retinanet_json_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetJson, gst_retinanet_json, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (retinanetjson, "retinanetjson", GST_RANK_NONE, GST_TYPE_RETINANET_JSON);

static void
gst_retinanet_json_class_init (GstRetinanetJsonClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);

  gobject_class->set_property = gst_retinanet_json_set_property;
  gobject_class->get_property = gst_retinanet_json_get_property;
  gobject_class->finalize = gst_retinanet_json_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "File to write the JSON lines to (created or truncated at start); unset: standard output",
          DEFAULT_PROP_LOCATION,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_SOURCE_ID,
      g_param_spec_string ("source-id", "Source id",
          "The lines' \"source\" (which camera or stream); unset: the element's name", DEFAULT_PROP_SOURCE_ID,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));

  gst_element_class_set_static_metadata (element_class,
      "RetinaNet detections to JSON lines", "Filter/Analyzer/Video",
      "Writes each frame's region-of-interest metadata as one JSON line (frame number, timestamp, size and "
      "detections as retinanet-detect prints them) to a file or standard output, passing buffers on untouched",
      "gst-retinanet project");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_retinanet_json_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_retinanet_json_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_retinanet_json_set_caps);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_retinanet_json_transform_ip);
  /* Passthrough, yet every buffer is looked at. */
  trans_class->transform_ip_on_passthrough = TRUE;

  GST_DEBUG_CATEGORY_INIT (gst_retinanet_json_debug, "retinanetjson", 0, "RetinaNet detections to JSON lines");
}

static void
gst_retinanet_json_init (GstRetinanetJson * self)
{
  self->location = g_strdup (DEFAULT_PROP_LOCATION);
  self->source_id = g_strdup (DEFAULT_PROP_SOURCE_ID);
  self->source = NULL;
  self->fd = -1;
  self->own_fd = FALSE;
  gst_video_info_init (&self->info);
  self->frame_number = 0;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_retinanet_json_finalize (GObject * object)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (object);

  if (self->fd >= 0 && self->own_fd)
    close (self->fd);
  g_free (self->location);
  g_free (self->source_id);
  g_free (self->source);

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_retinanet_json_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (object);

  switch (prop_id) {
    case PROP_LOCATION:{
      GstState state;
      GST_OBJECT_LOCK (self);
      state = GST_STATE (self);
      if (state <= GST_STATE_READY) {
        g_free (self->location);
        self->location = g_value_get_string (value) && *g_value_get_string (value) ?
            g_value_dup_string (value) : NULL;
      }
      GST_OBJECT_UNLOCK (self);
      /* The file is opened at start; a change later would silently do nothing. */
      if (state > GST_STATE_READY)
        g_warning ("%s: property 'location' can only be set in the NULL or READY state", GST_OBJECT_NAME (self));
      break;
    }
    case PROP_SOURCE_ID:{
      GstState state;
      GST_OBJECT_LOCK (self);
      state = GST_STATE (self);
      if (state <= GST_STATE_READY) {
        g_free (self->source_id);
        self->source_id = g_value_get_string (value) && *g_value_get_string (value) ?
            g_value_dup_string (value) : NULL;
      }
      GST_OBJECT_UNLOCK (self);
      if (state > GST_STATE_READY)
        g_warning ("%s: property 'source-id' can only be set in the NULL or READY state", GST_OBJECT_NAME (self));
      break;
    }
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static void
gst_retinanet_json_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (object);

  switch (prop_id) {
    case PROP_LOCATION:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->location);
      GST_OBJECT_UNLOCK (self);
      break;
    case PROP_SOURCE_ID:
      GST_OBJECT_LOCK (self);
      g_value_set_string (value, self->source_id);
      GST_OBJECT_UNLOCK (self);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
}

static gboolean
gst_retinanet_json_start (GstBaseTransform * trans)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (trans);
  gchar *location;

  GST_OBJECT_LOCK (self);
  location = g_strdup (self->location);
  g_free (self->source);
  self->source = g_strdup (self->source_id ? self->source_id : GST_OBJECT_NAME (self));
  GST_OBJECT_UNLOCK (self);

  self->frame_number = 0;
  gst_video_info_init (&self->info);
  if (location) {
    self->fd = open (location, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (self->fd < 0)
      goto open_failed;
    self->own_fd = TRUE;
  } else {
    /* Whatever the host printed before stays before our lines. */
    fflush (stdout);
    self->fd = STDOUT_FILENO;
    self->own_fd = FALSE;
  }
  g_free (location);
  return TRUE;

open_failed:
  GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
      ("Could not open file \"%s\" for writing the detections.", location), GST_ERROR_SYSTEM);
  g_free (location);
  return FALSE;
}

static gboolean
gst_retinanet_json_stop (GstBaseTransform * trans)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (trans);

  if (self->fd >= 0 && self->own_fd)
    close (self->fd);
  self->fd = -1;
  self->own_fd = FALSE;
  return TRUE;
}

static gboolean
gst_retinanet_json_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (trans);

  if (!gst_video_info_from_caps (&self->info, incaps))
    goto invalid_caps;
  return TRUE;

invalid_caps:
  GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
  return FALSE;
}

/* Writes `line` whole or not at all: a write that fails part way (full disk, file size limit) is cut back to where
 * the line began, so the file always ends with a complete line. On failure errno says why. Standard output, when
 * a pipe, cannot be cut back; what reached it stays. */
static bool
write_line (int fd, const std::string & line)
{
  const off_t start = lseek (fd, 0, SEEK_CUR);
  size_t done = 0;
  while (done < line.size ()) {
    const ssize_t n = write (fd, line.data () + done, line.size () - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const int error = n < 0 ? errno : ENOSPC;
      if (done > 0 && start >= 0 && ftruncate (fd, start) == 0)
        lseek (fd, start, SEEK_SET);
      errno = error;
      return false;
    }
    done += (size_t) n;
  }
  return true;
}

static GstFlowReturn
gst_retinanet_json_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstRetinanetJson *self = GST_RETINANET_JSON (trans);
  const int width = GST_VIDEO_INFO_WIDTH (&self->info), height = GST_VIDEO_INFO_HEIGHT (&self->info);
  std::string text;

  try {
    text = retinanet::gst::frame_json (buffer, self->frame_number, width, height, self->source).dump () + "\n";
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not write the detections as JSON."), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  ++self->frame_number;

  /* Unbuffered, so a reader following the file sees each frame as it passes. */
  if (!write_line (self->fd, text))
    goto write_failed;
  return GST_FLOW_OK;

write_failed:
  {
    const int error = errno;
    if (error == ENOSPC)
      GST_ELEMENT_ERROR (self, RESOURCE, NO_SPACE_LEFT,
          ("Could not write the detections: %s.", g_strerror (error)),
          ("frame %" G_GUINT64_FORMAT " not written; the file ends with the last whole line", self->frame_number - 1));
    else
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE,
          ("Could not write the detections: %s.", g_strerror (error)),
          ("frame %" G_GUINT64_FORMAT " not written; the file ends with the last whole line", self->frame_number - 1));
  }
  return GST_FLOW_ERROR;
}

/**
 * SECTION:element-retinanetcamerasrc
 * @title: retinanetcamerasrc
 * @see_also: uridecodebin, rtspsrc, v4l2src, retinanetdetect
 *
 * A camera as decoded raw video, for pipelines that must outlive the camera. #GstRetinanetCameraSrc:location is
 * an rtsp:// URL, a V4L2 device (/dev/video0 or v4l2:///dev/video0), a file:// URI or a file path; inside, a
 * uridecodebin (rtspsrc, v4l2src or filesrc, then the decoder) gives the first video stream.
 *
 * When the camera is lost (its source posts an error, or ends the stream, or no frame arrives for
 * #GstRetinanetCameraSrc:timeout milliseconds while PLAYING: a frozen camera), the element posts a WARNING saying
 * so, keeps the downstream pipeline up, drops the old source and makes a new one every
 * #GstRetinanetCameraSrc:reconnect-interval milliseconds, up to #GstRetinanetCameraSrc:reconnect-attempts times
 * in a row (-1: forever; attempts exhausted: one ERROR). When frames come again it posts an element message named
 * `retinanetcamerasrc-reconnected` (fields `location`, `attempts`), and the first buffer after the gap carries the
 * DISCONT flag: downstream sees a discontinuity, never an EOS. Timestamps are running time in one segment across
 * reconnections. A file is not a camera: its end passes on as EOS (a missing file at start is an ERROR at once).
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 retinanetcamerasrc location=rtsp://192.168.1.20:554/stream reconnect-interval=2000 ! \
 *     videoconvert ! retinanetdetect ! retinanetoverlay ! videoconvert ! autovideosink
 * ]| Shows a camera's detections and keeps the window when the camera reboots.
 */

#include "gst/gstretinanetcamerasrc.h"

#include <string.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_camera_src_debug);
#define GST_CAT_DEFAULT gst_retinanet_camera_src_debug

enum
{
  PROP_0,
  PROP_LOCATION,
  PROP_TIMEOUT,
  PROP_RECONNECT_INTERVAL,
  PROP_RECONNECT_ATTEMPTS,
};

#define DEFAULT_PROP_LOCATION NULL
#define DEFAULT_PROP_TIMEOUT 5000
#define DEFAULT_PROP_RECONNECT_INTERVAL 2000
#define DEFAULT_PROP_RECONNECT_ATTEMPTS -1

#define RECONNECTED_MESSAGE "retinanetcamerasrc-reconnected"

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS ("video/x-raw(ANY)"));

using Clock = std::chrono::steady_clock;

/* What the reconnecting thread shares with the streaming threads (the buffer probe, the bus handler). */
struct _GstRetinanetCameraSrcWatch
{
  std::mutex mutex;
  std::condition_variable wake;
  std::thread thread;
  bool stop = false;
  bool lost = false;            /* set by an error or EOS of the current source */
  std::string why;              /* what happened, for the WARNING */
  bool reconnecting = false;    /* a WARNING was posted: the next buffer means the camera is back */
  bool playing = false;
  Clock::time_point last_frame; /* or the last (re)connection, or the start of PLAYING */
  bool connecting = true;       /* no frame yet from this source: it gets kConnectGraceMs at least */
  int attempts = 0;             /* reconnections since the last frame */
};

/* A new connection's first frame may take longer than `timeout` (RTSP setup, a camera or server starting its
 * encoder, the decoder's first key frame): giving up on it mid-setup would only start the same wait again, and a
 * server sharing one media between clients can be left unable to play by clients that leave while it prepares. */
constexpr guint kConnectGraceMs = 20000;

static void gst_retinanet_camera_src_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_camera_src_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_camera_src_finalize (GObject * object);
static GstStateChangeReturn gst_retinanet_camera_src_change_state (GstElement * element,
    GstStateChange transition);
static void gst_retinanet_camera_src_handle_message (GstBin * bin, GstMessage * message);

#define gst_retinanet_camera_src_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetCameraSrc, gst_retinanet_camera_src, GST_TYPE_BIN);
GST_ELEMENT_REGISTER_DEFINE (retinanetcamerasrc, "retinanetcamerasrc", GST_RANK_NONE,
    GST_TYPE_RETINANET_CAMERA_SRC);

static void
gst_retinanet_camera_src_class_init (GstRetinanetCameraSrcClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBinClass *bin_class = GST_BIN_CLASS (klass);

  gobject_class->set_property = gst_retinanet_camera_src_set_property;
  gobject_class->get_property = gst_retinanet_camera_src_get_property;
  gobject_class->finalize = gst_retinanet_camera_src_finalize;

  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Location",
          "The camera: rtsp:// URL, V4L2 device (/dev/video0), file:// URI or file path", DEFAULT_PROP_LOCATION,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY)));
  g_object_class_install_property (gobject_class, PROP_TIMEOUT,
      g_param_spec_uint ("timeout", "Timeout",
          "Milliseconds without a frame, while PLAYING, after which the camera counts as lost (0: never); a new "
          "connection's first frame may take up to 20 s (or this timeout, if longer)",
          0, G_MAXUINT, DEFAULT_PROP_TIMEOUT,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_RECONNECT_INTERVAL,
      g_param_spec_uint ("reconnect-interval", "Reconnect interval",
          "Milliseconds between losing the camera (or a failed attempt) and the next reconnection attempt",
          0, G_MAXUINT, DEFAULT_PROP_RECONNECT_INTERVAL,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));
  g_object_class_install_property (gobject_class, PROP_RECONNECT_ATTEMPTS,
      g_param_spec_int ("reconnect-attempts", "Reconnect attempts",
          "Reconnection attempts in a row before giving up with an error (-1: forever, 0: none)",
          -1, G_MAXINT, DEFAULT_PROP_RECONNECT_ATTEMPTS,
          (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_PLAYING)));

  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "RetinaNet camera source", "Source/Video/Bin",
      "A camera (RTSP, V4L2, file) as decoded video that reconnects when the camera is lost",
      "gst-retinanet");

  element_class->change_state = GST_DEBUG_FUNCPTR (gst_retinanet_camera_src_change_state);
  bin_class->handle_message = GST_DEBUG_FUNCPTR (gst_retinanet_camera_src_handle_message);

  GST_DEBUG_CATEGORY_INIT (gst_retinanet_camera_src_debug, "retinanetcamerasrc", 0, "RetinaNet camera source");
}

/* Every buffer of the current source passes here: frames keep the camera alive; the first after a gap is marked
 * DISCONT and announces the camera back. A live camera's EOS is a loss, dropped before it reaches downstream. */
static GstPadProbeReturn
out_probe (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (user_data);
  GstRetinanetCameraSrcWatch *w = self->watch;

  if (info->type & GST_PAD_PROBE_TYPE_BUFFER) {
    bool back = false;
    int attempts = 0;
    {
      std::lock_guard<std::mutex> lock (w->mutex);
      w->last_frame = Clock::now ();
      w->connecting = false;
      if (w->reconnecting) {
        back = true;
        attempts = w->attempts;
        w->reconnecting = false;
      }
      w->attempts = 0;
    }
    if (back) {
      GstBuffer *buffer = gst_buffer_make_writable (GST_PAD_PROBE_INFO_BUFFER (info));
      GST_BUFFER_FLAG_SET (buffer, GST_BUFFER_FLAG_DISCONT);
      info->data = buffer;
      gchar *location;
      GST_OBJECT_LOCK (self);
      location = g_strdup (self->location);
      GST_OBJECT_UNLOCK (self);
      GST_INFO_OBJECT (self, "camera %s back after %d attempt(s)", location, attempts);
      gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self),
              gst_structure_new (RECONNECTED_MESSAGE, "location", G_TYPE_STRING, location, "attempts",
                  G_TYPE_INT, attempts, NULL)));
      g_free (location);
    }
    return GST_PAD_PROBE_OK;
  }
  GstEvent *event = GST_PAD_PROBE_INFO_EVENT (info);
  /* Downstream's QoS speaks of the old source's frames: a new decoder told that its frames are late drops them all. */
  if (GST_EVENT_TYPE (event) == GST_EVENT_QOS)
    return GST_PAD_PROBE_DROP;
  if (GST_EVENT_TYPE (event) == GST_EVENT_EOS) {
    gboolean is_file;
    GST_OBJECT_LOCK (self);
    is_file = self->location && (g_str_has_prefix (self->location, "file:") || !strstr (self->location, "://"))
        && !g_str_has_prefix (self->location, "/dev/");
    GST_OBJECT_UNLOCK (self);
    if (is_file)
      return GST_PAD_PROBE_OK;
    {
      std::lock_guard<std::mutex> lock (w->mutex);
      w->lost = true;
      w->why = "the camera ended the stream";
    }
    w->wake.notify_all ();
    return GST_PAD_PROBE_DROP;
  }
  return GST_PAD_PROBE_OK;
}

static void
on_pad_added (GstElement * source, GstPad * pad, gpointer user_data)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (user_data);
  GstPad *sinkpad = gst_element_get_static_pad (self->out, "sink");
  GstCaps *caps = gst_pad_query_caps (pad, NULL);
  const gboolean video = gst_caps_get_size (caps) > 0 &&
      g_str_has_prefix (gst_structure_get_name (gst_caps_get_structure (caps, 0)), "video/");

  if (video && !gst_pad_is_linked (sinkpad) && GST_PAD_LINK_FAILED (gst_pad_link (pad, sinkpad)))
    GST_WARNING_OBJECT (self, "could not link %" GST_PTR_FORMAT, pad);
  gst_caps_unref (caps);
  gst_object_unref (sinkpad);
}

/* rtspsrc: TCP when UDP does not come through, and no waiting longer than the element's own timeout. */
static void
on_source_setup (GstElement * uridecodebin, GstElement * source, gpointer user_data)
{
  if (g_object_class_find_property (G_OBJECT_GET_CLASS (source), "latency"))
    g_object_set (source, "latency", 200, NULL);
}

/* A new uridecodebin for `location` (not yet added), or NULL when it does not name anything we can open. */
static GstElement *
make_source (GstRetinanetCameraSrc * self, const gchar * location)
{
  gchar *uri;
  if (g_str_has_prefix (location, "/dev/"))
    uri = g_strconcat ("v4l2://", location, NULL);
  else if (gst_uri_is_valid (location))
    uri = g_strdup (location);
  else
    uri = gst_filename_to_uri (location, NULL);
  if (!uri)
    return NULL;

  GstElement *source = gst_element_factory_make ("uridecodebin", NULL);
  if (!source) {
    g_free (uri);
    return NULL;
  }
  GstCaps *caps = gst_caps_from_string ("video/x-raw(ANY)");
  g_object_set (source, "uri", uri, "caps", caps, "expose-all-streams", FALSE, NULL);
  gst_caps_unref (caps);
  g_free (uri);
  g_signal_connect (source, "pad-added", G_CALLBACK (on_pad_added), self);
  g_signal_connect (source, "source-setup", G_CALLBACK (on_source_setup), self);
  return source;
}

/* From the reconnecting thread only: the old source stopped and dropped, a new one in its place. */
static void
replace_source (GstRetinanetCameraSrc * self)
{
  GstElement *old;
  gchar *location;
  GST_OBJECT_LOCK (self);
  old = self->source;
  self->source = NULL;
  location = g_strdup (self->location);
  GST_OBJECT_UNLOCK (self);

  if (old) {
    gst_element_set_locked_state (old, TRUE);
    gst_element_set_state (old, GST_STATE_NULL);
    gst_bin_remove (GST_BIN (self), old);
    gst_object_unref (old);
  }
  GstElement *source = make_source (self, location);
  g_free (location);
  if (!source)
    return;
  {
    std::lock_guard<std::mutex> lock (self->watch->mutex);
    self->watch->lost = false;
    self->watch->connecting = true;
    self->watch->last_frame = Clock::now ();
  }
  GstState target;
  GST_OBJECT_LOCK (self);
  self->source = GST_ELEMENT (gst_object_ref (source));
  target = GST_STATE_TARGET (self);
  GST_OBJECT_UNLOCK (self);
  gst_bin_add (GST_BIN (self), source);
  /* The state the application asked for, not gst_element_sync_state_with_parent()'s current one: a source dropped
   * in the middle of its asynchronous state change (a camera lost during setup) leaves this bin's current state
   * behind. Where the new source's own async change stops it short, continue_source_to_playing() takes it on. */
  gst_element_set_state (source, target);
}

/* A uridecodebin that finishes its asynchronous change to PAUSED inside this bin stops there and waits for this bin
 * to continue it to PLAYING; a live bin (NO_PREROLL) ignores its children's async starts, so nothing ever does, and
 * an rtspsrc left in PAUSED has done its SETUP but never sends PLAY (the kill-restart test under load: every later
 * attempt connected and got no frame). From the reconnecting thread, while a new source waits for its first frame:
 * a source at rest below this bin's PLAYING is taken there. The state lock is only tried: an application changing
 * this bin's state (which stops this thread) goes first. */
static void
continue_source_to_playing (GstRetinanetCameraSrc * self)
{
  if (!GST_STATE_TRYLOCK (self))
    return;
  GstElement *source = NULL;
  GST_OBJECT_LOCK (self);
  const bool bin_playing = GST_STATE (self) == GST_STATE_PLAYING && GST_STATE_TARGET (self) == GST_STATE_PLAYING &&
      GST_STATE_PENDING (self) == GST_STATE_VOID_PENDING;
  if (bin_playing && self->source)
    source = GST_ELEMENT (gst_object_ref (self->source));
  GST_OBJECT_UNLOCK (self);
  if (source) {
    GST_OBJECT_LOCK (source);
    const bool at_rest_below = GST_STATE (source) < GST_STATE_PLAYING &&
        GST_STATE_PENDING (source) == GST_STATE_VOID_PENDING && GST_STATE_RETURN (source) != GST_STATE_CHANGE_FAILURE;
    GST_OBJECT_UNLOCK (source);
    if (at_rest_below) {
      GST_INFO_OBJECT (self, "new source stopped at %s: taking it to PLAYING",
          gst_element_state_get_name (GST_STATE (source)));
      gst_element_set_state (source, GST_STATE_PLAYING);
    }
    gst_object_unref (source);
  }
  GST_STATE_UNLOCK (self);
}

static void
watch_loop (GstRetinanetCameraSrc * self)
{
  GstRetinanetCameraSrcWatch *w = self->watch;
  std::unique_lock<std::mutex> lock (w->mutex);
  while (!w->stop) {
    w->wake.wait_for (lock, std::chrono::milliseconds (50));
    if (w->stop)
      break;
    guint timeout_ms, interval_ms;
    gint max_attempts;
    GST_OBJECT_LOCK (self);
    timeout_ms = self->timeout_ms;
    interval_ms = self->reconnect_interval_ms;
    max_attempts = self->reconnect_attempts;
    GST_OBJECT_UNLOCK (self);
    const guint limit_ms = w->connecting ? std::max (timeout_ms, kConnectGraceMs) : timeout_ms;
    if (!w->lost && w->playing && timeout_ms > 0 &&
        Clock::now () - w->last_frame > std::chrono::milliseconds (limit_ms)) {
      w->lost = true;
      w->why = "no frame for " + std::to_string (limit_ms) + " ms" + (w->connecting ? " since connecting" : "");
    }
    if (!w->lost) {
      if (w->connecting && w->attempts > 0) {
        lock.unlock ();
        continue_source_to_playing (self);
        lock.lock ();
      }
      continue;
    }
    const std::string why = w->why;
    const int attempt = ++w->attempts;
    w->lost = false;
    w->reconnecting = true;
    lock.unlock ();

    gchar *location;
    GST_OBJECT_LOCK (self);
    location = g_strdup (self->location);
    GST_OBJECT_UNLOCK (self);
    if (max_attempts >= 0 && attempt > max_attempts) {
      GST_ELEMENT_ERROR (self, RESOURCE, READ,
          ("Camera %s lost (%s) and not back after %d reconnection attempt(s).", location, why.c_str (),
              max_attempts), ("reconnect-attempts=%d, reconnect-interval=%u ms", max_attempts, interval_ms));
      g_free (location);
      lock.lock ();
      break;
    }
    GST_ELEMENT_WARNING (self, RESOURCE, READ,
        ("Camera %s lost (%s): reconnecting, attempt %d%s.", location, why.c_str (), attempt,
            max_attempts >= 0 ? (" of " + std::to_string (max_attempts)).c_str () : ""),
        ("reconnect-interval=%u ms", interval_ms));
    g_free (location);

    lock.lock ();
    w->wake.wait_for (lock, std::chrono::milliseconds (interval_ms), [w] { return w->stop; });
    if (w->stop)
      break;
    lock.unlock ();
    replace_source (self);
    lock.lock ();
  }
}

static void
gst_retinanet_camera_src_init (GstRetinanetCameraSrc * self)
{
  self->location = g_strdup (DEFAULT_PROP_LOCATION);
  self->timeout_ms = DEFAULT_PROP_TIMEOUT;
  self->reconnect_interval_ms = DEFAULT_PROP_RECONNECT_INTERVAL;
  self->reconnect_attempts = DEFAULT_PROP_RECONNECT_ATTEMPTS;
  self->watch = new GstRetinanetCameraSrcWatch ();

  /* One segment of running time across sources: each new source starts its own. */
  self->out = gst_element_factory_make ("identity", "out");
  g_object_set (self->out, "single-segment", TRUE, "silent", TRUE, NULL);
  gst_bin_add (GST_BIN (self), self->out);
  GstPad *target = gst_element_get_static_pad (self->out, "src");
  self->srcpad = gst_ghost_pad_new_from_template ("src", target, gst_static_pad_template_get (&src_template));
  gst_object_unref (target);
  gst_element_add_pad (GST_ELEMENT (self), self->srcpad);
  GstPad *sinkpad = gst_element_get_static_pad (self->out, "sink");
  gst_pad_add_probe (sinkpad, (GstPadProbeType) (GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM |
          GST_PAD_PROBE_TYPE_EVENT_UPSTREAM),
      out_probe, self, NULL);
  gst_object_unref (sinkpad);
  GST_OBJECT_FLAG_SET (self, GST_ELEMENT_FLAG_SOURCE);
  /* A source replaced while PLAYING changes state on its own: its asynchronous state change stays inside this bin
   * instead of taking the pipeline back to PAUSED (where rtspsrc would never get its PLAY). */
  g_object_set (self, "async-handling", TRUE, NULL);
}

static void
gst_retinanet_camera_src_finalize (GObject * object)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (object);

  g_free (self->location);
  if (self->source)
    gst_object_unref (self->source);
  delete self->watch;
  G_OBJECT_CLASS (parent_class)->finalize (object);
}

static void
gst_retinanet_camera_src_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_free (self->location);
      self->location = g_value_dup_string (value);
      break;
    case PROP_TIMEOUT:
      self->timeout_ms = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_INTERVAL:
      self->reconnect_interval_ms = g_value_get_uint (value);
      break;
    case PROP_RECONNECT_ATTEMPTS:
      self->reconnect_attempts = g_value_get_int (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_retinanet_camera_src_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (object);

  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION:
      g_value_set_string (value, self->location);
      break;
    case PROP_TIMEOUT:
      g_value_set_uint (value, self->timeout_ms);
      break;
    case PROP_RECONNECT_INTERVAL:
      g_value_set_uint (value, self->reconnect_interval_ms);
      break;
    case PROP_RECONNECT_ATTEMPTS:
      g_value_set_int (value, self->reconnect_attempts);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

/* An error of the current source, once the reconnecting thread runs, is a lost camera: it becomes the thread's
 * WARNING and a reconnection instead of stopping the pipeline. An error of a source already dropped (an rtspsrc
 * failing to send its TEARDOWN to a dead server while it is stopped) is old news and goes no further. Before the
 * thread runs (a missing file or device at start) and from anything else, messages go up unchanged. */
static void
gst_retinanet_camera_src_handle_message (GstBin * bin, GstMessage * message)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (bin);
  GstRetinanetCameraSrcWatch *w = self->watch;

  if (GST_MESSAGE_TYPE (message) == GST_MESSAGE_ERROR) {
    GstObject *from = GST_MESSAGE_SRC (message);
    GstElement *source;
    GST_OBJECT_LOCK (self);
    source = self->source ? GST_ELEMENT (gst_object_ref (self->source)) : NULL;
    GST_OBJECT_UNLOCK (self);
    const gboolean current = source && (from == GST_OBJECT (source) || gst_object_has_as_ancestor (from,
            GST_OBJECT (source)));
    const gboolean from_a_source = from != GST_OBJECT (self) && from != GST_OBJECT (self->out) &&
        !gst_object_has_as_ancestor (from, GST_OBJECT (self->out));
    if (source)
      gst_object_unref (source);
    bool taken = false;
    if (from_a_source) {
      GError *err = NULL;
      gst_message_parse_error (message, &err, NULL);
      std::lock_guard<std::mutex> lock (w->mutex);
      if (w->thread.joinable () && !w->stop) {
        if (current) {
          w->lost = true;
          w->why = err ? err->message : "error";
        }
        taken = true;
      }
      g_clear_error (&err);
    }
    if (taken) {
      GST_INFO_OBJECT (self, "%s: %" GST_PTR_FORMAT, current ? "source error taken as a lost camera" :
          "error of a dropped source ignored", message);
      w->wake.notify_all ();
      gst_message_unref (message);
      return;
    }
  }
  GST_BIN_CLASS (parent_class)->handle_message (bin, message);
}

static void
stop_watch (GstRetinanetCameraSrc * self)
{
  GstRetinanetCameraSrcWatch *w = self->watch;
  {
    std::lock_guard<std::mutex> lock (w->mutex);
    w->stop = true;
  }
  w->wake.notify_all ();
  if (w->thread.joinable ())
    w->thread.join ();
}

static GstStateChangeReturn
gst_retinanet_camera_src_change_state (GstElement * element, GstStateChange transition)
{
  GstRetinanetCameraSrc *self = GST_RETINANET_CAMERA_SRC (element);
  GstRetinanetCameraSrcWatch *w = self->watch;
  GstStateChangeReturn ret;

  switch (transition) {
    case GST_STATE_CHANGE_NULL_TO_READY:{
      gchar *location;
      GST_OBJECT_LOCK (self);
      location = g_strdup (self->location);
      GST_OBJECT_UNLOCK (self);
      if (!location || !*location) {
        g_free (location);
        GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND, ("No camera given: set the 'location' property."), (NULL));
        return GST_STATE_CHANGE_FAILURE;
      }
      GstElement *source = make_source (self, location);
      if (!source) {
        GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
            ("Cannot open camera '%s': not an rtsp://, v4l2://, file:// URI, device or file path "
                "(or uridecodebin is missing: gstreamer1.0-plugins-base).", location), (NULL));
        g_free (location);
        return GST_STATE_CHANGE_FAILURE;
      }
      g_free (location);
      {
        std::lock_guard<std::mutex> lock (self->watch->mutex);
        self->watch->connecting = true;
      }
      GST_OBJECT_LOCK (self);
      self->source = GST_ELEMENT (gst_object_ref (source));
      GST_OBJECT_UNLOCK (self);
      gst_bin_add (GST_BIN (self), source);
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_PLAYING:{
      std::lock_guard<std::mutex> lock (w->mutex);
      w->playing = true;
      w->last_frame = Clock::now ();
      break;
    }
    case GST_STATE_CHANGE_PAUSED_TO_READY:
      stop_watch (self);
      break;
    default:
      break;
  }

  ret = GST_ELEMENT_CLASS (parent_class)->change_state (element, transition);
  if (ret == GST_STATE_CHANGE_FAILURE)
    return ret;

  switch (transition) {
    case GST_STATE_CHANGE_READY_TO_PAUSED:{
      std::lock_guard<std::mutex> lock (w->mutex);
      w->stop = false;
      w->lost = false;
      w->reconnecting = false;
      w->attempts = 0;
      w->thread = std::thread (watch_loop, self);
      break;
    }
    case GST_STATE_CHANGE_PLAYING_TO_PAUSED:{
      std::lock_guard<std::mutex> lock (w->mutex);
      w->playing = false;
      break;
    }
    case GST_STATE_CHANGE_READY_TO_NULL:{
      GstElement *source;
      GST_OBJECT_LOCK (self);
      source = self->source;
      self->source = NULL;
      GST_OBJECT_UNLOCK (self);
      if (source) {
        gst_bin_remove (GST_BIN (self), source);
        gst_object_unref (source);
      }
      break;
    }
    default:
      break;
  }
  return ret;
}

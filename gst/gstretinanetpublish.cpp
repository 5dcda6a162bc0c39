/**
 * SECTION:element-retinanetpublish
 * @title: retinanetpublish
 * @see_also: retinanetdetect, retinanetjson
 *
 * Passes buffers through untouched and publishes one message per frame: the JSON object that retinanetjson writes
 * as a line (gst/frame_json.h, schema/frame.schema.json), whose `source` is #GstRetinanetPublish:source-id
 * (default: the element's name), to an MQTT broker (libmosquitto), to Kafka (librdkafka) or to a file, as
 * #GstRetinanetPublish:method says. Property names follow DL Streamer's gvametapublish where it has one
 * (`method`, `address`, `topic`, `file-path`, `mqtt-client-id`).
 *
 * Publishing never blocks the streaming thread: messages go into a queue of at most
 * #GstRetinanetPublish:max-queued that a worker thread empties into the broker. When the broker is away (down
 * at start, or lost mid-stream) the pipeline runs on: the element reconnects with backoff (100 ms doubling to
 * 10 s), keeps the newest messages when the queue is full and counts the oldest it drops, posts a WARNING on the
 * bus when the connection is lost (with the count) and an INFO when it is back (with the count dropped
 * meanwhile), each with a `retinanetpublish-connection` element message (`connected`, `dropped`,
 * `dropped-during-outage`, `reason`). At EOS it waits at most #GstRetinanetPublish:flush-timeout for every
 * queued message to be acknowledged before passing EOS on (a WARNING says how many were not). An address that
 * can never work (bad syntax, a topic the broker refuses, a TLS file that cannot be read) fails the change to
 * PAUSED with one error message.
 *
 * MQTT: QoS 0, 1 (default: at least once) or 2; `topic` may hold `{source}` (default `retinanet/{source}`).
 * Kafka: one topic (default `retinanet`), each message keyed by the source id so that a camera's messages stay in
 * order in one partition; `kafka-acks`, `kafka-compression`, and any librdkafka setting in `kafka-config`.
 *
 * ## Example launch lines
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://cam1/stream ! decodebin ! videoconvert ! retinanetdetect ! \
 *     retinanetpublish method=mqtt address=broker:1883 source-id=cam1 topic="cameras/{source}" ! fakesink
 * ]| Publishes the detections of camera 1 to the MQTT topic cameras/cam1 (QoS 1).
 * |[
 * gst-launch-1.0 filesrc location=in.mp4 ! decodebin ! videoconvert ! retinanetdetect ! \
 *     retinanetpublish method=kafka address=k1:9092,k2:9092 topic=detections source-id=door kafka-acks=all ! fakesink
 * ]| Publishes to the Kafka topic detections, keyed "door".
 */

#include "gst/gstretinanetpublish.h"

#include <chrono>
#include <exception>
#include <memory>
#include <string>

#include "gst/frame_json.h"
#include "publish/publish_error.h"
#include "publish/publisher.h"
#include "publish/transport_factory.h"

GST_DEBUG_CATEGORY_STATIC (gst_retinanet_publish_debug);
#define GST_CAT_DEFAULT gst_retinanet_publish_debug

enum
{
  PROP_0,
  PROP_METHOD,
  PROP_ADDRESS,
  PROP_TOPIC,
  PROP_SOURCE_ID,
  PROP_FILE_PATH,
  PROP_MAX_QUEUED,
  PROP_FLUSH_TIMEOUT,
  PROP_MQTT_QOS,
  PROP_MQTT_CLIENT_ID,
  PROP_MQTT_KEEP_ALIVE,
  PROP_USERNAME,
  PROP_PASSWORD,
  PROP_TLS_CA_FILE,
  PROP_TLS_CERT_FILE,
  PROP_TLS_KEY_FILE,
  PROP_KAFKA_ACKS,
  PROP_KAFKA_COMPRESSION,
  PROP_KAFKA_CONFIG,
  PROP_PUBLISHED,
  PROP_DROPPED,
  PROP_FAILED,
  PROP_CONNECTED,
};

#define DEFAULT_PROP_METHOD GST_RETINANET_PUBLISH_METHOD_MQTT
#define DEFAULT_PROP_ADDRESS "127.0.0.1:1883"
#define DEFAULT_PROP_TOPIC NULL
#define DEFAULT_PROP_SOURCE_ID NULL
#define DEFAULT_PROP_FILE_PATH NULL
#define DEFAULT_PROP_MAX_QUEUED 1000
#define DEFAULT_PROP_FLUSH_TIMEOUT 5000
#define DEFAULT_PROP_MQTT_QOS 1
#define DEFAULT_PROP_MQTT_CLIENT_ID NULL
#define DEFAULT_PROP_MQTT_KEEP_ALIVE 30
#define DEFAULT_PROP_KAFKA_ACKS "all"
#define DEFAULT_PROP_KAFKA_COMPRESSION "none"

/* Failed deliveries are reported at most this often. */
#define FAILURE_WARNING_INTERVAL std::chrono::seconds (5)

/* Any raw video, in any memory: only metadata and the caps' size are read. */
#define PUBLISH_CAPS "video/x-raw(ANY)"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink",
    GST_PAD_SINK,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (PUBLISH_CAPS));

static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src",
    GST_PAD_SRC,
    GST_PAD_ALWAYS,
    GST_STATIC_CAPS (PUBLISH_CAPS));

/* The C++ side, made at start and deleted at stop. */
struct RetinanetPublishImpl
{
  std::unique_ptr<retinanet::publish::Publisher> publisher;
  std::string source;
  std::chrono::steady_clock::time_point last_failure_warning;
  retinanet::publish::PublishStats final_stats;  /* after stop, for the read-only properties */
};

static void gst_retinanet_publish_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_publish_get_property (GObject * object, guint prop_id, GValue * value,
    GParamSpec * pspec);
static void gst_retinanet_publish_finalize (GObject * object);
static gboolean gst_retinanet_publish_start (GstBaseTransform * trans);
static gboolean gst_retinanet_publish_stop (GstBaseTransform * trans);
static gboolean gst_retinanet_publish_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps);
static gboolean gst_retinanet_publish_sink_event (GstBaseTransform * trans, GstEvent * event);
static GstFlowReturn gst_retinanet_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buffer);

GType
gst_retinanet_publish_method_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_RETINANET_PUBLISH_METHOD_MQTT, "MQTT broker (libmosquitto)", "mqtt"},
    {GST_RETINANET_PUBLISH_METHOD_KAFKA, "Kafka cluster (librdkafka)", "kafka"},
    {GST_RETINANET_PUBLISH_METHOD_FILE, "JSON lines to a file or standard output", "file"},
    {0, NULL, NULL},
  };
  if (g_once_init_enter (&type))
    g_once_init_leave (&type, g_enum_register_static ("GstRetinanetPublishMethod", values));
  return type;
}

#define gst_retinanet_publish_parent_class parent_class
G_DEFINE_TYPE (GstRetinanetPublish, gst_retinanet_publish, GST_TYPE_BASE_TRANSFORM);
GST_ELEMENT_REGISTER_DEFINE (retinanetpublish, "retinanetpublish", GST_RANK_NONE, GST_TYPE_RETINANET_PUBLISH);

static void
gst_retinanet_publish_class_init (GstRetinanetPublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const GParamFlags rw = (GParamFlags) (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | GST_PARAM_MUTABLE_READY);
  const GParamFlags ro = (GParamFlags) (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  gobject_class->set_property = gst_retinanet_publish_set_property;
  gobject_class->get_property = gst_retinanet_publish_get_property;
  gobject_class->finalize = gst_retinanet_publish_finalize;

  g_object_class_install_property (gobject_class, PROP_METHOD,
      g_param_spec_enum ("method", "Method", "Where the messages go", GST_TYPE_RETINANET_PUBLISH_METHOD,
          DEFAULT_PROP_METHOD, rw));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "Broker address, host:port (IPv6 in brackets); several separated by commas (Kafka's bootstrap list; "
          "MQTT tries them in turn); the port defaults to 1883 (MQTT) or 9092 (Kafka)", DEFAULT_PROP_ADDRESS, rw));
  g_object_class_install_property (gobject_class, PROP_TOPIC,
      g_param_spec_string ("topic", "Topic",
          "Topic to publish to; {source} is replaced by the source id. Unset: retinanet/{source} (MQTT), "
          "retinanet (Kafka)", DEFAULT_PROP_TOPIC, rw));
  g_object_class_install_property (gobject_class, PROP_SOURCE_ID,
      g_param_spec_string ("source-id", "Source id",
          "The messages' \"source\" (which camera or stream), the Kafka key and the topic's {source}; unset: the "
          "element's name", DEFAULT_PROP_SOURCE_ID, rw));
  g_object_class_install_property (gobject_class, PROP_FILE_PATH,
      g_param_spec_string ("file-path", "File path",
          "method=file: the file to write the JSON lines to (created or truncated); unset or \"-\": standard output",
          DEFAULT_PROP_FILE_PATH, rw));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUED,
      g_param_spec_uint ("max-queued", "Max queued",
          "Messages waiting for the broker, at most; when full the oldest are dropped (and counted)",
          1, G_MAXINT, DEFAULT_PROP_MAX_QUEUED, rw));
  g_object_class_install_property (gobject_class, PROP_FLUSH_TIMEOUT,
      g_param_spec_uint ("flush-timeout", "Flush timeout",
          "At EOS, how long to wait at most (ms) for queued messages to be acknowledged before passing EOS on",
          0, G_MAXINT, DEFAULT_PROP_FLUSH_TIMEOUT, rw));
  g_object_class_install_property (gobject_class, PROP_MQTT_QOS,
      g_param_spec_uint ("mqtt-qos", "MQTT QoS",
          "MQTT quality of service: 0 at most once, 1 at least once, 2 exactly once", 0, 2, DEFAULT_PROP_MQTT_QOS,
          rw));
  g_object_class_install_property (gobject_class, PROP_MQTT_CLIENT_ID,
      g_param_spec_string ("mqtt-client-id", "MQTT client id",
          "MQTT client id; unset: retinanet-<source id>-<process id>", DEFAULT_PROP_MQTT_CLIENT_ID, rw));
  g_object_class_install_property (gobject_class, PROP_MQTT_KEEP_ALIVE,
      g_param_spec_uint ("mqtt-keep-alive", "MQTT keep-alive",
          "MQTT keep-alive interval (s); a silent broker is taken for lost after 1.5 times this", 5, 65535,
          DEFAULT_PROP_MQTT_KEEP_ALIVE, rw));
  g_object_class_install_property (gobject_class, PROP_USERNAME,
      g_param_spec_string ("username", "Username", "MQTT username", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_PASSWORD,
      g_param_spec_string ("password", "Password", "MQTT password (with a username)", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_TLS_CA_FILE,
      g_param_spec_string ("tls-ca-file", "TLS CA file",
          "MQTT over TLS: the certificate authorities to trust (PEM); unset: no TLS", NULL, rw));
  g_object_class_install_property (gobject_class, PROP_TLS_CERT_FILE,
      g_param_spec_string ("tls-cert-file", "TLS certificate file", "MQTT over TLS: the client certificate (PEM)",
          NULL, rw));
  g_object_class_install_property (gobject_class, PROP_TLS_KEY_FILE,
      g_param_spec_string ("tls-key-file", "TLS key file", "MQTT over TLS: the client certificate's key (PEM)", NULL,
          rw));
  g_object_class_install_property (gobject_class, PROP_KAFKA_ACKS,
      g_param_spec_string ("kafka-acks", "Kafka acks",
          "Acknowledgements a Kafka delivery waits for: all (every in-sync replica), 1 (the leader) or 0 (none)",
          DEFAULT_PROP_KAFKA_ACKS, rw));
  g_object_class_install_property (gobject_class, PROP_KAFKA_COMPRESSION,
      g_param_spec_string ("kafka-compression", "Kafka compression", "none, gzip, snappy, lz4 or zstd",
          DEFAULT_PROP_KAFKA_COMPRESSION, rw));
  g_object_class_install_property (gobject_class, PROP_KAFKA_CONFIG,
      g_param_spec_string ("kafka-config", "Kafka config",
          "More librdkafka settings, name=value separated by ';' (e.g. \"linger.ms=20;message.timeout.ms=30000\")",
          NULL, rw));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published", "Messages the broker acknowledged", 0, G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_DROPPED,
      g_param_spec_uint64 ("dropped", "Dropped", "Messages dropped because the queue was full", 0, G_MAXUINT64, 0,
          ro));
  g_object_class_install_property (gobject_class, PROP_FAILED,
      g_param_spec_uint64 ("failed", "Failed", "Messages handed to the broker's client and given up by it", 0,
          G_MAXUINT64, 0, ro));
  g_object_class_install_property (gobject_class, PROP_CONNECTED,
      g_param_spec_boolean ("connected", "Connected", "Whether the broker is reachable now", FALSE, ro));

  gst_element_class_set_static_metadata (element_class,
      "RetinaNet detections to a message broker", "Filter/Analyzer/Video",
      "Publishes each frame's region-of-interest metadata as one JSON message (the JSON-lines object) to MQTT, "
      "Kafka or a file, through a bounded queue that never blocks the stream, passing buffers on untouched",
      "gst-retinanet project");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_retinanet_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_retinanet_publish_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_retinanet_publish_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_retinanet_publish_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_retinanet_publish_transform_ip);
  /* Passthrough, yet every buffer is looked at. */
  trans_class->transform_ip_on_passthrough = TRUE;

  gst_type_mark_as_plugin_api (GST_TYPE_RETINANET_PUBLISH_METHOD, (GstPluginAPIFlags) 0);
  GST_DEBUG_CATEGORY_INIT (gst_retinanet_publish_debug, "retinanetpublish", 0,
      "RetinaNet detections to a message broker");
}

static void
gst_retinanet_publish_init (GstRetinanetPublish * self)
{
  self->method = DEFAULT_PROP_METHOD;
  self->address = g_strdup (DEFAULT_PROP_ADDRESS);
  self->topic = NULL;
  self->source_id = NULL;
  self->file_path = NULL;
  self->max_queued = DEFAULT_PROP_MAX_QUEUED;
  self->flush_timeout = DEFAULT_PROP_FLUSH_TIMEOUT;
  self->mqtt_qos = DEFAULT_PROP_MQTT_QOS;
  self->mqtt_client_id = NULL;
  self->mqtt_keep_alive = DEFAULT_PROP_MQTT_KEEP_ALIVE;
  self->username = NULL;
  self->password = NULL;
  self->tls_ca_file = NULL;
  self->tls_cert_file = NULL;
  self->tls_key_file = NULL;
  self->kafka_acks = g_strdup (DEFAULT_PROP_KAFKA_ACKS);
  self->kafka_compression = g_strdup (DEFAULT_PROP_KAFKA_COMPRESSION);
  self->kafka_config = NULL;
  self->impl = new RetinanetPublishImpl ();
  gst_video_info_init (&self->info);
  self->frame_number = 0;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_retinanet_publish_finalize (GObject * object)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (object);
  gchar **strings[] = { &self->address, &self->topic, &self->source_id, &self->file_path, &self->mqtt_client_id,
    &self->username, &self->password, &self->tls_ca_file, &self->tls_cert_file, &self->tls_key_file,
    &self->kafka_acks, &self->kafka_compression, &self->kafka_config
  };

  for (gchar ** s : strings)
    g_clear_pointer (s, g_free);
  delete self->impl;            /* its publisher was stopped at stop */
  self->impl = NULL;

  G_OBJECT_CLASS (parent_class)->finalize (object);
}

/* The string property behind `prop_id`, or NULL. */
static gchar **
string_field (GstRetinanetPublish * self, guint prop_id)
{
  switch (prop_id) {
    case PROP_ADDRESS: return &self->address;
    case PROP_TOPIC: return &self->topic;
    case PROP_SOURCE_ID: return &self->source_id;
    case PROP_FILE_PATH: return &self->file_path;
    case PROP_MQTT_CLIENT_ID: return &self->mqtt_client_id;
    case PROP_USERNAME: return &self->username;
    case PROP_PASSWORD: return &self->password;
    case PROP_TLS_CA_FILE: return &self->tls_ca_file;
    case PROP_TLS_CERT_FILE: return &self->tls_cert_file;
    case PROP_TLS_KEY_FILE: return &self->tls_key_file;
    case PROP_KAFKA_ACKS: return &self->kafka_acks;
    case PROP_KAFKA_COMPRESSION: return &self->kafka_compression;
    case PROP_KAFKA_CONFIG: return &self->kafka_config;
    default: return NULL;
  }
}

static void
gst_retinanet_publish_set_property (GObject * object, guint prop_id, const GValue * value, GParamSpec * pspec)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (object);
  gchar **field = string_field (self, prop_id);
  GstState state;

  if (!field && prop_id != PROP_METHOD && prop_id != PROP_MAX_QUEUED && prop_id != PROP_FLUSH_TIMEOUT &&
      prop_id != PROP_MQTT_QOS && prop_id != PROP_MQTT_KEEP_ALIVE) {
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    return;
  }

  GST_OBJECT_LOCK (self);
  state = GST_STATE (self);
  if (state <= GST_STATE_READY) {
    if (field) {
      g_free (*field);
      *field = g_value_get_string (value) && *g_value_get_string (value) ? g_value_dup_string (value) : NULL;
    } else if (prop_id == PROP_METHOD) {
      self->method = (GstRetinanetPublishMethod) g_value_get_enum (value);
    } else if (prop_id == PROP_MAX_QUEUED) {
      self->max_queued = g_value_get_uint (value);
    } else if (prop_id == PROP_FLUSH_TIMEOUT) {
      self->flush_timeout = g_value_get_uint (value);
    } else if (prop_id == PROP_MQTT_QOS) {
      self->mqtt_qos = g_value_get_uint (value);
    } else if (prop_id == PROP_MQTT_KEEP_ALIVE) {
      self->mqtt_keep_alive = g_value_get_uint (value);
    }
  }
  GST_OBJECT_UNLOCK (self);
  /* The connection is made at start; a change later would silently do nothing. */
  if (state > GST_STATE_READY)
    g_warning ("%s: property '%s' can only be set in the NULL or READY state", GST_OBJECT_NAME (self),
        pspec->name);
}

static void
gst_retinanet_publish_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (object);
  gchar **field = string_field (self, prop_id);
  retinanet::publish::PublishStats stats;

  GST_OBJECT_LOCK (self);
  if (self->impl->publisher)
    stats = self->impl->publisher->stats ();
  else
    stats = self->impl->final_stats;
  if (field) {
    g_value_set_string (value, *field);
  } else {
    switch (prop_id) {
      case PROP_METHOD:
        g_value_set_enum (value, self->method);
        break;
      case PROP_MAX_QUEUED:
        g_value_set_uint (value, self->max_queued);
        break;
      case PROP_FLUSH_TIMEOUT:
        g_value_set_uint (value, self->flush_timeout);
        break;
      case PROP_MQTT_QOS:
        g_value_set_uint (value, self->mqtt_qos);
        break;
      case PROP_MQTT_KEEP_ALIVE:
        g_value_set_uint (value, self->mqtt_keep_alive);
        break;
      case PROP_PUBLISHED:
        g_value_set_uint64 (value, stats.published);
        break;
      case PROP_DROPPED:
        g_value_set_uint64 (value, stats.dropped);
        break;
      case PROP_FAILED:
        g_value_set_uint64 (value, stats.failed);
        break;
      case PROP_CONNECTED:
        g_value_set_boolean (value, stats.connected);
        break;
      default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
        break;
    }
  }
  GST_OBJECT_UNLOCK (self);
}

static std::string
str (const gchar * s)
{
  return s ? s : "";
}

/* The properties as the publisher's settings; under the object lock. */
static retinanet::publish::PublishConfig
make_config (GstRetinanetPublish * self)
{
  using retinanet::publish::Method;
  retinanet::publish::PublishConfig c;
  c.method = self->method == GST_RETINANET_PUBLISH_METHOD_KAFKA ? Method::kKafka :
      self->method == GST_RETINANET_PUBLISH_METHOD_FILE ? Method::kFile : Method::kMqtt;
  c.address = str (self->address);
  c.topic = str (self->topic);
  c.source = self->source_id ? self->source_id : GST_OBJECT_NAME (self);
  c.file_path = str (self->file_path);
  c.max_queued = self->max_queued;
  c.mqtt.qos = (int) self->mqtt_qos;
  c.mqtt.client_id = str (self->mqtt_client_id);
  c.mqtt.keep_alive_s = (int) self->mqtt_keep_alive;
  c.mqtt.username = str (self->username);
  c.mqtt.password = str (self->password);
  c.mqtt.ca_file = str (self->tls_ca_file);
  c.mqtt.cert_file = str (self->tls_cert_file);
  c.mqtt.key_file = str (self->tls_key_file);
  c.kafka.acks = str (self->kafka_acks);
  c.kafka.compression = str (self->kafka_compression);
  c.kafka.extra = str (self->kafka_config);
  return c;
}

static void
post_connection_message (GstRetinanetPublish * self, gboolean connected, const retinanet::publish::PublishEvent & e)
{
  GstStructure *s = gst_structure_new ("retinanetpublish-connection",
      "connected", G_TYPE_BOOLEAN, connected,
      "dropped", G_TYPE_UINT64, (guint64) e.dropped_total,
      "dropped-during-outage", G_TYPE_UINT64, (guint64) e.dropped_during_outage,
      "reason", G_TYPE_STRING, e.reason.c_str (), NULL);
  gst_element_post_message (GST_ELEMENT (self), gst_message_new_element (GST_OBJECT (self), s));
}

/* The publisher's events as bus messages; on the publisher's worker thread, with none of its locks held. */
static void
on_publish_event (GstRetinanetPublish * self, const std::string & target, const retinanet::publish::PublishEvent & e)
{
  using Kind = retinanet::publish::PublishEvent::Kind;
  switch (e.kind) {
    case Kind::kConnectionLost:
      if (e.at_start)
        GST_ELEMENT_WARNING (self, RESOURCE, OPEN_WRITE,
            ("Could not reach the broker (%s); retrying with backoff while messages wait in the queue "
                "(%" G_GUINT64_FORMAT " dropped so far).", target.c_str (), (guint64) e.dropped_total),
            ("%s", e.reason.c_str ()));
      else
        GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
            ("Lost the connection to the broker (%s); reconnecting with backoff while messages wait in the queue "
                "(%" G_GUINT64_FORMAT " dropped so far).", target.c_str (), (guint64) e.dropped_total),
            ("%s", e.reason.c_str ()));
      post_connection_message (self, FALSE, e);
      break;
    case Kind::kConnectionRestored:
      GST_ELEMENT_INFO (self, RESOURCE, WRITE,
          ("Connected to the broker again (%s) after %.1f s; %" G_GUINT64_FORMAT " messages were dropped meanwhile "
              "(%" G_GUINT64_FORMAT " in all).", target.c_str (), e.outage_seconds,
              (guint64) e.dropped_during_outage, (guint64) e.dropped_total),
          ("connected again to %s after %.1f s; %" G_GUINT64_FORMAT " dropped meanwhile, %" G_GUINT64_FORMAT
              " in all", target.c_str (), e.outage_seconds, (guint64) e.dropped_during_outage,
              (guint64) e.dropped_total));
      post_connection_message (self, TRUE, e);
      break;
    case Kind::kDeliveryFailed:{
      const auto now = std::chrono::steady_clock::now ();
      if (now - self->impl->last_failure_warning < FAILURE_WARNING_INTERVAL)
        break;
      self->impl->last_failure_warning = now;
      GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
          ("The broker (%s) did not take %" G_GUINT64_FORMAT " message(s).", target.c_str (), (guint64) e.count),
          ("%s", e.reason.c_str ()));
      break;
    }
  }
}

static gboolean
gst_retinanet_publish_start (GstBaseTransform * trans)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (trans);
  retinanet::publish::PublishConfig config;
  std::string failure;

  GST_OBJECT_LOCK (self);
  config = make_config (self);
  GST_OBJECT_UNLOCK (self);

  self->frame_number = 0;
  gst_video_info_init (&self->info);
  try {
    std::unique_ptr<retinanet::publish::Transport> transport = retinanet::publish::make_transport (config);
    const std::string target = transport->describe ();
    auto publisher = std::make_unique<retinanet::publish::Publisher> (std::move (transport), config.max_queued,
        [self, target] (const retinanet::publish::PublishEvent & e) { on_publish_event (self, target, e); });
    self->impl->source = config.source;
    self->impl->last_failure_warning = {};
    publisher->start ();
    GST_INFO_OBJECT (self, "publishing to %s as source \"%s\"", target.c_str (), config.source.c_str ());
    GST_OBJECT_LOCK (self);
    self->impl->publisher = std::move (publisher);
    GST_OBJECT_UNLOCK (self);
  } catch (const retinanet::publish::PublishError & e) {
    failure = e.what ();
    goto refused;
  } catch (const std::exception & e) {
    failure = e.what ();
    goto failed;
  }
  return TRUE;

refused:
  GST_ELEMENT_ERROR (self, RESOURCE, SETTINGS,
      ("Cannot publish with method %s: %s.", retinanet::publish::method_name (config.method), failure.c_str ()),
      ("address \"%s\", topic \"%s\", source \"%s\"", config.address.c_str (), config.topic.c_str (),
          config.source.c_str ()));
  return FALSE;

failed:
  GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Could not start publishing."), ("%s", failure.c_str ()));
  return FALSE;
}

static gboolean
gst_retinanet_publish_stop (GstBaseTransform * trans)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (trans);
  std::unique_ptr<retinanet::publish::Publisher> publisher;

  GST_OBJECT_LOCK (self);
  publisher = std::move (self->impl->publisher);
  GST_OBJECT_UNLOCK (self);
  if (!publisher)
    return TRUE;
  /* The worker may be posting a message (it takes the object lock): joined outside it. What was not flushed at
   * EOS is dropped; closing waits at most a second for the connection to close cleanly. */
  publisher->stop (std::chrono::milliseconds (1000));
  const retinanet::publish::PublishStats stats = publisher->stats ();
  GST_INFO_OBJECT (self, "stopped: %" G_GUINT64_FORMAT " published, %" G_GUINT64_FORMAT " dropped, %"
      G_GUINT64_FORMAT " failed", (guint64) stats.published, (guint64) stats.dropped, (guint64) stats.failed);
  GST_OBJECT_LOCK (self);
  self->impl->final_stats = stats;
  GST_OBJECT_UNLOCK (self);
  return TRUE;
}

static gboolean
gst_retinanet_publish_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (trans);

  if (!gst_video_info_from_caps (&self->info, incaps))
    goto invalid_caps;
  return TRUE;

invalid_caps:
  GST_ERROR_OBJECT (self, "invalid caps %" GST_PTR_FORMAT, incaps);
  return FALSE;
}

static gboolean
gst_retinanet_publish_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (trans);
  retinanet::publish::Publisher * publisher = self->impl->publisher.get ();

  switch (GST_EVENT_TYPE (event)) {
    case GST_EVENT_EOS:
      /* Everything published reaches the broker before EOS goes on, within flush-timeout. */
      if (publisher) {
        guint timeout;
        GST_OBJECT_LOCK (self);
        timeout = self->flush_timeout;
        GST_OBJECT_UNLOCK (self);
        const retinanet::publish::FlushResult flushed = publisher->flush (std::chrono::milliseconds (timeout));
        if (!flushed.complete)
          GST_ELEMENT_WARNING (self, RESOURCE, WRITE,
              ("%" G_GUINT64_FORMAT " message(s) were not acknowledged by the broker (%s) within the flush timeout "
                  "(%u ms) at the end of the stream.", (guint64) flushed.remaining, publisher->describe ().c_str (),
                  timeout), (NULL));
      }
      break;
    case GST_EVENT_FLUSH_START:
      /* An EOS wait in progress ends now; the queued messages stay (their frames did pass). */
      if (publisher)
        publisher->cancel_flush ();
      break;
    default:
      break;
  }
  return GST_BASE_TRANSFORM_CLASS (parent_class)->sink_event (trans, event);
}

static GstFlowReturn
gst_retinanet_publish_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  GstRetinanetPublish *self = GST_RETINANET_PUBLISH (trans);
  const int width = GST_VIDEO_INFO_WIDTH (&self->info), height = GST_VIDEO_INFO_HEIGHT (&self->info);

  try {
    std::string message = retinanet::gst::frame_json (buffer, self->frame_number, width, height,
        self->impl->source).dump ();
    self->impl->publisher->publish (std::move (message));
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, STREAM, FAILED, ("Could not write the detections as JSON."), ("%s", e.what ()));
    return GST_FLOW_ERROR;
  }
  ++self->frame_number;
  return GST_FLOW_OK;
}

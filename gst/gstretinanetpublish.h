/* retinanetpublish: publishes each frame's detections (one JSON object per frame) to an MQTT broker, Kafka or a
 * file, passing buffers on untouched. */
#ifndef __GST_RETINANET_PUBLISH_H__
#define __GST_RETINANET_PUBLISH_H__

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

typedef enum
{
  GST_RETINANET_PUBLISH_METHOD_MQTT,
  GST_RETINANET_PUBLISH_METHOD_KAFKA,
  GST_RETINANET_PUBLISH_METHOD_FILE,
} GstRetinanetPublishMethod;

#define GST_TYPE_RETINANET_PUBLISH_METHOD (gst_retinanet_publish_method_get_type ())
GType gst_retinanet_publish_method_get_type (void);

#define GST_TYPE_RETINANET_PUBLISH (gst_retinanet_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstRetinanetPublish, gst_retinanet_publish, GST, RETINANET_PUBLISH, GstBaseTransform)

struct RetinanetPublishImpl;

struct _GstRetinanetPublish
{
  GstBaseTransform parent;

  /* properties, guarded by the object lock; read at start */
  GstRetinanetPublishMethod method;
  gchar *address;
  gchar *topic;
  gchar *source_id;
  gchar *file_path;
  guint max_queued;
  guint flush_timeout;      /* ms */
  guint mqtt_qos;
  gchar *mqtt_client_id;
  guint mqtt_keep_alive;    /* s */
  gchar *username;
  gchar *password;
  gchar *tls_ca_file;
  gchar *tls_cert_file;
  gchar *tls_key_file;
  gchar *kafka_acks;
  gchar *kafka_compression;
  gchar *kafka_config;

  /* streaming state: made at start, deleted at stop (C++: the publisher, the source id in use) */
  struct RetinanetPublishImpl *impl;
  GstVideoInfo info;
  guint64 frame_number;
};

GST_ELEMENT_REGISTER_DECLARE (retinanetpublish);

G_END_DECLS

#endif /* __GST_RETINANET_PUBLISH_H__ */

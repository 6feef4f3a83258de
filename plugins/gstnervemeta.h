/* GstNerveClassificationMeta: the result of a Nerve classifier (nervesentiment...)
 * attached to the buffer it describes.
 *
 * This header is public and self-contained: an application reads the meta WITHOUT
 * linking libnerve or the plugin. The plugin registers the API type when it loads; the
 * inline helpers below find it by name, so this works from any app that loaded the
 * `nerve` plugin (any pipeline holding a nerve element):
 *
 *   const GstNerveClassificationMeta *m = gst_buffer_get_nerve_classification_meta (buf);
 *   if (m)
 *     g_print ("%s %.3f\n", m->label_name, m->confidence);
 *
 * Strings in the meta are interned (g_intern_string): compare them by pointer or with
 * strcmp, never free them. The meta is copied with the buffer (gst_buffer_copy...). */
#pragma once
#include <gst/gst.h>

G_BEGIN_DECLS

/* The registered names: the API type, and the implementation. */
#define GST_NERVE_CLASSIFICATION_META_API_NAME "GstNerveClassificationMetaAPI"
#define GST_NERVE_CLASSIFICATION_META_IMPL_NAME "GstNerveClassificationMeta"

typedef struct {
  GstMeta meta;
  gint label;                /* index of the winning class, in [0, n_classes) */
  const gchar *label_name;   /* its name, interned ("negative", "positive"...) */
  gfloat confidence;         /* probability of label, in [0, 1] */
  guint n_classes;
  gfloat *scores;            /* [n_classes] softmax probabilities, summing to 1 */
  const gchar **class_names; /* [n_classes] interned names, in the model's label order */
  gboolean truncated;        /* the text had more tokens than the classifier took */
} GstNerveClassificationMeta;

/* The API type, or 0 while no nerve plugin has been loaded in this process. */
static inline GType
gst_nerve_classification_meta_api_type_lookup (void)
{
  return g_type_from_name (GST_NERVE_CLASSIFICATION_META_API_NAME);
}

static inline GstNerveClassificationMeta *
gst_buffer_get_nerve_classification_meta (GstBuffer *buffer)
{
  GType api = gst_nerve_classification_meta_api_type_lookup ();
  return api ? (GstNerveClassificationMeta *) gst_buffer_get_meta (buffer, api) : NULL;
}

/* Plugin side (libgstnerve.so only). */
#ifdef GST_NERVE_PLUGIN_INTERNAL
GType gst_nerve_classification_meta_api_get_type (void);
const GstMetaInfo *gst_nerve_classification_meta_get_info (void);
/* Adds the meta with copies of scores and interned names (class_names: n strings). */
GstNerveClassificationMeta *gst_buffer_add_nerve_classification_meta (GstBuffer *buffer, gint label,
                                                                      gfloat confidence, const gfloat *scores,
                                                                      const gchar *const *class_names,
                                                                      guint n_classes, gboolean truncated);
#endif

G_END_DECLS

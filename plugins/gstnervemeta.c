/* Registration and lifetime of GstNerveClassificationMeta (see gstnervemeta.h). */
#include "gstnervemeta.h"

#include <string.h>

GType
gst_nerve_classification_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL }; /* describes the content, not its layout or memory */
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register (GST_NERVE_CLASSIFICATION_META_API_NAME, tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

static gboolean
meta_init (GstMeta *meta, gpointer params, GstBuffer *buffer)
{
  GstNerveClassificationMeta *m = (GstNerveClassificationMeta *) meta;
  m->label = -1;
  m->label_name = NULL;
  m->confidence = 0;
  m->n_classes = 0;
  m->scores = NULL;
  m->class_names = NULL;
  m->truncated = FALSE;
  return TRUE;
}

static void
meta_free (GstMeta *meta, GstBuffer *buffer)
{
  GstNerveClassificationMeta *m = (GstNerveClassificationMeta *) meta;
  g_free (m->scores);
  g_free (m->class_names); /* the strings are interned */
}

static gboolean
meta_transform (GstBuffer *dest, GstMeta *meta, GstBuffer *src, GQuark type, gpointer data)
{
  GstNerveClassificationMeta *m = (GstNerveClassificationMeta *) meta;
  /* the classification describes the whole text: keep it on copies and on
   * sub-buffers alike (a region of a unit is still that unit's text) */
  if (!GST_META_TRANSFORM_IS_COPY (type))
    return FALSE;
  return gst_buffer_add_nerve_classification_meta (dest, m->label, m->confidence, m->scores,
                                                   m->class_names, m->n_classes, m->truncated) != NULL;
}

const GstMetaInfo *
gst_nerve_classification_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) &info)) {
    const GstMetaInfo *i = gst_meta_register (gst_nerve_classification_meta_api_get_type (),
                                              GST_NERVE_CLASSIFICATION_META_IMPL_NAME,
                                              sizeof (GstNerveClassificationMeta), meta_init, meta_free,
                                              meta_transform);
    g_once_init_leave ((GstMetaInfo **) &info, (GstMetaInfo *) i);
  }
  return info;
}

GstNerveClassificationMeta *
gst_buffer_add_nerve_classification_meta (GstBuffer *buffer, gint label, gfloat confidence, const gfloat *scores,
                                          const gchar *const *class_names, guint n_classes, gboolean truncated)
{
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (n_classes > 0 && label >= 0 && (guint) label < n_classes, NULL);
  g_return_val_if_fail (scores != NULL && class_names != NULL, NULL);
  GstNerveClassificationMeta *m = (GstNerveClassificationMeta *) gst_buffer_add_meta (
    buffer, gst_nerve_classification_meta_get_info (), NULL);
  if (!m)
    return NULL;
  m->label = label;
  m->confidence = confidence;
  m->n_classes = n_classes;
  m->scores = g_memdup2 (scores, sizeof (gfloat) * n_classes);
  m->class_names = g_new (const gchar *, n_classes);
  for (guint i = 0; i < n_classes; i++)
    m->class_names[i] = g_intern_string (class_names[i]);
  m->label_name = m->class_names[label];
  m->truncated = truncated;
  return m;
}

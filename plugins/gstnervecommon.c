#include "gstnervecommon.h"

#include "model-path.h"
#include "modelfile.h"

NerveModel *
gst_nerve_load_model (GstElement *e, const gchar *kind, const gchar *prop, const gchar *installed, gchar **path)
{
  g_autofree gchar *file_name = g_strconcat (kind, ".nerve", NULL);
  const gchar *const fallbacks[] = { installed, NULL };
  g_autoptr (GError) err = NULL;
  *path = prop && *prop ? g_strdup (prop) : nerve_model_find_default (file_name, fallbacks, &err);
  if (!*path) {
    GST_ELEMENT_ERROR (e, RESOURCE, NOT_FOUND, ("No %s model found", kind),
                       ("Set the model property (nerve%s model=/path/to/%s) or put the model in one of the "
                        "places searched: %s",
                        kind, file_name, err->message));
    return NULL;
  }
  GST_DEBUG_OBJECT (e, "loading model %s", *path);
  NerveModel *m = nerve_model_load (*path, &err);
  if (!m) {
    if (g_file_test (*path, G_FILE_TEST_EXISTS))
      GST_ELEMENT_ERROR (e, RESOURCE, OPEN_READ, ("Could not load model"), ("%s", err->message));
    else
      GST_ELEMENT_ERROR (e, RESOURCE, NOT_FOUND, ("Could not load model"), ("%s", err->message));
  }
  return m;
}

void
gst_nerve_model_unusable (GstElement *e, const gchar *path, const GError *err)
{
  GST_ELEMENT_ERROR (e, RESOURCE, OPEN_READ, ("Could not load model"), ("%s: %s", path, err->message));
}

void
gst_nerve_segment_times (const GstSegment *segment, GstClockTime ts, GstClockTime *running_time,
                         GstClockTime *stream_time)
{
  *running_time = *stream_time = GST_CLOCK_TIME_NONE;
  if (GST_CLOCK_TIME_IS_VALID (ts) && segment->format == GST_FORMAT_TIME) {
    *running_time = gst_segment_to_running_time (segment, GST_FORMAT_TIME, ts);
    *stream_time = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, ts);
  }
}

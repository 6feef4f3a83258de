/* What the nerve elements share: finding and loading their model at start-up with
 * GStreamer errors, and the times their element messages carry. */
#pragma once
#include <gst/gst.h>

#include "model.h"

G_BEGIN_DECLS

/* The model for element E of KIND ("denoise": element nervedenoise, file denoise.nerve):
 * the file PROP when set, else nerve_model_find_default's search with INSTALLED as the
 * fallback. Posts a RESOURCE NOT_FOUND (nothing to load) or OPEN_READ (not a readable
 * model) error and returns NULL on failure; *path gets the file loaded. */
NerveModel *gst_nerve_load_model (GstElement *e, const gchar *kind, const gchar *prop, const gchar *installed,
                                  gchar **path);

/* Posts the OPEN_READ error for a model that loaded but does not fit the element:
 * "PATH: ERR". */
void gst_nerve_model_unusable (GstElement *e, const gchar *path, const GError *err);

/* The running and stream time of TS in SEGMENT (GST_CLOCK_TIME_NONE when TS is not
 * valid or SEGMENT is not in TIME), as the elements' messages report them. */
void gst_nerve_segment_times (const GstSegment *segment, GstClockTime ts, GstClockTime *running_time,
                              GstClockTime *stream_time);

G_END_DECLS

/* nervesentiment: sentiment of each line or sentence of a UTF-8 text stream (see the
 * SECTION block in gstnervesentiment.c for caps, properties, messages and the meta). */
#pragma once
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_NERVE_SENTIMENT (gst_nerve_sentiment_get_type ())
G_DECLARE_FINAL_TYPE (GstNerveSentiment, gst_nerve_sentiment, GST, NERVE_SENTIMENT, GstElement)

/* How the text stream is cut into units. */
typedef enum {
  GST_NERVE_SENTIMENT_SEGMENT_LINE,     /* one unit per line */
  GST_NERVE_SENTIMENT_SEGMENT_SENTENCE, /* . ! ? followed by whitespace, or a blank line */
} GstNerveSentimentSegment;

/* What goes downstream for each unit. */
typedef enum {
  GST_NERVE_SENTIMENT_OUTPUT_TEXT, /* the unit's text and a newline */
  GST_NERVE_SENTIMENT_OUTPUT_JSON, /* one JSON object and a newline */
} GstNerveSentimentOutput;

#define GST_TYPE_NERVE_SENTIMENT_SEGMENT (gst_nerve_sentiment_segment_get_type ())
GType gst_nerve_sentiment_segment_get_type (void);
#define GST_TYPE_NERVE_SENTIMENT_OUTPUT (gst_nerve_sentiment_output_get_type ())
GType gst_nerve_sentiment_output_get_type (void);

GST_ELEMENT_REGISTER_DECLARE (nervesentiment);

G_END_DECLS

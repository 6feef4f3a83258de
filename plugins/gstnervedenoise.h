/* nervedenoise: streaming speech enhancement with a Nerve denoise model (see the
 * SECTION block in gstnervedenoise.c for caps, properties, latency, meta and messages). */
#pragma once
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_NERVE_DENOISE (gst_nerve_denoise_get_type ())
G_DECLARE_FINAL_TYPE (GstNerveDenoise, gst_nerve_denoise, GST, NERVE_DENOISE, GstElement)

GST_ELEMENT_REGISTER_DECLARE (nervedenoise);

G_END_DECLS

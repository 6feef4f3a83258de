/* The `nerve` GStreamer plugin (libgstnerve.so): registers Nerve's elements. */
#include <gst/gst.h>

#include "gstnervedenoise.h"
#include "gstnervemeta.h"
#include "gstnervesentiment.h"

static gboolean
plugin_init (GstPlugin *plugin)
{
  gboolean ok = FALSE;
  /* registered up front so that apps find the meta API by name (gstnervemeta.h) */
  gst_nerve_classification_meta_get_info ();
  ok |= GST_ELEMENT_REGISTER (nervesentiment, plugin);
  ok |= GST_ELEMENT_REGISTER (nervedenoise, plugin);
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, nerve,
                   "Nerve neural runtime: text sentiment, speech denoising and other neural elements", plugin_init, VERSION, "LGPL", "Nerve",
                   "Unknown package origin")

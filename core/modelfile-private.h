/* Shared by the model-file loader and saver; not installed. */
#pragma once
#include <glib.h>

#define NERVE_KEY_VERSION "nerve.format_version"
#define NERVE_KEY_ARCH "nerve.architecture"
#define NERVE_KEY_EXTRAS "nerve.extras" /* JSON list of the F32 extras' names */
#define NERVE_KEY_BLOBS "nerve.blobs"   /* JSON list of the U8 blobs' names */

/* Metadata the saver writes itself (from the model's state, not m->metadata). */
static inline gboolean
nerve_modelfile_key_is_generated (const char *key)
{
  return g_str_equal (key, NERVE_KEY_VERSION) || g_str_equal (key, NERVE_KEY_ARCH) ||
         g_str_equal (key, NERVE_KEY_EXTRAS) || g_str_equal (key, NERVE_KEY_BLOBS);
}

/* The keys of a string-keyed table, sorted (files and listings are then the same on
 * every run); the array does not own them. */
GPtrArray *nerve_modelfile_sorted_keys (GHashTable *h);

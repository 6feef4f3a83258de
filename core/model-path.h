/* Finding a default model file when none is named: the CLI and the GStreamer elements
 * share one search order so that a model put in one place serves them all. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* The default model FILE_NAME (e.g. "denoise.nerve", stem "denoise"): the first regular
 * file among <dir>/FILE_NAME and <dir>/<stem>/FILE_NAME for each directory of the
 * NERVE_MODEL_PATH environment variable (G_SEARCHPATH_SEPARATOR-separated, empty
 * entries skipped), then the paths of FALLBACKS in order (NULL-terminated, may be NULL:
 * e.g. the installed <datadir>/nerve/models/FILE_NAME, or models/<stem>/FILE_NAME of the
 * source tree). Returns a newly allocated path, or NULL with NERVE_ERROR_IO naming
 * every place searched. */
char *nerve_model_find_default (const char *file_name, const char *const *fallbacks, GError **error);

G_END_DECLS

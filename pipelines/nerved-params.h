/* nerved: checking and rendering one template parameter value (private to the template
 * code: nerved-template.c parses templates, nerved-params.c checks values). */
#pragma once

#include "nerved-template.h"

G_BEGIN_DECLS

/* [A-Za-z0-9_-]{1,64}: parameter names (they appear as ${name} in launch lines) */
gboolean nerved_param_name_valid (const char *name);

/* Checks value (a JSON scalar; strings are parsed for int/float/bool) against p and returns
 * the text that replaces ${name} in the launch line; *effective (may be NULL) gets the
 * typed value. at_load: checking a template's default, where data roots are not known yet
 * (paths and file: URIs are then only checked for their form). trusted: a value the daemon
 * made itself (its spool files): inserted without the data-root check. Errors name p. */
char *nerved_param_render (const NervedParam *p, JsonNode *value, const char *const *data_roots,
    gboolean at_load, gboolean trusted, JsonNode **effective, GError **error);

const char *nerved_param_type_name (NervedParamType t);
gboolean nerved_param_type_parse (const char *s, NervedParamType *out);

/* How templates decide whether an element factory is installed (default NULL:
 * gst_element_factory_find, initializing GStreamer when needed). The fuzz target sets a
 * stub so that it never starts GStreamer. Not thread-safe: set it before loading. */
extern gboolean (*nerved_factory_exists) (const char *name);

/* Whole-value match of a pattern (the regex must match all of s). */
gboolean nerved_pattern_matches (GRegex *re, const char *s);

G_END_DECLS

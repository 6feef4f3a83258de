/* nerved: pipeline templates and their typed parameters.
 *
 * A template is a GKeyFile (*.pipeline) in a templates directory:
 *
 *   [template]
 *   name = denoise-file                  # [a-z0-9-]{1,64}; defaults to the file's basename
 *   description = Denoise an audio file into a WAV file
 *   launch = filesrc location=${input} ! decodebin ! audioconvert ! audioresample ! \
 *            nervedenoise attenuation-limit=${limit} ! wavenc ! filesink location=${output}
 *   job = false                          # true: POST a file to it, get results (see job-input)
 *   job-input = input                    # the path parameter the uploaded file fills
 *   job-output = output                  # optional: a path parameter the daemon fills with a
 *                                        # spool file that the client can download afterwards
 *   messages = level                     # element messages forwarded as events besides those
 *                                        # of nerve* elements (structure names)
 *   restart = never                      # default policy: never | on-failure | always
 *
 *   [param input]
 *   type = path                          # int | float | bool | enum | path | uri | string
 *   description = Audio file to read
 *   default = ...                        # absent: required
 *   min = / max =                        # int, float
 *   values = low;high                    # enum
 *   pattern = ^[a-z]+$                   # string, uri (must match the whole value)
 *   access = read | write                # path: read (must exist, regular file) or write
 *                                        # (parent must exist; file may not exist yet)
 *   schemes = rtp;udp;http;https;file    # uri: allowed schemes (file: URIs obey data roots)
 *
 * Placeholders ${name} may appear in the launch only as a whole property value
 * (`prop=${name}`); loading refuses anything else, unknown placeholders and parameters the
 * launch never uses. Every value is rendered by the daemon, never pasted: numbers in
 * canonical form, bools as true/false, enums from their list, paths resolved inside the
 * data roots (realpath: no `..`, no symlink escape), strings refused when they hold
 * pipeline syntax (`!`, `=`, quotes, backslash, control characters, newlines) and then
 * quoted. */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef enum {
  NERVED_PARAM_INT,
  NERVED_PARAM_FLOAT,
  NERVED_PARAM_BOOL,
  NERVED_PARAM_ENUM,
  NERVED_PARAM_PATH,
  NERVED_PARAM_URI,
  NERVED_PARAM_STRING,
} NervedParamType;

typedef enum {
  NERVED_RESTART_NEVER,
  NERVED_RESTART_ON_FAILURE,
  NERVED_RESTART_ALWAYS,
} NervedRestartPolicy;

typedef struct {
  char *name;
  char *description;
  NervedParamType type;
  char *default_value;      /* NULL: required */
  double min, max;          /* int/float; -inf/+inf when absent */
  char **values;            /* enum choices (NULL-terminated) */
  GRegex *pattern;          /* string/uri; NULL when absent */
  gboolean write;           /* path: access = write */
  char **schemes;           /* uri */
} NervedParam;

typedef struct {
  char *name;
  char *description;
  char *file;               /* where it was loaded from */
  char *launch;             /* with ${param} placeholders */
  GPtrArray *params;        /* NervedParam *, in file order */
  gboolean job;
  char *job_input;          /* job: name of the path parameter the upload fills */
  char *job_output;         /* job: optional path parameter filled with a spool file */
  char **messages;          /* extra element-message names to forward (NULL-terminated) */
  NervedRestartPolicy restart;
  char **missing;           /* element factories the launch names that are not installed
                               (NULL when runnable); such templates list but refuse to run */
} NervedTemplate;

NervedTemplate *nerved_template_parse (const char *data, gsize len, const char *file, GError **error);
NervedTemplate *nerved_template_load (const char *path, GError **error);
void nerved_template_free (NervedTemplate *t);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NervedTemplate, nerved_template_free)

const NervedParam *nerved_template_find_param (const NervedTemplate *t, const char *name);

/* Loads every *.pipeline in dirs (later dirs override earlier ones by name). A bad file is
 * skipped with a g_warning naming it and why; a missing or unreadable dir is an error.
 * Returns name -> NervedTemplate * (owned by the table). */
GHashTable *nerved_templates_load_dirs (const char *const *dirs, GError **error);

/* Checks every value in params (a JSON object: name -> number/bool/string) against the
 * template and renders the launch line. Unknown names, wrong JSON types, out-of-range
 * values, paths outside data_roots, injected syntax, missing required values:
 * NERVED_ERROR_BAD_PARAM with a message that starts with the parameter's name.
 * trusted: name -> value inserted without the data-root check (the daemon's own spool
 * files for job-input/job-output); clients may not set those names. Also returns the
 * effective values (defaults filled in, paths resolved) in *effective when not NULL. */
char *nerved_template_render (const NervedTemplate *t, JsonObject *params,
    const char *const *data_roots, GHashTable *trusted, JsonObject **effective, GError **error);

/* Resolves a client path inside the data roots: relative paths are relative to the first
 * root; the result (realpath, or realpath of the parent + basename when write) must lie
 * inside one root. */
char *nerved_path_resolve (const char *path, gboolean write, const char *const *data_roots, GError **error);

JsonObject *nerved_template_to_json (const NervedTemplate *t);  /* for GET /v1/templates */
const char *nerved_restart_policy_name (NervedRestartPolicy p);
gboolean nerved_restart_policy_parse (const char *s, NervedRestartPolicy *out);

G_END_DECLS

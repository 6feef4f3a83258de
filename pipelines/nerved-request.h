/* nerved: parsing what clients send (JSON bodies, query strings). Outside bytes: every
 * parser here is fuzzed (fuzz/fuzz-nerved-request.c). */
#pragma once

#include <json-glib/json-glib.h>
#include "nerved-template.h"

G_BEGIN_DECLS

/* POST /v1/pipelines body:
 *   {"template": "denoise-file", "params": {...}, "id": "my-denoiser",
 *    "restart": "on-failure", "start": true}
 * or {"launch": "audiotestsrc ! fakesink", ...} (daemon decides whether that is allowed).
 * Exactly one of template/launch. Unknown fields, wrong types, invalid UTF-8, trailing
 * garbage, non-object bodies: NERVED_ERROR_BAD_REQUEST naming the field. */
typedef struct {
  char *template_name;        /* NULL when launch is set */
  char *launch;
  char *id;                   /* NULL: the daemon picks one */
  JsonObject *params;         /* never NULL after a successful parse */
  gboolean has_restart;
  NervedRestartPolicy restart;
  gboolean start;             /* default TRUE */
} NervedCreateRequest;

gboolean nerved_create_request_parse (const char *body, gsize len, NervedCreateRequest *out, GError **error);
void nerved_create_request_clear (NervedCreateRequest *r);

/* Pipeline and job ids: [A-Za-z0-9_-]{1,64}. */
gboolean nerved_id_valid (const char *id);

/* A query string's fields (already split, e.g. by g_uri_parse_params) as a JSON object of
 * string values for template parameters, minus the names in reserved (e.g. "template",
 * "wait"). Invalid UTF-8: NERVED_ERROR_BAD_REQUEST. */
JsonObject *nerved_query_to_params (GHashTable *query, const char *const *reserved, GError **error);

/* Bearer tokens: one per line in a file that only its owner may read or write (mode 0600
 * or 0400; anything else refuses to start); blank lines and # comments ignored. */
typedef struct NervedTokens NervedTokens;
NervedTokens *nerved_tokens_load (const char *path, GError **error);
void nerved_tokens_free (NervedTokens *t);
/* The value of an Authorization header ("Bearer <token>"), compared in constant time. */
gboolean nerved_tokens_check (const NervedTokens *t, const char *authorization);

G_END_DECLS

/* nerved: errors that map onto HTTP answers.
 *
 * Every fallible daemon function reports a GError in NERVED_ERROR; the HTTP layer turns
 * it into {"error": {"code": <name>, "message": <message>}} with the status below. The
 * message is for people: it names the parameter, field or element and says why. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define NERVED_ERROR (nerved_error_quark ())
GQuark nerved_error_quark (void);

typedef enum {
  NERVED_ERROR_BAD_REQUEST,   /* 400 "bad_request": malformed JSON, wrong type, unknown field */
  NERVED_ERROR_BAD_PARAM,     /* 400 "bad_param": a template parameter (message names it) */
  NERVED_ERROR_UNAUTHORIZED,  /* 401 "unauthorized": no or unknown bearer token */
  NERVED_ERROR_FORBIDDEN,     /* 403 "forbidden": e.g. launch strings while not allowed */
  NERVED_ERROR_NOT_FOUND,     /* 404 "not_found": pipeline, template, job, route */
  NERVED_ERROR_CONFLICT,      /* 409 "conflict": wrong state for the action, id taken */
  NERVED_ERROR_TOO_LARGE,     /* 413 "too_large": body over the limit */
  NERVED_ERROR_UNPROCESSABLE, /* 422 "unprocessable": pipeline cannot be built (parser message) */
  NERVED_ERROR_LIMIT,         /* 429 "limit": too many pipelines / SSE clients / jobs */
  NERVED_ERROR_INTERNAL,      /* 500 "internal" */
  NERVED_ERROR_CONFIG,        /* start-up: bad config, token file, templates dir (not HTTP) */
} NervedErrorCode;

/* HTTP status for an error (500 for errors outside NERVED_ERROR). */
guint nerved_error_http_status (const GError *error);
/* Stable machine-readable name ("bad_param", ...) for the JSON "code" field. */
const char *nerved_error_code_name (const GError *error);

G_END_DECLS

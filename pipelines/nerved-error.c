/* nerved: the error domain and its HTTP mapping (nerved-error.h). */
#include "nerved-error.h"

G_DEFINE_QUARK (nerved-error-quark, nerved_error)

static const struct {
  guint status;
  const char *name;
} codes[] = {
  [NERVED_ERROR_BAD_REQUEST] = { 400, "bad_request" },
  [NERVED_ERROR_BAD_PARAM] = { 400, "bad_param" },
  [NERVED_ERROR_UNAUTHORIZED] = { 401, "unauthorized" },
  [NERVED_ERROR_FORBIDDEN] = { 403, "forbidden" },
  [NERVED_ERROR_NOT_FOUND] = { 404, "not_found" },
  [NERVED_ERROR_CONFLICT] = { 409, "conflict" },
  [NERVED_ERROR_TOO_LARGE] = { 413, "too_large" },
  [NERVED_ERROR_UNPROCESSABLE] = { 422, "unprocessable" },
  [NERVED_ERROR_LIMIT] = { 429, "limit" },
  [NERVED_ERROR_INTERNAL] = { 500, "internal" },
  /* start-up errors never reach a client; should one slip through it is the daemon's fault */
  [NERVED_ERROR_CONFIG] = { 500, "config" },
};

static gboolean
known (const GError *error)
{
  return error && error->domain == NERVED_ERROR && error->code >= 0 && (gsize) error->code < G_N_ELEMENTS (codes);
}

guint
nerved_error_http_status (const GError *error)
{
  return known (error) ? codes[error->code].status : 500;
}

const char *
nerved_error_code_name (const GError *error)
{
  return known (error) ? codes[error->code].name : "internal";
}

/* Nerve error domain: every boundary (files, configs, user text) reports through it. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NERVE_ERROR (nerve_error_quark ())
GQuark nerve_error_quark (void);

typedef enum {
  NERVE_ERROR_IO,          /* could not read or write a file */
  NERVE_ERROR_FORMAT,      /* bytes do not follow the expected format */
  NERVE_ERROR_VERSION,     /* a format version this build does not know */
  NERVE_ERROR_SHAPE,       /* a tensor shape does not match what is expected */
  NERVE_ERROR_UNSUPPORTED, /* a valid request this build cannot do */
  NERVE_ERROR_NOMEM,       /* an allocation failed or would be unreasonably large */
  NERVE_ERROR_INVALID,     /* a parameter or configuration value is out of range */
} NerveError;

G_END_DECLS

/* nerved: enum <-> name tables: a const char *const array indexed by the enum value. */
#pragma once

#include <glib.h>

/* names[i], or fallback when i is outside the table (or has no name) */
static inline const char *
nerved_name_of (const char *const *names, guint n, guint i, const char *fallback)
{
  return i < n && names[i] ? names[i] : fallback;
}

/* The index of s in names; FALSE (out untouched) when it is not there. */
static inline gboolean
nerved_name_index (const char *const *names, guint n, const char *s, guint *out)
{
  for (guint i = 0; i < n; i++)
    if (names[i] && g_strcmp0 (s, names[i]) == 0) {
      *out = i;
      return TRUE;
    }
  return FALSE;
}

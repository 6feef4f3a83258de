#include "model-path.h"

#include <string.h>

#include "error.h"

static gboolean
is_file (const char *path)
{
  return g_file_test (path, G_FILE_TEST_IS_REGULAR);
}

char *
nerve_model_find_default (const char *file_name, const char *const *fallbacks, GError **error)
{
  g_return_val_if_fail (file_name && *file_name, NULL);
  const char *dot = strrchr (file_name, '.');
  g_autofree char *stem = dot && dot != file_name ? g_strndup (file_name, (gsize) (dot - file_name))
                                                   : g_strdup (file_name);
  const char *env = g_getenv ("NERVE_MODEL_PATH");
  if (env) {
    g_auto (GStrv) dirs = g_strsplit (env, G_SEARCHPATH_SEPARATOR_S, -1);
    for (char **d = dirs; *d; d++) {
      if (!**d)
        continue;
      char *a = g_build_filename (*d, file_name, NULL);
      if (is_file (a))
        return a;
      g_free (a);
      a = g_build_filename (*d, stem, file_name, NULL);
      if (is_file (a))
        return a;
      g_free (a);
    }
  }
  for (const char *const *f = fallbacks; f && *f; f++)
    if (is_file (*f))
      return g_strdup (*f);

  g_autoptr (GString) where = g_string_new (NULL);
  if (env && *env)
    g_string_append_printf (where, "%s and %s%c%s in the directories of NERVE_MODEL_PATH (%s)", file_name, stem,
                            G_DIR_SEPARATOR, file_name, env);
  else
    g_string_append (where, "NERVE_MODEL_PATH (not set)");
  for (const char *const *f = fallbacks; f && *f; f++)
    g_string_append_printf (where, ", %s", *f);
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "no %s found: searched %s", file_name, where->str);
  return NULL;
}

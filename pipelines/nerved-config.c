/* nerved: configuration defaults and the key file (nerved-daemon.h). */
#include "nerved-daemon.h"

#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "nerved-paths.h" /* NERVED_TEMPLATE_DIR, made by meson */

typedef enum { K_STR, K_STRV, K_BOOL, K_UINT, K_SIZE } KeyType;

static const struct {
  const char *key;
  KeyType type;
  gsize offset;
} keys[] = {
  { "listen", K_STR, offsetof (NervedConfig, listen) },
  { "templates", K_STRV, offsetof (NervedConfig, template_dirs) },
  { "data-roots", K_STRV, offsetof (NervedConfig, data_roots) },
  { "token-file", K_STR, offsetof (NervedConfig, token_file) },
  { "spool-dir", K_STR, offsetof (NervedConfig, spool_dir) },
  { "allow-launch", K_BOOL, offsetof (NervedConfig, allow_launch) },
  { "max-pipelines", K_UINT, offsetof (NervedConfig, max_pipelines) },
  { "max-sse-clients", K_UINT, offsetof (NervedConfig, max_sse_clients) },
  { "max-jobs", K_UINT, offsetof (NervedConfig, max_jobs) },
  { "max-body-bytes", K_SIZE, offsetof (NervedConfig, max_body_bytes) },
  { "max-upload-bytes", K_SIZE, offsetof (NervedConfig, max_upload_bytes) },
  { "max-header-bytes", K_SIZE, offsetof (NervedConfig, max_header_bytes) },
  { "event-buffer", K_UINT, offsetof (NervedConfig, event_buffer) },
  { "stop-timeout-ms", K_UINT, offsetof (NervedConfig, stop_timeout_ms) },
  { "drain-timeout-ms", K_UINT, offsetof (NervedConfig, drain_timeout_ms) },
  { "backoff-initial-ms", K_UINT, offsetof (NervedConfig, backoff_initial_ms) },
  { "backoff-max-ms", K_UINT, offsetof (NervedConfig, backoff_max_ms) },
  { "max-restarts", K_UINT, offsetof (NervedConfig, max_restarts) },
  { "job-timeout", K_UINT, offsetof (NervedConfig, job_timeout_s) },
  { "job-max-results", K_UINT, offsetof (NervedConfig, job_max_results) },
};

const char *const *
nerved_config_keys (void)
{
  static const char *names[G_N_ELEMENTS (keys) + 1];
  if (!names[0])
    for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
      names[i] = keys[i].key;
  return names;
}

void
nerved_config_init (NervedConfig *c)
{
  memset (c, 0, sizeof *c);
  c->listen = g_strdup ("127.0.0.1:8780");
  const char *dirs[] = { NERVED_TEMPLATE_DIR, NULL };
  c->template_dirs = g_strdupv ((char **) dirs);
  c->data_roots = g_new0 (char *, 1);
  const char *run = g_getenv ("XDG_RUNTIME_DIR");
  if (run && g_path_is_absolute (run))
    c->spool_dir = g_build_filename (run, "nerved", NULL);
  else
    c->spool_dir = g_strdup_printf ("/tmp/nerved-%u", (unsigned) getuid ());
  c->max_pipelines = 64;
  c->max_sse_clients = 256;
  c->max_jobs = 4;
  c->max_body_bytes = 1024 * 1024;
  c->max_upload_bytes = 256 * 1024 * 1024;
  c->max_header_bytes = 16 * 1024;
  c->event_buffer = 1024;
  c->stop_timeout_ms = 5000;
  c->drain_timeout_ms = 10000;
  c->backoff_initial_ms = 500;
  c->backoff_max_ms = 30000;
  c->max_restarts = 0;
  c->job_timeout_s = 600;
  c->job_max_results = 100000;
}

void
nerved_config_clear (NervedConfig *c)
{
  g_clear_pointer (&c->listen, g_free);
  g_clear_pointer (&c->template_dirs, g_strfreev);
  g_clear_pointer (&c->data_roots, g_strfreev);
  g_clear_pointer (&c->token_file, g_free);
  g_clear_pointer (&c->spool_dir, g_free);
}

/* A byte count: digits, then optionally K, M or G (binary: 1K = 1024), optionally
 * followed by B or iB ("16K", "1MiB", "256M", "1048576"). */
static gboolean
parse_size (const char *s, gsize *out)
{
  const char *c = s;
  guint64 v = 0;
  if (!g_ascii_isdigit (*c))
    return FALSE;
  for (; g_ascii_isdigit (*c); c++) {
    if (v > (G_MAXUINT64 - 9) / 10)
      return FALSE;
    v = v * 10 + (guint64) (*c - '0');
  }
  int shift = 0;
  switch (g_ascii_toupper (*c)) {
  case 'K': shift = 10; c++; break;
  case 'M': shift = 20; c++; break;
  case 'G': shift = 30; c++; break;
  default: break;
  }
  if (shift && (*c == 'i' || *c == 'I') && g_ascii_toupper (c[1]) == 'B')
    c += 2;
  else if (g_ascii_toupper (*c) == 'B')
    c++;
  if (*c || (shift && v > (G_MAXSIZE >> shift)) || v > G_MAXSIZE)
    return FALSE;
  *out = (gsize) (v << shift);
  return TRUE;
}

G_GNUC_PRINTF (4, 5) static gboolean
bad_key (GError **error, const char *path, const char *key, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "%s: [nerved] %s: %s", path, key, why);
  return FALSE;
}

static gboolean
load_key (NervedConfig *c, GKeyFile *kf, const char *path, guint k, GError **error)
{
  const char *key = keys[k].key;
  gpointer field = (char *) c + keys[k].offset;
  g_autoptr (GError) e = NULL;
  g_autofree char *raw = g_key_file_get_string (kf, "nerved", key, &e);
  if (!raw)
    return bad_key (error, path, key, "%s", e->message);
  g_strstrip (raw);
  switch (keys[k].type) {
  case K_STR:
    if (!*raw)
      return bad_key (error, path, key, "empty");
    g_free (*(char **) field);
    *(char **) field = g_steal_pointer (&raw);
    return TRUE;
  case K_STRV: {
    g_auto (GStrv) list = g_key_file_get_string_list (kf, "nerved", key, NULL, &e);
    if (!list)
      return bad_key (error, path, key, "%s", e->message);
    g_autoptr (GPtrArray) kept = g_ptr_array_new ();
    for (guint i = 0; list[i]; i++)
      if (*g_strstrip (list[i]))
        g_ptr_array_add (kept, g_strdup (list[i]));
    g_ptr_array_add (kept, NULL);
    g_strfreev (*(char ***) field);
    *(char ***) field = (char **) g_ptr_array_free (g_steal_pointer (&kept), FALSE);
    return TRUE;
  }
  case K_BOOL:
    if (strcmp (raw, "true") != 0 && strcmp (raw, "false") != 0)
      return bad_key (error, path, key, "'%s' is neither true nor false", raw);
    *(gboolean *) field = raw[0] == 't';
    return TRUE;
  case K_UINT: {
    guint64 v;
    if (!g_ascii_string_to_unsigned (raw, 10, 0, G_MAXUINT, &v, NULL))
      return bad_key (error, path, key, "'%s' is not a whole number from 0 to %u", raw, G_MAXUINT);
    *(guint *) field = (guint) v;
    return TRUE;
  }
  case K_SIZE:
    if (!parse_size (raw, (gsize *) field))
      return bad_key (error, path, key, "'%s' is not a size (bytes, or with K, M or G: 16K, 1M)", raw);
    return TRUE;
  }
  return FALSE;
}

gboolean
nerved_config_load (NervedConfig *c, const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) e = NULL;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &e)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "%s: %s", path, e->message);
    return FALSE;
  }
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++)
    if (strcmp (groups[i], "nerved") != 0) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "%s: unknown group [%s] (the settings go in [nerved])",
                   path, groups[i]);
      return FALSE;
    }
  g_auto (GStrv) names = g_key_file_get_keys (kf, "nerved", NULL, NULL);
  for (guint i = 0; names && names[i]; i++) {
    guint k = 0;
    while (k < G_N_ELEMENTS (keys) && strcmp (keys[k].key, names[i]) != 0)
      k++;
    if (k == G_N_ELEMENTS (keys)) {
      g_autoptr (GString) known = g_string_new (NULL);
      for (guint j = 0; j < G_N_ELEMENTS (keys); j++)
        g_string_append_printf (known, "%s%s", j ? ", " : "", keys[j].key);
      return bad_key (error, path, names[i], "unknown key (known: %s)", known->str);
    }
    if (!load_key (c, kf, path, k, error))
      return FALSE;
  }
  /* settings that would make the daemon useless or divide by nothing */
  const struct {
    const char *key;
    guint64 v;
  } positive[] = {
    { "max-pipelines", c->max_pipelines }, { "max-jobs", c->max_jobs }, { "event-buffer", c->event_buffer },
    { "max-body-bytes", c->max_body_bytes }, { "max-upload-bytes", c->max_upload_bytes },
    { "max-header-bytes", c->max_header_bytes }, { "backoff-initial-ms", c->backoff_initial_ms },
    { "job-timeout", c->job_timeout_s }, { "job-max-results", c->job_max_results },
  };
  for (guint i = 0; i < G_N_ELEMENTS (positive); i++)
    if (positive[i].v == 0)
      return bad_key (error, path, positive[i].key, "must be more than 0");
  if (c->backoff_initial_ms > c->backoff_max_ms)
    return bad_key (error, path, "backoff-max-ms", "%u is below backoff-initial-ms %u", c->backoff_max_ms,
                    c->backoff_initial_ms);
  return TRUE;
}

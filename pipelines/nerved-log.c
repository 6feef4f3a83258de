/* nerved: structured logs, one logfmt record per line on stderr:
 *   ts=2026-11-27T07:40:00.123Z level=info msg="pipeline created" id=p1 template=denoise-file
 * g_warning & co. go through the same writer so the daemon has one log format. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nerved-daemon-private.h"

char *
nerved_log_timestamp (gint64 real_us)
{
  g_autoptr (GDateTime) t = g_date_time_new_from_unix_utc (real_us / G_USEC_PER_SEC);
  if (!t)
    return g_strdup ("1970-01-01T00:00:00.000Z");
  g_autofree char *base = g_date_time_format (t, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%03dZ", base, (int) ((real_us % G_USEC_PER_SEC) / 1000));
}

/* A value bare when it is plain, else quoted with \" \\ \n escaped. */
static void
append_value (GString *s, const char *v)
{
  gboolean plain = *v != 0;
  for (const char *c = v; *c && plain; c++)
    if (*c <= ' ' || *c == '"' || *c == '=' || *c == '\\' || (guchar) *c >= 0x7f)
      plain = FALSE;
  if (plain) {
    g_string_append (s, v);
    return;
  }
  g_string_append_c (s, '"');
  for (const char *c = v; *c; c++) {
    switch (*c) {
    case '"': g_string_append (s, "\\\""); break;
    case '\\': g_string_append (s, "\\\\"); break;
    case '\n': g_string_append (s, "\\n"); break;
    case '\r': g_string_append (s, "\\r"); break;
    case '\t': g_string_append (s, "\\t"); break;
    default:
      if ((guchar) *c < ' ')
        g_string_append_printf (s, "\\x%02x", (guchar) *c);
      else
        g_string_append_c (s, *c);
    }
  }
  g_string_append_c (s, '"');
}

static const char *
level_name (GLogLevelFlags level)
{
  if (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL))
    return "error";
  if (level & G_LOG_LEVEL_WARNING)
    return "warn";
  if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO))
    return "info";
  return "debug";
}

static gboolean
debug_enabled (void)
{
  static int on = -1;
  if (on < 0) {
    const char *v = g_getenv ("NERVED_DEBUG");
    on = v && *v && strcmp (v, "0") != 0;
  }
  return on;
}

static GString *
record_begin (GLogLevelFlags level, const char *msg)
{
  GString *s = g_string_sized_new (160);
  g_autofree char *ts = nerved_log_timestamp (g_get_real_time ());
  g_string_append_printf (s, "ts=%s level=%s msg=", ts, level_name (level));
  append_value (s, msg ? msg : "");
  return s;
}

static void
record_end (GString *s)
{
  g_string_append_c (s, '\n');
  fwrite (s->str, 1, s->len, stderr);
  fflush (stderr);
  g_string_free (s, TRUE);
}

void
nerved_log (GLogLevelFlags level, const char *msg, ...)
{
  if ((level & G_LOG_LEVEL_DEBUG) && !debug_enabled ())
    return;
  GString *s = record_begin (level, msg);
  va_list ap;
  va_start (ap, msg);
  const char *k;
  while ((k = va_arg (ap, const char *))) {
    const char *v = va_arg (ap, const char *);
    if (!v)
      continue;
    g_string_append_printf (s, " %s=", k);
    append_value (s, v);
  }
  va_end (ap);
  record_end (s);
}

static GLogWriterOutput
writer (GLogLevelFlags level, const GLogField *fields, gsize n_fields, gpointer user_data)
{
  if ((level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO)) && !debug_enabled ())
    return G_LOG_WRITER_HANDLED;
  const char *message = NULL, *domain = NULL;
  for (gsize i = 0; i < n_fields; i++) {
    if (!strcmp (fields[i].key, "MESSAGE") && fields[i].length < 0)
      message = fields[i].value;
    else if (!strcmp (fields[i].key, "GLIB_DOMAIN") && fields[i].length < 0)
      domain = fields[i].value;
  }
  GString *s = record_begin (level, message);
  if (domain) {
    g_string_append (s, " domain=");
    append_value (s, domain);
  }
  record_end (s);
  return G_LOG_WRITER_HANDLED;
}

void
nerved_log_install (void)
{
  g_log_set_writer_func (writer, NULL, NULL);
}

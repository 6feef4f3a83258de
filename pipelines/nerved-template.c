/* nerved: pipeline template files (nerved-template.h): parsing, placeholder rules,
 * loading directories, JSON descriptions. Values are checked in nerved-params.c. */
#include "nerved-template.h"

#include <gst/gst.h>
#include <math.h>
#include <string.h>

#include "nerved-error.h"
#include "nerved-names.h"
#include "nerved-params.h"

#define MAX_TEMPLATE_BYTES (256 * 1024)

static const char *const restart_names[] = {
  [NERVED_RESTART_NEVER] = "never",
  [NERVED_RESTART_ON_FAILURE] = "on-failure",
  [NERVED_RESTART_ALWAYS] = "always",
};

const char *
nerved_restart_policy_name (NervedRestartPolicy p)
{
  return nerved_name_of (restart_names, G_N_ELEMENTS (restart_names), (guint) p, "?");
}

gboolean
nerved_restart_policy_parse (const char *s, NervedRestartPolicy *out)
{
  guint i;
  if (!nerved_name_index (restart_names, G_N_ELEMENTS (restart_names), s, &i))
    return FALSE;
  *out = (NervedRestartPolicy) i;
  return TRUE;
}

static void
param_free (gpointer data)
{
  NervedParam *p = data;
  g_free (p->name);
  g_free (p->description);
  g_free (p->default_value);
  g_strfreev (p->values);
  g_clear_pointer (&p->pattern, g_regex_unref);
  g_strfreev (p->schemes);
  g_free (p);
}

void
nerved_template_free (NervedTemplate *t)
{
  if (!t)
    return;
  g_free (t->name);
  g_free (t->description);
  g_free (t->file);
  g_free (t->launch);
  g_clear_pointer (&t->params, g_ptr_array_unref);
  g_free (t->job_input);
  g_free (t->job_output);
  g_strfreev (t->messages);
  g_strfreev (t->missing);
  g_free (t);
}

const NervedParam *
nerved_template_find_param (const NervedTemplate *t, const char *name)
{
  for (guint i = 0; name && i < t->params->len; i++) {
    const NervedParam *p = g_ptr_array_index (t->params, i);
    if (strcmp (p->name, name) == 0)
      return p;
  }
  return NULL;
}

static gboolean
word_valid (const char *s, const char *extra, gsize max)
{
  gsize n = s ? strlen (s) : 0;
  if (n == 0 || n > max)
    return FALSE;
  for (const char *c = s; *c; c++)
    if (!g_ascii_isalnum (*c) && !strchr (extra, *c))
      return FALSE;
  return TRUE;
}

static gboolean
template_name_valid (const char *s)
{
  if (!word_valid (s, "-", 64))
    return FALSE;
  for (const char *c = s; *c; c++)
    if (g_ascii_isupper (*c))
      return FALSE;
  return TRUE;
}

/* Errors while loading name the file (and group/key). */
G_GNUC_PRINTF (3, 4) static void
fail (GError **error, const char *file, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "%s: %s", file, why);
}

/* The key file format has no line continuation; templates use a trailing backslash for
 * long launch lines, joined here (the backslash and newline become one space). */
static char *
join_continuations (const char *data, gsize len)
{
  GString *s = g_string_sized_new (len);
  gboolean comment = FALSE;
  for (gsize i = 0; i < len; i++) {
    if (i == 0 || (data[i - 1] == '\n' && s->len > 0 && s->str[s->len - 1] == '\n')) { /* comments never continue */
      gsize k = i;
      while (k < len && (data[k] == ' ' || data[k] == '\t'))
        k++;
      comment = k < len && data[k] == '#';
    }
    if (!comment && data[i] == '\\' && i + 1 < len &&
        (data[i + 1] == '\n' || (data[i + 1] == '\r' && i + 2 < len && data[i + 2] == '\n'))) {
      gsize bs = 0; /* an escaped backslash (\\) at the end of a line is not a continuation */
      while (bs < s->len && s->str[s->len - 1 - bs] == '\\')
        bs++;
      if (bs % 2 == 0) {
        i += data[i + 1] == '\r' ? 2 : 1;
        while (i + 1 < len && (data[i + 1] == ' ' || data[i + 1] == '\t'))
          i++;
        if (s->len && s->str[s->len - 1] != ' ' && s->str[s->len - 1] != '\t')
          g_string_append_c (s, ' ');
        continue;
      }
    }
    g_string_append_c (s, data[i]);
  }
  return g_string_free (s, FALSE);
}

static gboolean
check_keys (GKeyFile *kf, const char *group, const char *const *allowed, const char *file, GError **error)
{
  g_auto (GStrv) keys = g_key_file_get_keys (kf, group, NULL, NULL);
  for (guint i = 0; keys && keys[i]; i++)
    if (!g_strv_contains (allowed, keys[i])) {
      g_autofree char *list = g_strjoinv (", ", (char **) allowed);
      fail (error, file, "[%s]: unknown key '%s' (known: %s)", group, keys[i], list);
      return FALSE;
    }
  return TRUE;
}

/* A string key, NULL (no error) when absent. */
static char *
get_str (GKeyFile *kf, const char *group, const char *key, const char *file, gboolean *ok, GError **error)
{
  if (!*ok || !g_key_file_has_key (kf, group, key, NULL))
    return NULL;
  GError *e = NULL;
  char *v = g_key_file_get_string (kf, group, key, &e);
  if (!v) {
    fail (error, file, "[%s] %s: %s", group, key, e->message);
    g_error_free (e);
    *ok = FALSE;
  }
  return v;
}

static char **
get_list (GKeyFile *kf, const char *group, const char *key, const char *file, gboolean *ok, GError **error)
{
  if (!*ok || !g_key_file_has_key (kf, group, key, NULL))
    return NULL;
  GError *e = NULL;
  char **v = g_key_file_get_string_list (kf, group, key, NULL, &e);
  if (!v) {
    fail (error, file, "[%s] %s: %s", group, key, e->message);
    g_error_free (e);
    *ok = FALSE;
    return NULL;
  }
  for (guint i = 0; v[i]; i++)
    g_strstrip (v[i]);
  return v;
}

static gboolean
get_limit (GKeyFile *kf, const char *group, const char *key, const NervedParam *p, double *out, const char *file,
           GError **error)
{
  gboolean ok = TRUE;
  g_autofree char *s = get_str (kf, group, key, file, &ok, error);
  if (!ok || !s)
    return ok;
  char *end = NULL;
  double v = g_ascii_strtod (s, &end);
  if (!*s || *end || !isfinite (v) || (p->type == NERVED_PARAM_INT && v != floor (v))) {
    fail (error, file, "[%s] %s: '%s' is not %s", group, key, s, p->type == NERVED_PARAM_INT ? "an integer" : "a number");
    return FALSE;
  }
  *out = v;
  return TRUE;
}

static NervedParam *
parse_param (GKeyFile *kf, const char *group, const char *file, GError **error)
{
  static const char *const keys[] = { "type", "description", "default", "min", "max", "values", "pattern",
                                      "access", "schemes", NULL };
  /* which optional keys each type takes */
  static const char *const only[][2] = { { "min", "if" }, { "max", "if" }, { "values", "e" },
                                         { "pattern", "su" }, { "access", "p" }, { "schemes", "u" } };
  static const char type_letter[] = { 'i', 'f', 'b', 'e', 'p', 'u', 's' };
  if (!check_keys (kf, group, keys, file, error))
    return NULL;
  NervedParam *p = g_new0 (NervedParam, 1);
  g_autoptr (GPtrArray) hold = g_ptr_array_new_with_free_func (param_free);
  g_ptr_array_add (hold, p);
  p->name = g_strdup (group + strlen ("param "));
  p->min = -INFINITY;
  p->max = INFINITY;
  if (!nerved_param_name_valid (p->name)) {
    fail (error, file, "[%s]: parameter names are 1 to 64 of A-Z a-z 0-9 _ -", group);
    return NULL;
  }
  gboolean ok = TRUE;
  g_autofree char *type = get_str (kf, group, "type", file, &ok, error);
  if (!ok)
    return NULL;
  if (!type || !nerved_param_type_parse (g_strstrip (type), &p->type)) {
    fail (error, file, "[%s] type: %s (int, float, bool, enum, path, uri or string)", group,
          type ? "unknown type" : "missing");
    return NULL;
  }
  for (guint i = 0; i < G_N_ELEMENTS (only); i++)
    if (g_key_file_has_key (kf, group, only[i][0], NULL) && !strchr (only[i][1], type_letter[p->type])) {
      fail (error, file, "[%s] %s: does not apply to a %s parameter", group, only[i][0], type);
      return NULL;
    }
  p->description = get_str (kf, group, "description", file, &ok, error);
  p->default_value = get_str (kf, group, "default", file, &ok, error);
  if (!ok || !get_limit (kf, group, "min", p, &p->min, file, error) ||
      !get_limit (kf, group, "max", p, &p->max, file, error))
    return NULL;
  if (p->min > p->max) {
    fail (error, file, "[%s]: min %g is above max %g", group, p->min, p->max);
    return NULL;
  }
  p->values = get_list (kf, group, "values", file, &ok, error);
  p->schemes = get_list (kf, group, "schemes", file, &ok, error);
  g_autofree char *pattern = get_str (kf, group, "pattern", file, &ok, error);
  g_autofree char *access = get_str (kf, group, "access", file, &ok, error);
  if (!ok)
    return NULL;
  if (p->type == NERVED_PARAM_ENUM) {
    if (!p->values || !p->values[0]) {
      fail (error, file, "[%s] values: an enum needs its list of values (values = a;b;c)", group);
      return NULL;
    }
    /* enum words are rendered without quotes: keep them plain */
    for (guint i = 0; p->values[i]; i++)
      if (!word_valid (p->values[i], "_.+-", 64)) {
        fail (error, file, "[%s] values: '%s' is not a plain word (A-Z a-z 0-9 _ . + -)", group, p->values[i]);
        return NULL;
      }
  }
  if (p->type == NERVED_PARAM_URI) {
    if (!p->schemes || !p->schemes[0]) {
      fail (error, file, "[%s] schemes: a uri parameter needs its allowed schemes (schemes = rtp;udp)", group);
      return NULL;
    }
    for (guint i = 0; p->schemes[i]; i++)
      if (!word_valid (p->schemes[i], "+.-", 32) || !g_ascii_isalpha (p->schemes[i][0])) {
        fail (error, file, "[%s] schemes: '%s' is not a URI scheme", group, p->schemes[i]);
        return NULL;
      }
  }
  if (pattern) {
    g_autoptr (GError) e = NULL;
    p->pattern = g_regex_new (pattern, G_REGEX_OPTIMIZE, 0, &e);
    if (!p->pattern) {
      fail (error, file, "[%s] pattern: %s", group, e->message);
      return NULL;
    }
  }
  if (access) {
    g_strstrip (access);
    if (strcmp (access, "write") != 0 && strcmp (access, "read") != 0) {
      fail (error, file, "[%s] access: '%s' is neither read nor write", group, access);
      return NULL;
    }
    p->write = access[0] == 'w';
  }
  if (p->default_value) {
    g_autoptr (GError) e = NULL;
    g_autoptr (JsonNode) v = json_node_init_string (json_node_alloc (), p->default_value);
    g_autofree char *r = nerved_param_render (p, v, NULL, TRUE, FALSE, NULL, &e);
    if (!r) {
      fail (error, file, "[%s] default: %s", group, e->message);
      return NULL;
    }
  }
  g_ptr_array_steal_index (hold, 0);
  return p;
}

/* Placeholder rules: outside quotes every `$` starts ${name}, the whole value of a
 * property (`prop=${name}` between whitespace); none inside quotes. Marks used params. */
static gboolean
check_placeholders (NervedTemplate *t, gboolean *used, GError **error)
{
  const char *s = t->launch;
  char quote = 0;
  for (gsize i = 0; s[i]; i++) {
    char c = s[i];
    if (quote) {
      if (c == '\\' && s[i + 1])
        i++;
      else if (c == quote)
        quote = 0;
      else if (c == '$' && s[i + 1] == '{') {
        fail (error, t->file, "launch: placeholder inside quotes at byte %" G_GSIZE_FORMAT " (use prop=${name})", i);
        return FALSE;
      }
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      continue;
    }
    if (c != '$')
      continue;
    const char *close = s[i + 1] == '{' ? strchr (s + i + 2, '}') : NULL;
    if (!close) {
      fail (error, t->file, "launch: '$' at byte %" G_GSIZE_FORMAT " does not start a ${name} placeholder", i);
      return FALSE;
    }
    g_autofree char *name = g_strndup (s + i + 2, close - (s + i + 2));
    if (!nerved_param_name_valid (name)) {
      fail (error, t->file, "launch: '${%.64s}' is not a valid placeholder", name);
      return FALSE;
    }
    gsize k = i; /* the property name before '=' must itself follow whitespace */
    gboolean whole = k > 1 && s[k - 1] == '=';
    if (whole) {
      k--;
      gsize name_end = k;
      while (k > 0 && (g_ascii_isalnum (s[k - 1]) || s[k - 1] == '-' || s[k - 1] == '_' || s[k - 1] == ':'))
        k--;
      whole = k < name_end && k > 0 && g_ascii_isspace (s[k - 1]);
    }
    whole = whole && (close[1] == '\0' || g_ascii_isspace (close[1]));
    if (!whole) {
      fail (error, t->file, "launch: ${%s} must be a whole property value (prop=${%s}, followed by a space)", name, name);
      return FALSE;
    }
    gboolean found = FALSE;
    for (guint j = 0; j < t->params->len; j++)
      if (strcmp (((NervedParam *) g_ptr_array_index (t->params, j))->name, name) == 0) {
        used[j] = found = TRUE;
      }
    if (!found) {
      fail (error, t->file, "launch: unknown placeholder ${%s} (no [param %s] group)", name, name);
      return FALSE;
    }
    i = close - s;
  }
  if (quote) {
    fail (error, t->file, "launch: unterminated %c quote", quote);
    return FALSE;
  }
  return TRUE;
}

/* Element factories the launch names, read conservatively: the first word of each
 * `!`-separated segment (outside quotes), skipping caps, pad and element references
 * (`t.`, `name.src`), URIs and bin brackets. */
static char **
launch_factories (const char *launch)
{
  g_autoptr (GPtrArray) out = g_ptr_array_new_with_free_func (g_free);
  char quote = 0;
  gboolean first = TRUE; /* at the start of a segment */
  for (const char *c = launch; *c; c++) {
    if (quote) {
      if (*c == '\\' && c[1])
        c++;
      else if (*c == quote)
        quote = 0;
      continue;
    }
    if (*c == '"' || *c == '\'') {
      quote = *c;
      first = FALSE;
      continue;
    }
    if (*c == '!') {
      first = TRUE;
      continue;
    }
    if (!first || g_ascii_isspace (*c) || *c == '(' || *c == ')')
      continue;   /* a stray ')' would make an empty word (n = 0) below */
    first = FALSE;
    gsize n = strcspn (c, " \t\r\n!()\"'");
    g_autofree char *word = g_strndup (c, n);
    if (!strpbrk (word, "/.=:,;[]{}$") && !g_ptr_array_find_with_equal_func (out, word, g_str_equal, NULL))
      g_ptr_array_add (out, g_steal_pointer (&word));
    c += n - 1;
  }
  g_ptr_array_add (out, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

gboolean (*nerved_factory_exists) (const char *name) = NULL;

static gboolean
factory_exists (const char *name)
{
  if (nerved_factory_exists)
    return nerved_factory_exists (name);
  if (!gst_is_initialized ())
    gst_init (NULL, NULL);
  GstElementFactory *f = gst_element_factory_find (name);
  if (!f)
    return FALSE;
  /* registered is not enough: a plugin that fails to load (missing symbol, moved file)
   * must make the template unavailable here, not fail inside gst_parse_launch later */
  GstPluginFeature *loaded = gst_plugin_feature_load (GST_PLUGIN_FEATURE (f));
  gst_object_unref (f);
  if (loaded)
    gst_object_unref (loaded);
  return loaded != NULL;
}

static char **
find_missing (const char *launch)
{
  g_auto (GStrv) names = launch_factories (launch);
  g_autoptr (GPtrArray) missing = g_ptr_array_new_with_free_func (g_free);
  for (guint i = 0; names[i]; i++)
    if (!factory_exists (names[i]))
      g_ptr_array_add (missing, g_strdup (names[i]));
  if (missing->len == 0)
    return NULL;
  g_ptr_array_add (missing, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&missing), FALSE);
}

static gboolean
check_job_param (NervedTemplate *t, const char *key, const char *name, gboolean write, GError **error)
{
  const NervedParam *p = nerved_template_find_param (t, name);
  if (!p || p->type != NERVED_PARAM_PATH || p->write != write) {
    fail (error, t->file, "[template] %s: '%s' is not a path parameter with access = %s", key, name,
          write ? "write" : "read");
    return FALSE;
  }
  return TRUE;
}

NervedTemplate *
nerved_template_parse (const char *data, gsize len, const char *file, GError **error)
{
  static const char *const keys[] = { "name", "description", "launch", "job", "job-input", "job-output",
                                      "messages", "restart", NULL };
  const char *shown = file ? file : "template";
  if (len > MAX_TEMPLATE_BYTES) {
    fail (error, shown, "larger than %d bytes", MAX_TEMPLATE_BYTES);
    return NULL;
  }
  if (!g_utf8_validate_len (data, len, NULL)) {
    fail (error, shown, "not valid UTF-8");
    return NULL;
  }
  g_autofree char *joined = join_continuations (data, len);
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) e = NULL;
  if (!g_key_file_load_from_data (kf, joined, -1, G_KEY_FILE_NONE, &e)) {
    fail (error, shown, "%s", e->message);
    return NULL;
  }
  if (!g_key_file_has_group (kf, "template")) {
    fail (error, shown, "no [template] group");
    return NULL;
  }
  g_autoptr (NervedTemplate) t = g_new0 (NervedTemplate, 1);
  t->file = g_strdup (shown);
  t->params = g_ptr_array_new_with_free_func (param_free);
  if (!check_keys (kf, "template", keys, shown, error))
    return NULL;

  gboolean ok = TRUE;
  t->name = get_str (kf, "template", "name", shown, &ok, error);
  t->description = get_str (kf, "template", "description", shown, &ok, error);
  t->launch = get_str (kf, "template", "launch", shown, &ok, error);
  t->job_input = get_str (kf, "template", "job-input", shown, &ok, error);
  t->job_output = get_str (kf, "template", "job-output", shown, &ok, error);
  t->messages = get_list (kf, "template", "messages", shown, &ok, error);
  g_autofree char *restart = get_str (kf, "template", "restart", shown, &ok, error);
  if (!ok)
    return NULL;
  if (!t->name) {
    g_autofree char *base = file ? g_path_get_basename (file) : NULL;
    if (!base || !g_str_has_suffix (base, ".pipeline")) {
      fail (error, shown, "[template] name: missing");
      return NULL;
    }
    t->name = g_strndup (base, strlen (base) - strlen (".pipeline"));
  }
  g_strstrip (t->name);
  if (!template_name_valid (t->name)) {
    fail (error, shown, "[template] name: '%s' is not 1 to 64 of a-z 0-9 -", t->name);
    return NULL;
  }
  if (!t->launch || !*g_strstrip (t->launch)) {
    fail (error, shown, "[template] launch: missing");
    return NULL;
  }
  if (g_key_file_has_key (kf, "template", "job", NULL)) {
    t->job = g_key_file_get_boolean (kf, "template", "job", &e);
    if (e) {
      fail (error, shown, "[template] job: %s", e->message);
      return NULL;
    }
  }
  if (restart && !nerved_restart_policy_parse (g_strstrip (restart), &t->restart)) {
    fail (error, shown, "[template] restart: '%s' is not never, on-failure or always", restart);
    return NULL;
  }
  for (guint i = 0; t->messages && t->messages[i]; i++)
    if (!word_valid (t->messages[i], "_.-", 128)) {
      fail (error, shown, "[template] messages: '%s' is not a structure name", t->messages[i]);
      return NULL;
    }

  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (guint i = 0; groups[i]; i++) {
    if (strcmp (groups[i], "template") == 0)
      continue;
    if (!g_str_has_prefix (groups[i], "param ")) {
      fail (error, shown, "unknown group [%s] (expected [template] and [param NAME])", groups[i]);
      return NULL;
    }
    NervedParam *p = parse_param (kf, groups[i], shown, error);
    if (!p)
      return NULL;
    g_ptr_array_add (t->params, p);
  }

  g_autofree gboolean *used = g_new0 (gboolean, t->params->len + 1);
  if (!check_placeholders (t, used, error))
    return NULL;
  for (guint i = 0; i < t->params->len; i++)
    if (!used[i]) {
      fail (error, shown, "[param %s]: the launch never uses ${%s}",
            ((NervedParam *) g_ptr_array_index (t->params, i))->name,
            ((NervedParam *) g_ptr_array_index (t->params, i))->name);
      return NULL;
    }

  if (t->job) {
    if (!t->job_input) {
      fail (error, shown, "[template] job-input: a job needs the path parameter the upload fills");
      return NULL;
    }
    if (!check_job_param (t, "job-input", t->job_input, FALSE, error) ||
        (t->job_output && !check_job_param (t, "job-output", t->job_output, TRUE, error)))
      return NULL;
  } else if (t->job_input || t->job_output) {
    fail (error, shown, "[template] %s: only for job = true", t->job_input ? "job-input" : "job-output");
    return NULL;
  }
  t->missing = find_missing (t->launch);
  return g_steal_pointer (&t);
}

NervedTemplate *
nerved_template_load (const char *path, GError **error)
{
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (path, &data, &len, &e)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "%s", e->message);
    return NULL;
  }
  return nerved_template_parse (data, len, path, error);
}

static gint
cmp_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GHashTable *
nerved_templates_load_dirs (const char *const *dirs, GError **error)
{
  g_autoptr (GHashTable) table =
    g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) nerved_template_free);
  for (guint i = 0; dirs && dirs[i]; i++) {
    g_autoptr (GError) e = NULL;
    g_autoptr (GDir) dir = g_dir_open (dirs[i], 0, &e);
    if (!dir) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "templates directory: %s", e->message);
      return NULL;
    }
    g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
    const char *n;
    while ((n = g_dir_read_name (dir)))
      if (g_str_has_suffix (n, ".pipeline"))
        g_ptr_array_add (names, g_strdup (n));
    g_ptr_array_sort (names, cmp_names); /* the same order on every load */
    for (guint j = 0; j < names->len; j++) {
      g_autofree char *path = g_build_filename (dirs[i], g_ptr_array_index (names, j), NULL);
      g_autoptr (GError) le = NULL;
      NervedTemplate *t = nerved_template_load (path, &le);
      if (!t) {
        g_warning ("skipping template %s", le->message);
        continue;
      }
      NervedTemplate *old = g_hash_table_lookup (table, t->name);
      if (old)
        g_message ("template %s from %s replaces the one from %s", t->name, t->file, old->file);
      g_hash_table_replace (table, t->name, t);
    }
  }
  return g_steal_pointer (&table);
}

static JsonNode *
strv_node (char **v)
{
  JsonArray *a = json_array_new ();
  for (guint i = 0; v && v[i]; i++)
    json_array_add_string_element (a, v[i]);
  JsonNode *node = json_node_init_array (json_node_alloc (), a);
  json_array_unref (a);   /* the node holds its own reference */
  return node;
}

static void
set_limit (JsonObject *o, const char *key, const NervedParam *p, double v)
{
  if (!isfinite (v))
    json_object_set_null_member (o, key);
  else if (p->type == NERVED_PARAM_INT)
    json_object_set_int_member (o, key, (gint64) v);
  else
    json_object_set_double_member (o, key, v);
}

JsonObject *
nerved_template_to_json (const NervedTemplate *t)
{
  JsonObject *o = json_object_new ();
  json_object_set_string_member (o, "name", t->name);
  json_object_set_string_member (o, "description", t->description);
  json_object_set_boolean_member (o, "job", t->job);
  json_object_set_string_member (o, "job_input", t->job_input);
  json_object_set_string_member (o, "job_output", t->job_output);
  json_object_set_string_member (o, "restart", nerved_restart_policy_name (t->restart));
  json_object_set_member (o, "messages", strv_node (t->messages));
  JsonArray *params = json_array_new ();
  for (guint i = 0; i < t->params->len; i++) {
    const NervedParam *p = g_ptr_array_index (t->params, i);
    JsonObject *po = json_object_new ();
    json_object_set_string_member (po, "name", p->name);
    json_object_set_string_member (po, "type", nerved_param_type_name (p->type));
    json_object_set_string_member (po, "description", p->description);
    json_object_set_boolean_member (po, "required", p->default_value == NULL);
    /* the default as its typed value (it passed the checks at load) */
    JsonNode *def = NULL;
    if (p->default_value) {
      g_autoptr (JsonNode) v = json_node_init_string (json_node_alloc (), p->default_value);
      g_free (nerved_param_render (p, v, NULL, TRUE, FALSE, &def, NULL));
    }
    json_object_set_member (po, "default", def ? def : json_node_new (JSON_NODE_NULL));
    if (p->type == NERVED_PARAM_INT || p->type == NERVED_PARAM_FLOAT) {
      set_limit (po, "min", p, p->min);
      set_limit (po, "max", p, p->max);
    }
    if (p->type == NERVED_PARAM_ENUM)
      json_object_set_member (po, "values", strv_node (p->values));
    if (p->type == NERVED_PARAM_STRING || p->type == NERVED_PARAM_URI)
      json_object_set_string_member (po, "pattern", p->pattern ? g_regex_get_pattern (p->pattern) : NULL);
    if (p->type == NERVED_PARAM_PATH)
      json_object_set_string_member (po, "access", p->write ? "write" : "read");
    if (p->type == NERVED_PARAM_URI)
      json_object_set_member (po, "schemes", strv_node (p->schemes));
    json_array_add_object_element (params, po);
  }
  json_object_set_array_member (o, "params", params);
  json_object_set_boolean_member (o, "available", t->missing == NULL);
  json_object_set_member (o, "missing", strv_node (t->missing));
  return o;
}

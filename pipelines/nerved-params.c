/* nerved: template parameter values: type checks, data roots, rendering.
 *
 * Every value that reaches a launch line passes through nerved_param_render: numbers are
 * printed in canonical form, bools as true/false, enums are one of their (load-checked)
 * words, and everything else is refused when it holds a character that means something to
 * the gst_parse_launch lexer, then wrapped in double quotes. Inside double quotes without
 * `"` or `\`, the lexer keeps the text as one value and GStreamer's unescaping leaves it
 * untouched, so a value can never add elements, properties or links. */
#include "nerved-params.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerved-error.h"
#include "nerved-names.h"

#define MAX_STRING_BYTES 4096

static const char *const type_names[] = {
  [NERVED_PARAM_INT] = "int",   [NERVED_PARAM_FLOAT] = "float", [NERVED_PARAM_BOOL] = "bool",
  [NERVED_PARAM_ENUM] = "enum", [NERVED_PARAM_PATH] = "path",   [NERVED_PARAM_URI] = "uri",
  [NERVED_PARAM_STRING] = "string",
};

const char *
nerved_param_type_name (NervedParamType t)
{
  return nerved_name_of (type_names, G_N_ELEMENTS (type_names), (guint) t, "?");
}

gboolean
nerved_param_type_parse (const char *s, NervedParamType *out)
{
  guint i;
  if (!nerved_name_index (type_names, G_N_ELEMENTS (type_names), s, &i))
    return FALSE;
  *out = (NervedParamType) i;
  return TRUE;
}

gboolean
nerved_param_name_valid (const char *name)
{
  gsize n = name ? strlen (name) : 0;
  if (n == 0 || n > 64)
    return FALSE;
  for (const char *c = name; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-')
      return FALSE;
  return TRUE;
}

gboolean
nerved_pattern_matches (GRegex *re, const char *s)
{
  /* match_all at an anchored start finds every match length there, longest first: a
   * plain anchored match could stop at a shorter alternative (`a|ab` on "ab") */
  g_autoptr (GMatchInfo) mi = NULL;
  gint start = -1, end = -1;
  if (!g_regex_match_all_full (re, s, -1, 0, G_REGEX_MATCH_ANCHORED, &mi, NULL))
    return FALSE;
  return g_match_info_fetch_pos (mi, 0, &start, &end) && start == 0 && (gsize) end == strlen (s);
}

G_GNUC_PRINTF (3, 4) static void
bad (GError **error, const NervedParam *p, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: %s", p->name, why);
}

/* The first character of s that the launch lexer could read as syntax, or NULL. strict
 * (client strings) also refuses `!`, `=` and `'`, which are harmless inside double quotes
 * but have no business in a property value and would read as syntax to a careless eye. */
static const char *
unsafe_char (const char *s, gboolean strict)
{
  for (const char *c = s; *c; c++) {
    guchar u = (guchar) *c;
    if (u < 0x20 || u == 0x7f || u == '"' || u == '\\')
      return c;
    if (strict && (u == '!' || u == '=' || u == '\''))
      return c;
  }
  return NULL;
}

static gboolean
check_text (const NervedParam *p, const char *s, gboolean strict, GError **error)
{
  if (!g_utf8_validate (s, -1, NULL)) {
    bad (error, p, "not valid UTF-8");
    return FALSE;
  }
  if (strlen (s) > MAX_STRING_BYTES) {
    bad (error, p, "longer than %d bytes", MAX_STRING_BYTES);
    return FALSE;
  }
  const char *c = unsafe_char (s, strict);
  if (c) {
    guchar u = (guchar) *c;
    if (u < 0x20 || u == 0x7f)
      bad (error, p, "control character 0x%02x at byte %d is not allowed", u, (int) (c - s));
    else
      bad (error, p, "character '%c' at byte %d is not allowed (no pipeline syntax in values)", u, (int) (c - s));
    return FALSE;
  }
  return TRUE;
}

static char *
quote (const char *s)
{
  return g_strconcat ("\"", s, "\"", NULL);
}

static gboolean
inside (const char *path, const char *root)
{
  if (strcmp (root, "/") == 0)
    return path[0] == '/';
  gsize n = strlen (root);
  return strncmp (path, root, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

static char *
real (const char *path)
{
  char *r = realpath (path, NULL);
  if (!r)
    return NULL;
  char *g = g_strdup (r);
  free (r);
  return g;
}

/* The root (canonical) that holds canonical path c, or NULL. */
static gboolean
in_roots (const char *c, const char *const *roots)
{
  for (guint i = 0; roots && roots[i]; i++) {
    g_autofree char *r = real (roots[i]);
    if (r && inside (c, r))
      return TRUE;
  }
  return FALSE;
}

char *
nerved_path_resolve (const char *path, gboolean write, const char *const *data_roots, GError **error)
{
  if (!data_roots || !data_roots[0]) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "no data roots are configured for paths");
    return NULL;
  }
  if (!path || !*path) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "empty path");
    return NULL;
  }
  g_auto (GStrv) parts = g_strsplit (path, "/", -1);
  for (guint i = 0; parts[i]; i++)
    if (strcmp (parts[i], "..") == 0) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "'..' is not allowed in paths");
      return NULL;
    }
  g_autofree char *abs = g_path_is_absolute (path) ? g_strdup (path) : g_build_filename (data_roots[0], path, NULL);

  g_autofree char *resolved = NULL;
  if (!write) {
    resolved = real (abs);
    if (!resolved) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: %s", path, g_strerror (errno));
      return NULL;
    }
    if (!in_roots (resolved, data_roots)) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s is outside the data roots", path);
      return NULL;
    }
    struct stat st;
    if (stat (resolved, &st) != 0 || !S_ISREG (st.st_mode)) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s is not a regular file", path);
      return NULL;
    }
    if (access (resolved, R_OK) != 0) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s is not readable", path);
      return NULL;
    }
    return g_steal_pointer (&resolved);
  }

  /* write: the parent must exist inside a root; the file itself need not exist, but when
   * it does (a symlink included) its real location must be inside a root too */
  g_autofree char *base = g_path_get_basename (abs);
  g_autofree char *dir = g_path_get_dirname (abs);
  if (g_str_has_suffix (abs, "/") || strcmp (base, ".") == 0 || strcmp (base, "/") == 0) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s names a directory, not a file", path);
    return NULL;
  }
  g_autofree char *rdir = real (dir);
  if (!rdir) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: directory %s: %s", path, dir, g_strerror (errno));
    return NULL;
  }
  if (!in_roots (rdir, data_roots)) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s is outside the data roots", path);
    return NULL;
  }
  resolved = g_build_filename (rdir, base, NULL);
  struct stat st;
  if (lstat (resolved, &st) == 0) {
    g_autofree char *target = real (resolved);
    if (!target || !in_roots (target, data_roots)) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s points outside the data roots", path);
      return NULL;
    }
    if (stat (target, &st) != 0 || !S_ISREG (st.st_mode)) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s exists and is not a regular file", path);
      return NULL;
    }
    if (access (target, W_OK) != 0) {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s is not writable", path);
      return NULL;
    }
    g_free (resolved);
    resolved = g_steal_pointer (&target);
  } else if (access (rdir, W_OK) != 0) {
    g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: directory %s is not writable", path, dir);
    return NULL;
  }
  return g_steal_pointer (&resolved);
}

/* A number from a JSON number or a string that is a complete number. */
static gboolean
get_number (const NervedParam *p, JsonNode *v, gboolean integer, gint64 *iv, double *dv, GError **error)
{
  GType t = json_node_get_value_type (v);
  if (t == G_TYPE_INT64) {
    *iv = json_node_get_int (v);
    *dv = (double) *iv;
    return TRUE;
  }
  if (t == G_TYPE_DOUBLE) {
    *dv = json_node_get_double (v);
    if (!isfinite (*dv)) {
      bad (error, p, "not a finite number");
      return FALSE;
    }
    if (integer) {
      if (*dv != floor (*dv) || fabs (*dv) > 9007199254740992.0) {
        bad (error, p, "%g is not an integer", *dv);
        return FALSE;
      }
      *iv = (gint64) *dv;
    }
    return TRUE;
  }
  if (t == G_TYPE_STRING) {
    const char *s = json_node_get_string (v);
    if (integer) {
      guint64 u;
      gboolean neg = s[0] == '-';
      /* digits only (g_ascii_string_to_* would also take a leading '+') */
      if (!g_ascii_isdigit (s[neg]) ||
          !g_ascii_string_to_unsigned (s + neg, 10, 0, neg ? (guint64) G_MAXINT64 + 1 : G_MAXINT64, &u, NULL)) {
        bad (error, p, "'%.40s' is not an integer", s);
        return FALSE;
      }
      *iv = neg ? (gint64) (0 - u) : (gint64) u;
      *dv = (double) *iv;
      return TRUE;
    }
    char *end = NULL;
    gboolean ok = *s != '\0' && strspn (s, "0123456789.eE+-") == strlen (s);
    if (ok) {
      *dv = g_ascii_strtod (s, &end);
      ok = end && *end == '\0' && isfinite (*dv);
    }
    if (!ok) {
      bad (error, p, "'%.40s' is not a number", s);
      return FALSE;
    }
    return TRUE;
  }
  bad (error, p, "expected a number, got %s", g_type_name (t));
  return FALSE;
}

static gboolean
in_range (const NervedParam *p, double v, const char *shown, GError **error)
{
  if (v < p->min || v > p->max) {
    if (isfinite (p->min) && isfinite (p->max))
      bad (error, p, "%s is outside [%g, %g]", shown, p->min, p->max);
    else if (isfinite (p->min))
      bad (error, p, "%s is below the minimum %g", shown, p->min);
    else
      bad (error, p, "%s is above the maximum %g", shown, p->max);
    return FALSE;
  }
  return TRUE;
}

static char *
render_uri (const NervedParam *p, const char *s, const char *const *roots, gboolean at_load, gboolean trusted,
            GError **error)
{
  if (!check_text (p, s, FALSE, error))
    return NULL;
  for (const char *c = s; *c; c++)
    if (*c == ' ') {
      bad (error, p, "spaces are not allowed in URIs");
      return NULL;
    }
  g_autoptr (GError) e = NULL;
  g_autoptr (GUri) uri = g_uri_parse (s, G_URI_FLAGS_NONE, &e);
  if (!uri) {
    bad (error, p, "not a valid URI: %s", e->message);
    return NULL;
  }
  const char *scheme = g_uri_get_scheme (uri);
  if (!p->schemes || !g_strv_contains ((const char *const *) p->schemes, scheme)) {
    g_autofree char *allowed = p->schemes ? g_strjoinv (", ", p->schemes) : g_strdup ("none");
    bad (error, p, "scheme '%s' is not allowed (allowed: %s)", scheme, allowed);
    return NULL;
  }
  if (p->pattern && !nerved_pattern_matches (p->pattern, s)) {
    bad (error, p, "'%.60s' does not match the pattern %s", s, g_regex_get_pattern (p->pattern));
    return NULL;
  }
  if (strcmp (scheme, "file") != 0 || at_load || trusted)
    return g_strdup (s);
  g_autofree char *file = g_filename_from_uri (s, NULL, &e);
  if (!file) {
    bad (error, p, "%s", e->message);
    return NULL;
  }
  g_autofree char *path = nerved_path_resolve (file, p->write, roots, &e);
  if (!path) {
    bad (error, p, "%s", e->message);
    return NULL;
  }
  return g_filename_to_uri (path, NULL, error);
}

char *
nerved_param_render (const NervedParam *p, JsonNode *value, const char *const *roots, gboolean at_load,
                     gboolean trusted, JsonNode **effective, GError **error)
{
  if (effective)
    *effective = NULL;
  if (!value || !JSON_NODE_HOLDS_VALUE (value)) {
    bad (error, p, "expected a %s value, got %s", nerved_param_type_name (p->type),
         value ? json_node_type_name (value) : "nothing");
    return NULL;
  }
  GType vt = json_node_get_value_type (value);
  gint64 iv = 0;
  double dv = 0;
  g_autofree char *out = NULL;
  g_autoptr (JsonNode) eff = NULL;

  switch (p->type) {
  case NERVED_PARAM_INT: {
    if (!get_number (p, value, TRUE, &iv, &dv, error))
      return NULL;
    g_autofree char *shown = g_strdup_printf ("%" G_GINT64_FORMAT, iv);
    if (!in_range (p, dv, shown, error))
      return NULL;
    out = g_steal_pointer (&shown);
    eff = json_node_init_int (json_node_alloc (), iv);
    break;
  }
  case NERVED_PARAM_FLOAT: {
    if (!get_number (p, value, FALSE, &iv, &dv, error))
      return NULL;
    char buf[G_ASCII_DTOSTR_BUF_SIZE];
    g_ascii_dtostr (buf, sizeof buf, dv);
    if (!in_range (p, dv, buf, error))
      return NULL;
    out = g_strdup (buf);
    eff = json_node_init_double (json_node_alloc (), dv);
    break;
  }
  case NERVED_PARAM_BOOL: {
    gboolean b;
    if (vt == G_TYPE_BOOLEAN)
      b = json_node_get_boolean (value);
    else if (vt == G_TYPE_STRING && (strcmp (json_node_get_string (value), "true") == 0 ||
                                     strcmp (json_node_get_string (value), "false") == 0))
      b = json_node_get_string (value)[0] == 't';
    else {
      bad (error, p, "expected true or false");
      return NULL;
    }
    out = g_strdup (b ? "true" : "false");
    eff = json_node_init_boolean (json_node_alloc (), b);
    break;
  }
  case NERVED_PARAM_ENUM: {
    const char *s = vt == G_TYPE_STRING ? json_node_get_string (value) : NULL;
    if (!s || !p->values || !g_strv_contains ((const char *const *) p->values, s)) {
      g_autofree char *allowed = p->values ? g_strjoinv (", ", p->values) : g_strdup ("");
      if (s && g_utf8_validate (s, -1, NULL))
        bad (error, p, "'%.40s' is not one of: %s", s, allowed);
      else
        bad (error, p, "expected one of: %s", allowed);
      return NULL;
    }
    out = g_strdup (s); /* load checked every choice to be a plain word */
    eff = json_node_init_string (json_node_alloc (), s);
    break;
  }
  case NERVED_PARAM_PATH: {
    if (vt != G_TYPE_STRING) {
      bad (error, p, "expected a path string");
      return NULL;
    }
    const char *s = json_node_get_string (value);
    if (!check_text (p, s, FALSE, error))
      return NULL;
    g_autofree char *path = NULL;
    g_autoptr (GError) e = NULL;
    if (at_load || trusted)
      path = g_strdup (s);
    else if (!(path = nerved_path_resolve (s, p->write, roots, &e))) {
      bad (error, p, "%s", e->message);
      return NULL;
    }
    /* the real path may hold characters the client's text did not */
    if (!check_text (p, path, FALSE, error))
      return NULL;
    out = quote (path);
    eff = json_node_init_string (json_node_alloc (), path);
    break;
  }
  case NERVED_PARAM_URI: {
    if (vt != G_TYPE_STRING) {
      bad (error, p, "expected a URI string");
      return NULL;
    }
    g_autofree char *uri = render_uri (p, json_node_get_string (value), roots, at_load, trusted, error);
    if (!uri)
      return NULL;
    out = quote (uri);
    eff = json_node_init_string (json_node_alloc (), uri);
    break;
  }
  case NERVED_PARAM_STRING: {
    if (vt != G_TYPE_STRING) {
      bad (error, p, "expected a string");
      return NULL;
    }
    const char *s = json_node_get_string (value);
    if (!check_text (p, s, TRUE, error))
      return NULL;
    /* GStreamer reads an unquoted NULL as no string at all */
    if (strcmp (s, "NULL") == 0) {
      bad (error, p, "'NULL' is not allowed");
      return NULL;
    }
    if (p->pattern && !nerved_pattern_matches (p->pattern, s)) {
      bad (error, p, "'%.60s' does not match the pattern %s", s, g_regex_get_pattern (p->pattern));
      return NULL;
    }
    out = quote (s);
    eff = json_node_init_string (json_node_alloc (), s);
    break;
  }
  default:
    bad (error, p, "unknown type");
    return NULL;
  }
  if (effective)
    *effective = g_steal_pointer (&eff);
  return g_steal_pointer (&out);
}

char *
nerved_template_render (const NervedTemplate *t, JsonObject *params, const char *const *data_roots,
                        GHashTable *trusted, JsonObject **effective, GError **error)
{
  if (effective)
    *effective = NULL;
  /* names the client sent: every one must be a parameter the daemon does not fill */
  if (params) {
    g_autoptr (GList) names = json_object_get_members (params);
    for (GList *l = names; l; l = l->next) {
      const char *name = l->data;
      if (trusted && g_hash_table_contains (trusted, name)) {
        g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: set by the daemon, not by clients", name);
        return NULL;
      }
      if (!nerved_template_find_param (t, name)) {
        g_autoptr (GString) known = g_string_new (NULL);
        for (guint i = 0; i < t->params->len; i++) {
          const NervedParam *p = g_ptr_array_index (t->params, i);
          if (!trusted || !g_hash_table_contains (trusted, p->name))
            g_string_append_printf (known, "%s%s", known->len ? ", " : "", p->name);
        }
        g_autofree char *shown = g_utf8_validate (name, -1, NULL) ? g_strndup (name, 64) : g_strdup ("(invalid UTF-8)");
        g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: unknown parameter of template %s (it takes: %s)",
                     shown, t->name, known->len ? known->str : "none");
        return NULL;
      }
    }
  }

  g_autoptr (GHashTable) rendered = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  g_autoptr (JsonObject) eff = json_object_new ();
  for (guint i = 0; i < t->params->len; i++) {
    const NervedParam *p = g_ptr_array_index (t->params, i);
    const char *tv = trusted ? g_hash_table_lookup (trusted, p->name) : NULL;
    g_autoptr (JsonNode) given = NULL;
    gboolean is_trusted = FALSE;
    if (tv) {
      given = json_node_init_string (json_node_alloc (), tv);
      is_trusted = TRUE;
    } else if (params && json_object_has_member (params, p->name)) {
      given = json_node_copy (json_object_get_member (params, p->name));
    } else if (p->default_value) {
      given = json_node_init_string (json_node_alloc (), p->default_value);
    } else {
      g_set_error (error, NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "%s: required (%s%s%s)", p->name,
                   nerved_param_type_name (p->type), p->description ? ": " : "", p->description ? p->description : "");
      return NULL;
    }
    JsonNode *typed = NULL;
    char *text = nerved_param_render (p, given, data_roots, FALSE, is_trusted, &typed, error);
    if (!text)
      return NULL;
    g_hash_table_insert (rendered, p->name, text);
    json_object_set_member (eff, p->name, typed);
  }

  /* load checked every placeholder: ${name} with a known name */
  g_autoptr (GString) out = g_string_new (NULL);
  for (const char *c = t->launch; *c;) {
    const char *close;
    if (c[0] == '$' && c[1] == '{' && (close = strchr (c + 2, '}'))) {
      g_autofree char *name = g_strndup (c + 2, close - c - 2);
      const char *v = g_hash_table_lookup (rendered, name);
      if (!v) {
        g_set_error (error, NERVED_ERROR, NERVED_ERROR_INTERNAL, "%s: placeholder ${%s} has no value", t->name, name);
        return NULL;
      }
      g_string_append (out, v);
      c = close + 1;
    } else
      g_string_append_c (out, *c++);
  }
  if (effective)
    *effective = g_steal_pointer (&eff);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

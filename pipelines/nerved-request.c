/* nerved: what clients send: create-pipeline bodies, ids, query-string parameters
 * (nerved-request.h). Outside bytes: fuzzed by fuzz/fuzz-nerved-request.c. */
#include "nerved-request.h"

#include <string.h>

#include "nerved-error.h"

#define MAX_DEPTH 32

G_GNUC_PRINTF (2, 3) static gboolean
bad_request (GError **error, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error_literal (error, NERVED_ERROR, NERVED_ERROR_BAD_REQUEST, why);
  return FALSE;
}

gboolean
nerved_id_valid (const char *id)
{
  gsize n = id ? strlen (id) : 0;
  if (n == 0 || n > 64)
    return FALSE;
  for (const char *c = id; *c; c++)
    if (!g_ascii_isalnum (*c) && *c != '_' && *c != '-')
      return FALSE;
  return TRUE;
}

/* A strict RFC 8259 check before json-glib sees the bytes: json-glib is lenient (it takes
 * single-quoted strings and values after the first one) and recurses once per nesting
 * level, so deep or sloppy bodies are refused here, with the byte where it went wrong. */
typedef struct {
  const char *s;
  gsize len, pos;
  const char *why;
} Scan;

static void
ws (Scan *sc)
{
  while (sc->pos < sc->len && strchr (" \t\n\r", sc->s[sc->pos]) && sc->s[sc->pos])
    sc->pos++;
}

static gboolean
fail_at (Scan *sc, const char *why)
{
  sc->why = why;
  return FALSE;
}

static int
hex4 (Scan *sc)
{
  int v = 0;
  for (int i = 0; i < 4; i++, sc->pos++) {
    if (sc->pos >= sc->len || !g_ascii_isxdigit (sc->s[sc->pos]))
      return -1;
    v = v * 16 + g_ascii_xdigit_value (sc->s[sc->pos]);
  }
  return v;
}

static gboolean
string (Scan *sc)
{
  sc->pos++; /* the opening quote */
  while (sc->pos < sc->len) {
    guchar c = (guchar) sc->s[sc->pos++];
    if (c == '"')
      return TRUE;
    if (c < 0x20)
      return fail_at (sc, "control character in a string");
    if (c != '\\')
      continue;
    if (sc->pos >= sc->len)
      break;
    c = (guchar) sc->s[sc->pos++];
    if (c == 'u') {
      int u = hex4 (sc);
      if (u < 0)
        return fail_at (sc, "bad \\u escape");
      if (u == 0)
        return fail_at (sc, "\\u0000 in a string");
      if (u >= 0xdc00 && u <= 0xdfff)
        return fail_at (sc, "unpaired surrogate");
      if (u >= 0xd800 && u <= 0xdbff) {
        if (sc->pos + 2 > sc->len || sc->s[sc->pos] != '\\' || sc->s[sc->pos + 1] != 'u')
          return fail_at (sc, "unpaired surrogate");
        sc->pos += 2;
        int lo = hex4 (sc);
        if (lo < 0xdc00 || lo > 0xdfff)
          return fail_at (sc, "unpaired surrogate");
      }
    } else if (!strchr ("\"\\/bfnrt", c) || !c)
      return fail_at (sc, "bad escape in a string");
  }
  return fail_at (sc, "unterminated string");
}

static gboolean
digits (Scan *sc)
{
  gsize start = sc->pos;
  while (sc->pos < sc->len && g_ascii_isdigit (sc->s[sc->pos]))
    sc->pos++;
  return sc->pos > start;
}

static gboolean
number (Scan *sc)
{
  if (sc->s[sc->pos] == '-')
    sc->pos++;
  if (sc->pos < sc->len && sc->s[sc->pos] == '0')
    sc->pos++;
  else if (!digits (sc))
    return fail_at (sc, "bad number");
  if (sc->pos < sc->len && sc->s[sc->pos] == '.') {
    sc->pos++;
    if (!digits (sc))
      return fail_at (sc, "bad number");
  }
  if (sc->pos < sc->len && (sc->s[sc->pos] == 'e' || sc->s[sc->pos] == 'E')) {
    sc->pos++;
    if (sc->pos < sc->len && (sc->s[sc->pos] == '+' || sc->s[sc->pos] == '-'))
      sc->pos++;
    if (!digits (sc))
      return fail_at (sc, "bad number");
  }
  return TRUE;
}

static gboolean
value (Scan *sc, int depth)
{
  ws (sc);
  if (sc->pos >= sc->len)
    return fail_at (sc, "expected a value");
  char c = sc->s[sc->pos];
  if (c == '"')
    return string (sc);
  if (c == '-' || g_ascii_isdigit (c))
    return number (sc);
  static const char *const words[] = { "true", "false", "null" };
  for (guint i = 0; i < G_N_ELEMENTS (words); i++) {
    gsize n = strlen (words[i]);
    if (sc->len - sc->pos >= n && memcmp (sc->s + sc->pos, words[i], n) == 0) {
      sc->pos += n;
      return TRUE;
    }
  }
  if (c != '[' && c != '{')
    return fail_at (sc, "expected a value");
  if (depth >= MAX_DEPTH)
    return fail_at (sc, "nested too deeply");
  char close = c == '[' ? ']' : '}';
  sc->pos++;
  ws (sc);
  if (sc->pos < sc->len && sc->s[sc->pos] == close) {
    sc->pos++;
    return TRUE;
  }
  for (;;) {
    if (close == '}') {
      ws (sc);
      if (sc->pos >= sc->len || sc->s[sc->pos] != '"')
        return fail_at (sc, "expected a member name");
      if (!string (sc))
        return FALSE;
      ws (sc);
      if (sc->pos >= sc->len || sc->s[sc->pos] != ':')
        return fail_at (sc, "expected ':'");
      sc->pos++;
    }
    if (!value (sc, depth + 1))
      return FALSE;
    ws (sc);
    if (sc->pos < sc->len && sc->s[sc->pos] == ',') {
      sc->pos++;
      continue;
    }
    if (sc->pos < sc->len && sc->s[sc->pos] == close) {
      sc->pos++;
      return TRUE;
    }
    return fail_at (sc, close == ']' ? "expected ',' or ']'" : "expected ',' or '}'");
  }
}

static gboolean
strict_json (const char *s, gsize len, GError **error)
{
  Scan sc = { s, len, 0, NULL };
  if (value (&sc, 0)) {
    ws (&sc);
    if (sc.pos == len)
      return TRUE;
    sc.why = "trailing characters after the JSON value";
  }
  return bad_request (error, "invalid JSON at byte %" G_GSIZE_FORMAT ": %s", sc.pos, sc.why);
}

/* The JSON object in body, or NULL with BAD_REQUEST. */
static JsonObject *
parse_object (const char *body, gsize len, GError **error)
{
  if (!body || len == 0) {
    bad_request (error, "empty body: expected a JSON object");
    return NULL;
  }
  if (!g_utf8_validate_len (body, len, NULL)) {
    bad_request (error, "the body is not valid UTF-8");
    return NULL;
  }
  if (!strict_json (body, len, error))
    return NULL;
  g_autoptr (JsonParser) parser = json_parser_new_immutable ();
  g_autoptr (GError) e = NULL;
  if (!json_parser_load_from_data (parser, body, (gssize) len, &e)) {
    bad_request (error, "invalid JSON: %s", e->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT (root)) {
    bad_request (error, "expected a JSON object, got %s", root ? json_node_type_name (root) : "nothing");
    return NULL;
  }
  return json_object_ref (json_node_get_object (root));
}

static const char *
get_string (JsonObject *o, const char *field, gboolean *ok, GError **error)
{
  JsonNode *n = json_object_get_member (o, field);
  if (!n || !*ok)
    return NULL;
  if (!JSON_NODE_HOLDS_VALUE (n) || json_node_get_value_type (n) != G_TYPE_STRING) {
    *ok = bad_request (error, "%s: expected a string", field);
    return NULL;
  }
  const char *s = json_node_get_string (n);
  if (!*s)
    *ok = bad_request (error, "%s: must not be empty", field);
  return s;
}

gboolean
nerved_create_request_parse (const char *body, gsize len, NervedCreateRequest *out, GError **error)
{
  static const char *const fields[] = { "template", "launch", "id", "params", "restart", "start", NULL };
  memset (out, 0, sizeof *out);
  out->start = TRUE;
  g_autoptr (JsonObject) o = parse_object (body, len, error);
  if (!o)
    return FALSE;

  g_autoptr (GList) members = json_object_get_members (o);
  g_autoptr (GString) unknown = g_string_new (NULL);
  guint n_unknown = 0;
  for (GList *l = members; l; l = l->next)
    if (!g_strv_contains (fields, l->data)) {
      if (n_unknown++ < 8) /* a few are enough to say what is wrong */
        g_string_append_printf (unknown, "%s'%.64s'", unknown->len ? ", " : "", (const char *) l->data);
    }
  if (n_unknown)
    return bad_request (error, "unknown field%s %s%s (known: template, launch, id, params, restart, start)",
                        n_unknown > 1 ? "s" : "", unknown->str, n_unknown > 8 ? ", ..." : "");

  gboolean ok = TRUE;
  const char *tmpl = get_string (o, "template", &ok, error);
  const char *launch = get_string (o, "launch", &ok, error);
  const char *id = get_string (o, "id", &ok, error);
  const char *restart = get_string (o, "restart", &ok, error);
  if (!ok)
    return FALSE;
  if (!tmpl == !launch)
    return bad_request (error, tmpl ? "give either template or launch, not both" : "template (or launch) is required");
  if (id && !nerved_id_valid (id))
    return bad_request (error, "id: must be 1 to 64 of A-Z a-z 0-9 _ -");
  NervedRestartPolicy policy = NERVED_RESTART_NEVER;
  if (restart && !nerved_restart_policy_parse (restart, &policy))
    return bad_request (error, "restart: '%.32s' is not never, on-failure or always", restart);
  JsonNode *start = json_object_get_member (o, "start");
  if (start && (!JSON_NODE_HOLDS_VALUE (start) || json_node_get_value_type (start) != G_TYPE_BOOLEAN))
    return bad_request (error, "start: expected true or false");
  JsonNode *params = json_object_get_member (o, "params");
  if (params && !JSON_NODE_HOLDS_OBJECT (params))
    return bad_request (error, "params: expected an object (parameter name -> value)");

  out->template_name = g_strdup (tmpl);
  out->launch = g_strdup (launch);
  out->id = g_strdup (id);
  out->params = params ? json_object_ref (json_node_get_object (params)) : json_object_new ();
  out->has_restart = restart != NULL;
  out->restart = policy;
  out->start = start ? json_node_get_boolean (start) : TRUE;
  return TRUE;
}

void
nerved_create_request_clear (NervedCreateRequest *r)
{
  g_clear_pointer (&r->template_name, g_free);
  g_clear_pointer (&r->launch, g_free);
  g_clear_pointer (&r->id, g_free);
  g_clear_pointer (&r->params, json_object_unref);
  r->has_restart = FALSE;
  r->restart = NERVED_RESTART_NEVER;
  r->start = TRUE;
}

static gint
cmp_str (gconstpointer a, gconstpointer b)
{
  return strcmp (a, b);
}

JsonObject *
nerved_query_to_params (GHashTable *query, const char *const *reserved, GError **error)
{
  g_autoptr (JsonObject) o = json_object_new ();
  if (!query)
    return g_steal_pointer (&o);
  g_autoptr (GList) keys = g_list_sort (g_hash_table_get_keys (query), cmp_str); /* stable order */
  for (GList *l = keys; l; l = l->next) {
    const char *k = l->data, *v = g_hash_table_lookup (query, k);
    if (reserved && g_strv_contains (reserved, k))
      continue;
    if (!g_utf8_validate (k, -1, NULL) || (v && !g_utf8_validate (v, -1, NULL))) {
      bad_request (error, "query parameter %s is not valid UTF-8",
                   g_utf8_validate (k, -1, NULL) ? k : "(a name)");
      return NULL;
    }
    json_object_set_string_member (o, k, v ? v : "");
  }
  return g_steal_pointer (&o);
}

/* nervectl: the command-line client of nerved's HTTP API (docs/daemon.md).
 *
 * One request per command, answered as pretty JSON on stdout. Exit status: 0 success,
 * 1 the daemon answered with an error (or a job failed), 2 usage, 3 the daemon could not
 * be reached. `events` follows a Server-Sent Events stream and reconnects with
 * Last-Event-ID when the connection drops (nervectl-events.c). */
#include "nervectl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- output ---------------------------------------------------------------------- */

/* json-glib's pretty printer writes `"key" : value`; people and grep expect `"key": value`. */
static void
pretty_node (GString *s, JsonNode *node, int depth)
{
  switch (JSON_NODE_TYPE (node)) {
  case JSON_NODE_OBJECT: {
    JsonObject *o = json_node_get_object (node);
    g_autoptr(GList) members = json_object_get_members (o);
    if (!members) {
      g_string_append (s, "{}");
      break;
    }
    g_string_append (s, "{\n");
    for (GList *l = members; l; l = l->next) {
      g_autoptr(JsonNode) key = json_node_init_string (json_node_alloc (), l->data);
      g_autofree char *k = json_to_string (key, FALSE);
      g_string_append_printf (s, "%*s%s: ", 2 * (depth + 1), "", k);
      pretty_node (s, json_object_get_member (o, l->data), depth + 1);
      g_string_append (s, l->next ? ",\n" : "\n");
    }
    g_string_append_printf (s, "%*s}", 2 * depth, "");
    break;
  }
  case JSON_NODE_ARRAY: {
    JsonArray *a = json_node_get_array (node);
    guint n = json_array_get_length (a);
    if (n == 0) {
      g_string_append (s, "[]");
      break;
    }
    g_string_append (s, "[\n");
    for (guint i = 0; i < n; i++) {
      g_string_append_printf (s, "%*s", 2 * (depth + 1), "");
      pretty_node (s, json_array_get_element (a, i), depth + 1);
      g_string_append (s, i + 1 < n ? ",\n" : "\n");
    }
    g_string_append_printf (s, "%*s]", 2 * depth, "");
    break;
  }
  default: {
    g_autofree char *v = json_to_string (node, FALSE);
    g_string_append (s, v);
  }
  }
}

char *
nervectl_pretty (JsonNode *node)
{
  GString *s = g_string_new (NULL);
  pretty_node (s, node, 0);
  return g_string_free (s, FALSE);
}

/* The body as pretty JSON when it parses, else as it came. */
static void
print_body (GBytes *body)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  if (!data || len == 0)
    return;
  g_autoptr(JsonParser) p = json_parser_new ();
  if (json_parser_load_from_data (p, data, (gssize) len, NULL) && json_parser_get_root (p)) {
    g_autofree char *s = nervectl_pretty (json_parser_get_root (p));
    printf ("%s\n", s);
  } else {
    fwrite (data, 1, len, stdout);
    if (data[len - 1] != '\n')
      putchar ('\n');
  }
  fflush (stdout);
}

/* ---- requests -------------------------------------------------------------------- */

static char *
escape (const char *s)
{
  return g_uri_escape_string (s, NULL, FALSE);
}

SoupMessage *
nervectl_message (NervectlCtx *c, const char *method, const char *path)
{
  g_autofree char *url = g_strconcat (c->url, path, NULL);
  SoupMessage *msg = soup_message_new (method, url);
  if (!msg)
    return NULL;
  if (c->token) {
    g_autofree char *auth = g_strconcat ("Bearer ", c->token, NULL);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization", auth);
  }
  return msg;
}

int
nervectl_transport_error (NervectlCtx *c, SoupMessage *msg, const GError *error)
{
  g_autofree char *url = g_uri_to_string (soup_message_get_uri (msg));
  fprintf (stderr, "nervectl: cannot reach nerved at %s: %s\n", url, error->message);
  return NERVECTL_EXIT_CONNECT;
}

int
nervectl_api_error (guint status, const char *reason, GBytes *body)
{
  gsize len = 0;
  const char *data = body ? g_bytes_get_data (body, &len) : NULL;
  g_autoptr(JsonParser) p = json_parser_new ();
  if (data && len > 0 && json_parser_load_from_data (p, data, (gssize) len, NULL)) {
    JsonNode *root = json_parser_get_root (p);
    JsonObject *o = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
    JsonNode *e = o ? json_object_get_member (o, "error") : NULL;
    if (e && JSON_NODE_HOLDS_OBJECT (e)) {
      JsonObject *eo = json_node_get_object (e);
      const char *code = json_object_get_string_member_with_default (eo, "code", "error");
      const char *message = json_object_get_string_member_with_default (eo, "message", reason);
      fprintf (stderr, "nervectl: %s (%s, HTTP %u)\n", message, code, status);
      return NERVECTL_EXIT_API;
    }
    /* /healthz while draining: {"status": "draining"} */
    const char *st = o ? json_object_get_string_member_with_default (o, "status", NULL) : NULL;
    if (st) {
      fprintf (stderr, "nervectl: daemon is %s (HTTP %u)\n", st, status);
      return NERVECTL_EXIT_API;
    }
  }
  fprintf (stderr, "nervectl: %s (HTTP %u)\n", reason && *reason ? reason : "request failed", status);
  return NERVECTL_EXIT_API;
}

/* Sends one request; on success (2xx) *out holds the body. Returns an exit status. */
static int
request (NervectlCtx *c, const char *method, const char *path, GBytes *body, const char *ctype,
    guint timeout_s, GBytes **out)
{
  g_autoptr(SoupMessage) msg = nervectl_message (c, method, path);
  if (!msg) {
    fprintf (stderr, "nervectl: cannot build a request for %s%s\n", c->url, path);
    return NERVECTL_EXIT_USAGE;
  }
  if (body)
    soup_message_set_request_body_from_bytes (msg, ctype, body);
  soup_session_set_timeout (c->session, timeout_s);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) answer = soup_session_send_and_read (c->session, msg, NULL, &error);
  if (!answer)
    return nervectl_transport_error (c, msg, error);
  guint status = soup_message_get_status (msg);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    return nervectl_api_error (status, soup_message_get_reason_phrase (msg), answer);
  *out = g_steal_pointer (&answer);
  return 0;
}

/* A request whose answer is printed. */
static int
call (NervectlCtx *c, const char *method, const char *path, GBytes *body)
{
  g_autoptr(GBytes) answer = NULL;
  int rc = request (c, method, path, body, body ? "application/json" : NULL, NERVECTL_TIMEOUT_S, &answer);
  if (rc == 0)
    print_body (answer);
  return rc;
}

static GBytes *
json_body (JsonBuilder *b)
{
  g_autoptr(JsonNode) root = json_builder_get_root (b);
  gsize len = 0;
  char *s = json_to_string (root, FALSE);
  len = strlen (s);
  return g_bytes_new_take (s, len);
}

/* ---- arguments ------------------------------------------------------------------- */

/* name=value pairs from the command line; NULL (after a message) when one is malformed. */
static gboolean
split_param (const char *cmd, const char *arg, char **name, char **value)
{
  const char *eq = strchr (arg, '=');
  if (!eq || eq == arg) {
    fprintf (stderr, "nervectl %s: expected a parameter as name=value, got '%s'\n", cmd, arg);
    return FALSE;
  }
  *name = g_strndup (arg, (gsize) (eq - arg));
  *value = g_strdup (eq + 1);
  return TRUE;
}

/* ---- commands -------------------------------------------------------------------- */

static int
cmd_get (NervectlCtx *c, NervectlArgs *a, const char *path)
{
  return call (c, "GET", path, NULL);
}

static int cmd_health (NervectlCtx *c, NervectlArgs *a) { return cmd_get (c, a, "/healthz"); }
static int cmd_templates (NervectlCtx *c, NervectlArgs *a) { return cmd_get (c, a, "/v1/templates"); }
static int cmd_list (NervectlCtx *c, NervectlArgs *a) { return cmd_get (c, a, "/v1/pipelines"); }
static int cmd_reload (NervectlCtx *c, NervectlArgs *a) { return call (c, "POST", "/v1/templates/reload", NULL); }

static int
cmd_metrics (NervectlCtx *c, NervectlArgs *a)
{
  g_autoptr(GBytes) answer = NULL;
  int rc = request (c, "GET", "/metrics", NULL, NULL, NERVECTL_TIMEOUT_S, &answer);
  if (rc == 0) {
    gsize len = 0;
    const char *data = g_bytes_get_data (answer, &len);
    fwrite (data, 1, len, stdout);
  }
  return rc;
}

/* GET/POST/DELETE on /<prefix>/<escaped id>[suffix] */
static int
on_id (NervectlCtx *c, const char *method, const char *prefix, const char *id, const char *suffix)
{
  g_autofree char *eid = escape (id);
  g_autofree char *path = g_strconcat (prefix, "/", eid, suffix, NULL);
  return call (c, method, path, NULL);
}

#define ARG0(a) ((const char *) (a)->args->pdata[0])

static int cmd_template (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "GET", "/v1/templates", ARG0 (a), ""); }
static int cmd_status (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "GET", "/v1/pipelines", ARG0 (a), ""); }
static int cmd_start (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "POST", "/v1/pipelines", ARG0 (a), "/start"); }
static int cmd_pause (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "POST", "/v1/pipelines", ARG0 (a), "/pause"); }
static int cmd_stop (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "POST", "/v1/pipelines", ARG0 (a), "/stop"); }
static int cmd_delete (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "DELETE", "/v1/pipelines", ARG0 (a), ""); }
static int cmd_job_status (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "GET", "/v1/jobs", ARG0 (a), ""); }
static int cmd_job_delete (NervectlCtx *c, NervectlArgs *a) { return on_id (c, "DELETE", "/v1/jobs", ARG0 (a), ""); }

/* The create/launch body: the options shared by both. */
static void
add_create_options (JsonBuilder *b, NervectlArgs *a)
{
  if (a->id) {
    json_builder_set_member_name (b, "id");
    json_builder_add_string_value (b, a->id);
  }
  if (a->restart) {
    json_builder_set_member_name (b, "restart");
    json_builder_add_string_value (b, a->restart);
  }
  if (a->no_start) {
    json_builder_set_member_name (b, "start");
    json_builder_add_boolean_value (b, FALSE);
  }
}

/* Parameter values go as JSON strings: the daemon converts them to the parameter's type
 * (int, float, bool) when the whole string parses, and names the parameter otherwise. */
static int
cmd_create (NervectlCtx *c, NervectlArgs *a)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "template");
  json_builder_add_string_value (b, ARG0 (a));
  json_builder_set_member_name (b, "params");
  json_builder_begin_object (b);
  for (guint i = 1; i < a->args->len; i++) {
    g_autofree char *name = NULL, *value = NULL;
    if (!split_param ("create", a->args->pdata[i], &name, &value))
      return NERVECTL_EXIT_USAGE;
    json_builder_set_member_name (b, name);
    json_builder_add_string_value (b, value);
  }
  json_builder_end_object (b);
  add_create_options (b, a);
  json_builder_end_object (b);
  g_autoptr(GBytes) body = json_body (b);
  return call (c, "POST", "/v1/pipelines", body);
}

static int
cmd_launch (NervectlCtx *c, NervectlArgs *a)
{
  g_autoptr(JsonBuilder) b = json_builder_new ();
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "launch");
  json_builder_add_string_value (b, ARG0 (a));
  add_create_options (b, a);
  json_builder_end_object (b);
  g_autoptr(GBytes) body = json_body (b);
  return call (c, "POST", "/v1/pipelines", body);
}

/* Downloads GET path into file (written to FILE.part, then renamed: no half files). */
static int
download (NervectlCtx *c, const char *path, const char *file)
{
  g_autoptr(GBytes) answer = NULL;
  int rc = request (c, "GET", path, NULL, NULL, NERVECTL_TIMEOUT_S, &answer);
  if (rc != 0)
    return rc;
  gsize len = 0;
  const char *data = g_bytes_get_data (answer, &len);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents (file, data, (gssize) len, &error)) {
    fprintf (stderr, "nervectl: cannot write %s: %s\n", file, error->message);
    return NERVECTL_EXIT_API;
  }
  fprintf (stderr, "nervectl: wrote %s (%" G_GSIZE_FORMAT " bytes)\n", file, len);
  return 0;
}

static int
cmd_job (NervectlCtx *c, NervectlArgs *a)
{
  const char *file = a->args->pdata[1];
  if (a->output && a->no_wait) {
    fprintf (stderr, "nervectl job: --output needs the finished job; drop --no-wait "
        "(or fetch it later with job-output)\n");
    return NERVECTL_EXIT_USAGE;
  }
  g_autoptr(GError) error = NULL;
  g_autoptr(GMappedFile) mapped = g_mapped_file_new (file, FALSE, &error);
  if (!mapped) {
    fprintf (stderr, "nervectl job: cannot read %s: %s\n", file, error->message);
    return NERVECTL_EXIT_USAGE;
  }
  g_autoptr(GBytes) body = g_mapped_file_get_bytes (mapped);

  g_autofree char *tmpl = escape (ARG0 (a));
  g_autoptr(GString) path = g_string_new ("/v1/jobs?template=");
  g_string_append (path, tmpl);
  if (!a->no_wait)
    g_string_append (path, "&wait=1");
  for (guint i = 2; i < a->args->len; i++) {
    g_autofree char *name = NULL, *value = NULL;
    if (!split_param ("job", a->args->pdata[i], &name, &value))
      return NERVECTL_EXIT_USAGE;
    g_autofree char *en = escape (name), *ev = escape (value);
    g_string_append_printf (path, "&%s=%s", en, ev);
  }

  g_autoptr(GBytes) answer = NULL;
  int rc = request (c, "POST", path->str, body, "application/octet-stream", 0, &answer);
  if (rc != 0)
    return rc;
  print_body (answer);
  if (a->no_wait)
    return 0;

  /* wait=1: the finished job. A failed job is a failure of the command. */
  gsize len = 0;
  const char *data = g_bytes_get_data (answer, &len);
  g_autoptr(JsonParser) p = json_parser_new ();
  JsonObject *job = NULL;
  if (json_parser_load_from_data (p, data, (gssize) len, NULL) && JSON_NODE_HOLDS_OBJECT (json_parser_get_root (p)))
    job = json_node_get_object (json_parser_get_root (p));
  if (!job) {
    fprintf (stderr, "nervectl job: the daemon's answer is not a JSON object\n");
    return NERVECTL_EXIT_API;
  }
  const char *state = json_object_get_string_member_with_default (job, "state", "");
  if (strcmp (state, "done") != 0) {
    const char *msg = "no error message";
    JsonNode *e = json_object_get_member (job, "error");
    if (e && JSON_NODE_HOLDS_OBJECT (e))
      msg = json_object_get_string_member_with_default (json_node_get_object (e), "message", msg);
    fprintf (stderr, "nervectl: job %s is %s: %s\n",
        json_object_get_string_member_with_default (job, "id", "?"), state, msg);
    return NERVECTL_EXIT_API;
  }
  if (!a->output)
    return 0;
  JsonNode *out = json_object_get_member (job, "output");
  if (!out || !JSON_NODE_HOLDS_VALUE (out) || json_node_get_value_type (out) != G_TYPE_STRING) {
    fprintf (stderr, "nervectl job: template %s produces no output file (only results)\n", ARG0 (a));
    return NERVECTL_EXIT_API;
  }
  return download (c, json_node_get_string (out), a->output);
}

static int
cmd_job_output (NervectlCtx *c, NervectlArgs *a)
{
  g_autofree char *eid = escape (ARG0 (a));
  g_autofree char *path = g_strconcat ("/v1/jobs/", eid, "/output", NULL);
  return download (c, path, a->args->pdata[1]);
}

/* ---- command table and argument parsing ------------------------------------------ */

typedef struct {
  const char *name;
  const char *synopsis;
  const char *options;        /* the options it takes, each as " --name" */
  guint min_args, max_args;   /* positional; G_MAXUINT: any number */
  int (*run) (NervectlCtx *c, NervectlArgs *a);
} Command;

static const Command commands[] = {
  { "health", "health", "", 0, 0, cmd_health },
  { "metrics", "metrics", "", 0, 0, cmd_metrics },
  { "templates", "templates", "", 0, 0, cmd_templates },
  { "template", "template NAME", "", 1, 1, cmd_template },
  { "reload", "reload", "", 0, 0, cmd_reload },
  { "list", "list", "", 0, 0, cmd_list },
  { "create", "create TEMPLATE [name=value ...] [--id ID] [--no-start] [--restart POLICY]",
    " --id --no-start --restart", 1, G_MAXUINT, cmd_create },
  { "launch", "launch 'LINE' [--id ID] [--no-start] [--restart POLICY]",
    " --id --no-start --restart", 1, 1, cmd_launch },
  { "status", "status ID", "", 1, 1, cmd_status },
  { "start", "start ID", "", 1, 1, cmd_start },
  { "pause", "pause ID", "", 1, 1, cmd_pause },
  { "stop", "stop ID", "", 1, 1, cmd_stop },
  { "delete", "delete ID", "", 1, 1, cmd_delete },
  { "events", "events [ID] [--after N] [--count N] [--timeout S]",
    " --after --count --timeout", 0, 1, nervectl_events },
  { "job", "job TEMPLATE FILE [name=value ...] [--no-wait] [--output FILE]",
    " --no-wait --output", 2, G_MAXUINT, cmd_job },
  { "job-status", "job-status ID", "", 1, 1, cmd_job_status },
  { "job-output", "job-output ID FILE", "", 2, 2, cmd_job_output },
  { "job-delete", "job-delete ID", "", 1, 1, cmd_job_delete },
};

static void
usage (FILE *f)
{
  fprintf (f, "Usage: nervectl [--url URL] [--token-file FILE] COMMAND ...\n\n"
      "Talks to nerved (default URL: $NERVED_URL or " NERVECTL_DEFAULT_URL "; bearer token from\n"
      "--token-file or $NERVED_TOKEN). Commands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %s\n", commands[i].synopsis);
  fprintf (f, "\nPrints the daemon's JSON answer. Exit status: 0 ok, 1 error answer or failed job,\n"
      "2 usage, 3 daemon unreachable. See docs/daemon.md.\n");
}

/* "--name" is one of the listed options */
static gboolean
has_option (const char *list, const char *name)
{
  g_autofree char *needle = g_strconcat (" ", name, NULL);
  gsize n = strlen (needle);
  for (const char *p = strstr (list, needle); p; p = strstr (p + 1, needle))
    if (p[n] == ' ' || p[n] == '\0')
      return TRUE;
  return FALSE;
}

/* Options may come anywhere after the command (and --url/--token-file anywhere); "--"
 * ends them. Returns FALSE after printing what was wrong. */
static gboolean
parse_args (int argc, char **argv, const Command **cmd, NervectlArgs *a, const char **url,
    const char **token_file)
{
  gboolean dashdash = FALSE;
  for (int i = 1; i < argc; i++) {
    const char *arg = argv[i];
    if (dashdash || arg[0] != '-' || arg[1] == '\0') {
      if (!*cmd) {
        for (gsize k = 0; k < G_N_ELEMENTS (commands); k++)
          if (strcmp (commands[k].name, arg) == 0)
            *cmd = &commands[k];
        if (!*cmd) {
          fprintf (stderr, "nervectl: unknown command '%s' (nervectl --help lists them)\n", arg);
          return FALSE;
        }
      } else {
        g_ptr_array_add (a->args, (char *) arg);
      }
      continue;
    }
    if (strcmp (arg, "--") == 0) {
      dashdash = TRUE;
      continue;
    }
    if (strcmp (arg, "--help") == 0 || strcmp (arg, "-h") == 0) {
      a->help = TRUE;
      continue;
    }
    g_autofree char *name = NULL;
    const char *value = NULL;
    const char *eq = strchr (arg, '=');
    name = eq ? g_strndup (arg, (gsize) (eq - arg)) : g_strdup (arg);
    if (eq)
      value = eq + 1;
    gboolean flag = strcmp (name, "--no-start") == 0 || strcmp (name, "--no-wait") == 0;
    gboolean global = strcmp (name, "--url") == 0 || strcmp (name, "--token-file") == 0;
    if (!global && !(*cmd && has_option ((*cmd)->options, name))) {
      if (*cmd)
        fprintf (stderr, "nervectl %s: unknown option %s (usage: nervectl %s)\n", (*cmd)->name, name,
            (*cmd)->synopsis);
      else
        fprintf (stderr, "nervectl: unknown option %s before the command\n", name);
      return FALSE;
    }
    if (flag) {
      if (value) {
        fprintf (stderr, "nervectl: %s takes no value\n", name);
        return FALSE;
      }
      if (strcmp (name, "--no-start") == 0)
        a->no_start = TRUE;
      else
        a->no_wait = TRUE;
      continue;
    }
    if (!value) {
      if (i + 1 >= argc) {
        fprintf (stderr, "nervectl: %s needs a value\n", name);
        return FALSE;
      }
      value = argv[++i];
    }
    if (strcmp (name, "--url") == 0) *url = value;
    else if (strcmp (name, "--token-file") == 0) *token_file = value;
    else if (strcmp (name, "--id") == 0) a->id = value;
    else if (strcmp (name, "--restart") == 0) a->restart = value;
    else if (strcmp (name, "--output") == 0) a->output = value;
    else if (strcmp (name, "--after") == 0) a->after = value;
    else if (strcmp (name, "--count") == 0) a->count = value;
    else if (strcmp (name, "--timeout") == 0) a->timeout = value;
  }
  return TRUE;
}

/* The first token in a token file (one per line; blank lines and # comments skipped). */
static char *
read_token (const char *file)
{
  g_autofree char *text = NULL;
  g_autoptr(GError) error = NULL;
  if (!g_file_get_contents (file, &text, NULL, &error)) {
    fprintf (stderr, "nervectl: cannot read token file: %s\n", error->message);
    return NULL;
  }
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l; l++) {
    g_strstrip (*l);
    if (**l && **l != '#')
      return g_strdup (*l);
  }
  fprintf (stderr, "nervectl: token file %s holds no token\n", file);
  return NULL;
}

/* Base URL: must be http(s)://host[:port][/prefix]; stored without a trailing '/'. */
static char *
check_url (const char *url)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, &error);
  if (!uri) {
    fprintf (stderr, "nervectl: invalid URL '%s': %s\n", url, error->message);
    return NULL;
  }
  const char *scheme = g_uri_get_scheme (uri);
  if ((g_ascii_strcasecmp (scheme, "http") != 0 && g_ascii_strcasecmp (scheme, "https") != 0)
      || !g_uri_get_host (uri) || !*g_uri_get_host (uri) || g_uri_get_query (uri)) {
    fprintf (stderr, "nervectl: invalid URL '%s': expected http://HOST:PORT\n", url);
    return NULL;
  }
  char *s = g_strdup (url);
  gsize n = strlen (s);
  while (n > 0 && s[n - 1] == '/')
    s[--n] = '\0';
  return s;
}

int
main (int argc, char **argv)
{
  const Command *cmd = NULL;
  NervectlArgs a = { .args = g_ptr_array_new () };
  const char *url = g_getenv ("NERVED_URL");
  const char *token_file = NULL;
  int rc = NERVECTL_EXIT_USAGE;
  NervectlCtx c = { 0 };

  if (!url || !*url)
    url = NERVECTL_DEFAULT_URL;
  if (!parse_args (argc, argv, &cmd, &a, &url, &token_file))
    goto out;
  if (a.help || !cmd) {
    if (cmd)
      printf ("Usage: nervectl [--url URL] [--token-file FILE] %s\n", cmd->synopsis);
    else
      usage (a.help ? stdout : stderr);
    rc = a.help ? 0 : NERVECTL_EXIT_USAGE;
    goto out;
  }
  if (a.args->len < cmd->min_args || a.args->len > cmd->max_args) {
    fprintf (stderr, "nervectl %s: %s arguments (usage: nervectl %s)\n", cmd->name,
        a.args->len < cmd->min_args ? "missing" : "too many", cmd->synopsis);
    goto out;
  }
  if (!(c.url = check_url (url)))
    goto out;
  if (token_file) {
    if (!(c.token = read_token (token_file)))
      goto out;
  } else if (g_getenv ("NERVED_TOKEN") && *g_getenv ("NERVED_TOKEN")) {
    c.token = g_strstrip (g_strdup (g_getenv ("NERVED_TOKEN")));
  }
  c.session = soup_session_new_with_options ("user-agent", "nervectl/" NERVECTL_VERSION, NULL);
  /* straight to the daemon: no system proxy (a proxy module would also be loaded, and
   * with it C++ libproxy, only to find that loopback needs none) */
  soup_session_set_proxy_resolver (c.session, NULL);
  rc = cmd->run (&c, &a);

out:
  g_clear_object (&c.session);
  g_free (c.url);
  g_free (c.token);
  g_ptr_array_unref (a.args);
  return rc;
}

/* nervectl against a scripted HTTP server in this process (its answers are fixed, so each
 * test checks one behaviour of the client): exit statuses and messages, the error format,
 * the bearer token, the job upload and download, and the event follower (reconnect with
 * Last-Event-ID, the "missed" notice, --count, --timeout). The real daemon is driven by
 * the nerved-docs suite. */
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <string.h>

#include "check.h"

typedef struct {
  SoupServer *server;
  char *url;
  guint event_connections;
  char *last_event_id[4];     /* Last-Event-ID of each /v1/events connection */
  char *authorization;
  char *job_query;
  GBytes *job_body;
} Fake;

static Fake fake;

static void
answer_json (SoupServerMessage *msg, guint status, const char *json)
{
  soup_server_message_set_status (msg, status, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY, json, strlen (json));
}

static void
handler (SoupServer *server, SoupServerMessage *msg, const char *path, GHashTable *query, gpointer data)
{
  SoupMessageHeaders *req = soup_server_message_get_request_headers (msg);
  const char *method = soup_server_message_get_method (msg);
  g_free (fake.authorization);
  fake.authorization = g_strdup (soup_message_headers_get_one (req, "Authorization"));

  if (strcmp (path, "/v1/events") == 0) {
    /* first connection: ids 1-3, then the stream ends (as when a connection drops);
     * second: a missed notice, a keepalive, ids 4-6 with CRLF line ends */
    guint n = fake.event_connections++;
    if (n < G_N_ELEMENTS (fake.last_event_id))
      fake.last_event_id[n] = g_strdup (soup_message_headers_get_one (req, "Last-Event-ID"));
    GString *s = g_string_new (NULL);
    if (n > 0)
      g_string_append (s, "event: missed\ndata: {\"missed\": 2}\n\n: keepalive\n\n");
    for (guint i = 1 + 3 * n; i <= 3 + 3 * n; i++)
      g_string_append_printf (s, "id: %u\r\nevent: message\r\ndata: {\"seq\":%u,\"type\":\"message\"}\r\n\r\n", i, i);
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "text/event-stream", SOUP_MEMORY_COPY, s->str, s->len);
    g_string_free (s, TRUE);
  } else if (strcmp (path, "/v1/pipelines/quiet/events") == 0) {
    /* headers and one event, then nothing: the client's --timeout ends it */
    soup_server_message_set_status (msg, 200, NULL);
    SoupMessageHeaders *h = soup_server_message_get_response_headers (msg);
    soup_message_headers_set_encoding (h, SOUP_ENCODING_CHUNKED);
    soup_message_headers_set_content_type (h, "text/event-stream", NULL);
    const char *ev = "id: 1\nevent: state\ndata: {\"seq\":1}\n\n";
    soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_STATIC, ev, strlen (ev));
  } else if (strcmp (path, "/v1/pipelines/gone/events") == 0) {
    answer_json (msg, 404, "{\"error\": {\"code\": \"not_found\", \"message\": \"no pipeline 'gone'\"}}");
  } else if (strcmp (path, "/v1/pipelines") == 0 && strcmp (method, "POST") == 0) {
    SoupMessageBody *b = soup_server_message_get_request_body (msg);
    g_autoptr (GBytes) body = soup_message_body_flatten (b);
    g_autofree char *echo = g_strdup_printf ("{\"received\": %.*s}", (int) g_bytes_get_size (body),
        (const char *) g_bytes_get_data (body, NULL));
    answer_json (msg, 201, echo);
  } else if (strcmp (path, "/v1/pipelines/busy/pause") == 0) {
    answer_json (msg, 409, "{\"error\": {\"code\": \"conflict\", \"message\": \"pipeline busy is paused, not playing\"}}");
  } else if (strcmp (path, "/v1/jobs") == 0) {
    g_free (fake.job_query);
    fake.job_query = g_strdup (g_uri_get_query (soup_server_message_get_uri (msg)));
    g_clear_pointer (&fake.job_body, g_bytes_unref);
    fake.job_body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
    const char *tmpl = query ? g_hash_table_lookup (query, "template") : NULL;
    if (g_strcmp0 (tmpl, "broken") == 0)
      answer_json (msg, 200, "{\"id\": \"j2\", \"state\": \"failed\", \"error\": {\"message\": \"decodebin: no decoder\"}}");
    else
      answer_json (msg, 200, "{\"id\": \"j1\", \"state\": \"done\", \"results\": [], \"output\": \"/v1/jobs/j1/output\"}");
  } else if (strcmp (path, "/v1/jobs/j1/output") == 0) {
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "application/octet-stream", SOUP_MEMORY_STATIC, "RIFF-output", 11);
  } else if (strcmp (path, "/healthz") == 0) {
    answer_json (msg, 200, "{\"status\": \"ok\", \"pipelines\": 0, \"uptime_s\": 1.5, \"list\": [1, {}], \"e\": []}");
  } else if (strcmp (path, "/metrics") == 0) {
    soup_server_message_set_status (msg, 200, NULL);
    soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "nerved_uptime_seconds 1\n", 24);
  } else {
    soup_server_message_set_status (msg, 502, NULL);
    soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "<html>bad gateway</html>", 24);
  }
}

static int
fake_start (void)
{
  memset (&fake, 0, sizeof fake);
  fake.server = soup_server_new (NULL, NULL);
  soup_server_add_handler (fake.server, NULL, handler, NULL, NULL);
  g_autoptr (GError) err = NULL;
  if (!soup_server_listen_local (fake.server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &err)) {
    fprintf (stderr, "listen: %s\n", err->message);
    return 1;
  }
  GSList *uris = soup_server_get_uris (fake.server);
  fake.url = g_strdup_printf ("http://127.0.0.1:%d", g_uri_get_port (uris->data));
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  return 0;
}

static int
fake_stop (void)
{
  g_object_unref (fake.server);
  g_free (fake.url);
  for (guint i = 0; i < G_N_ELEMENTS (fake.last_event_id); i++)
    g_free (fake.last_event_id[i]);
  g_free (fake.authorization);
  g_free (fake.job_query);
  g_clear_pointer (&fake.job_body, g_bytes_unref);
  return 0;
}

typedef struct {
  int status;                 /* exit status; -1 when killed or not started */
  char *out, *err;
  gboolean done;
} Run;

static void
communicated (GObject *obj, GAsyncResult *res, gpointer data)
{
  Run *r = data;
  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (obj), res, &r->out, &r->err, NULL);
  r->done = TRUE;
}

/* Runs build/pipelines/nervectl with args while the fake server answers (on this
 * thread's main context). env: NULL or "NAME=value" strings. */
static Run
ctl (const char *const *args, const char *const *env)
{
  Run r = { .status = -1 };
  g_autofree char *bin = g_build_filename (g_getenv ("NERVE_BUILD_ROOT"), "pipelines", "nervectl", NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (l, "NERVED_TOKEN");
  g_subprocess_launcher_setenv (l, "NERVED_URL", fake.url, TRUE);
  for (const char *const *e = env; e && *e; e++) {
    g_auto (GStrv) kv = g_strsplit (*e, "=", 2);
    g_subprocess_launcher_setenv (l, kv[0], kv[1], TRUE);
  }
  g_autoptr (GPtrArray) argv = g_ptr_array_new ();
  g_ptr_array_add (argv, bin);
  for (const char *const *a = args; *a; a++)
    g_ptr_array_add (argv, (char *) *a);
  g_ptr_array_add (argv, NULL);
  g_autoptr (GError) err = NULL;
  g_autoptr (GSubprocess) p = g_subprocess_launcher_spawnv (l, (const char *const *) argv->pdata, &err);
  if (!p) {
    CU_FAIL (err->message);
    r.out = g_strdup (""), r.err = g_strdup ("");
    return r;
  }
  g_subprocess_communicate_utf8_async (p, NULL, NULL, communicated, &r);
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!r.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (!r.done) {
    CU_FAIL ("nervectl did not finish within 30 s");
    g_subprocess_force_exit (p);
    while (!r.done)
      g_main_context_iteration (NULL, TRUE);
  }
  g_subprocess_wait (p, NULL, NULL);
  if (g_subprocess_get_if_exited (p))
    r.status = g_subprocess_get_exit_status (p);
  if (!r.out) r.out = g_strdup ("");
  if (!r.err) r.err = g_strdup ("");
  return r;
}

/* Checks the exit status and that stdout/stderr hold the given texts (NULL: anything). */
static void
expect (Run *r, int status, const char *out_has, const char *err_has)
{
  gboolean ok = r->status == status && (!out_has || strstr (r->out, out_has)) && (!err_has || strstr (r->err, err_has));
  CU_ASSERT (ok);
  if (!ok)
    fprintf (stderr, "\nnervectl exited %d (expected %d)\n--- stdout (wanted %s):\n%s--- stderr (wanted %s):\n%s---\n",
        r->status, status, out_has ? out_has : "-", r->out, err_has ? err_has : "-", r->err);
  g_free (r->out);
  g_free (r->err);
}

#define CTL(...) ctl ((const char *const[]) { __VA_ARGS__, NULL }, NULL)

static void
test_usage (void)
{
  Run r = ctl ((const char *const[]) { NULL }, NULL);
  expect (&r, 2, NULL, "Usage: nervectl");
  r = CTL ("--help");
  expect (&r, 0, "job TEMPLATE FILE", NULL);
  r = CTL ("frobnicate");
  expect (&r, 2, NULL, "unknown command 'frobnicate'");
  r = CTL ("status");
  expect (&r, 2, NULL, "nervectl status: missing arguments (usage: nervectl status ID)");
  r = CTL ("status", "a", "b");
  expect (&r, 2, NULL, "too many arguments");
  r = CTL ("create", "tone", "freq");
  expect (&r, 2, NULL, "expected a parameter as name=value, got 'freq'");
  r = CTL ("list", "--id", "x");
  expect (&r, 2, NULL, "nervectl list: unknown option --id");
  r = CTL ("create", "tone", "--id");
  expect (&r, 2, NULL, "--id needs a value");
  r = CTL ("events", "--count", "many");
  expect (&r, 2, NULL, "--count");
  r = CTL ("events", "--timeout", "-1");
  expect (&r, 2, NULL, "--timeout: expected seconds > 0");
  r = CTL ("--url", "localhost:8780", "health");
  expect (&r, 2, NULL, "invalid URL 'localhost:8780'");
  r = CTL ("job", "denoise-file", "/no/such/file.wav");
  expect (&r, 2, NULL, "cannot read /no/such/file.wav");
  r = CTL ("--token-file", "/no/such/tokens", "list");
  expect (&r, 2, NULL, "cannot read token file");
  /* nothing reached the server */
  CU_ASSERT_EQUAL (fake.event_connections, 0);
}

static void
test_unreachable (void)
{
  /* a port nothing listens on: bind one, note it, close it */
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_socket_bind (s, any, TRUE, NULL);
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, NULL);
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (s, NULL);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", port);
  g_autofree char *want = g_strdup_printf ("cannot reach nerved at %s/v1/pipelines: ", url);
  Run r = CTL ("--url", url, "list");
  expect (&r, 3, NULL, want);
  g_autofree char *env = g_strdup_printf ("NERVED_URL=%s/", url);
  g_autofree char *want_ev = g_strdup_printf ("cannot reach nerved at %s/v1/events", url);
  r = ctl ((const char *const[]) { "events", NULL }, (const char *const[]) { env, NULL });
  expect (&r, 3, NULL, want_ev);
}

static void
test_answers (void)
{
  Run r = CTL ("health");
  /* pretty JSON with "key": value */
  expect (&r, 0, "{\n  \"status\": \"ok\",\n  \"pipelines\": 0,\n  \"uptime_s\": 1.5,\n  \"list\": [\n    1,\n    {}\n  ],\n  \"e\": []\n}\n", NULL);
  r = CTL ("metrics");
  expect (&r, 0, "nerved_uptime_seconds 1\n", NULL);
  r = CTL ("pause", "busy");
  expect (&r, 1, NULL, "nervectl: pipeline busy is paused, not playing (conflict, HTTP 409)\n");
  r = CTL ("status", "x");
  expect (&r, 1, NULL, "nervectl: Bad Gateway (HTTP 502)");
  /* create: parameters as strings, options in the body */
  r = CTL ("create", "tone", "freq=440", "label=a=b", "--id", "t1", "--no-start", "--restart=on-failure");
  expect (&r, 0, "\"params\": {\n      \"freq\": \"440\",\n      \"label\": \"a=b\"\n    },\n    \"id\": \"t1\",\n"
      "    \"restart\": \"on-failure\",\n    \"start\": false", NULL);
  r = CTL ("launch", "audiotestsrc ! fakesink");
  expect (&r, 0, "\"launch\": \"audiotestsrc ! fakesink\"", NULL);
}

static void
test_token (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nervectl-XXXXXX", NULL);
  g_autofree char *tokens = g_build_filename (dir, "tokens", NULL);
  g_file_set_contents (tokens, "# comment\n\n  tok-1  \ntok-2\n", -1, NULL);
  Run r = CTL ("--token-file", tokens, "health");
  expect (&r, 0, "\"ok\"", NULL);
  CU_ASSERT_STRING_EQUAL (fake.authorization ? fake.authorization : "", "Bearer tok-1");
  r = ctl ((const char *const[]) { "health", NULL }, (const char *const[]) { "NERVED_TOKEN=env-token", NULL });
  expect (&r, 0, NULL, NULL);
  CU_ASSERT_STRING_EQUAL (fake.authorization ? fake.authorization : "", "Bearer env-token");
  r = CTL ("health");
  expect (&r, 0, NULL, NULL);
  CU_ASSERT_PTR_NULL (fake.authorization);
  g_file_set_contents (tokens, "# only a comment\n", -1, NULL);
  r = CTL ("--token-file", tokens, "health");
  expect (&r, 2, NULL, "holds no token");
  g_unlink (tokens);
  g_rmdir (dir);
}

static void
test_job (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nervectl-XXXXXX", NULL);
  g_autofree char *in = g_build_filename (dir, "in.wav", NULL);
  g_autofree char *out = g_build_filename (dir, "out.wav", NULL);
  g_file_set_contents (in, "RIFF\0\1\2 body", 13, NULL);
  Run r = CTL ("job", "denoise-file", in, "attenuation-limit=20", "note=a b&c", "--output", out);
  expect (&r, 0, "\"state\": \"done\"", "wrote");
  CU_ASSERT_STRING_EQUAL (fake.job_query ? fake.job_query : "",
      "template=denoise-file&wait=1&attenuation-limit=20&note=a%20b%26c");
  CU_ASSERT (fake.job_body && g_bytes_get_size (fake.job_body) == 13
      && memcmp (g_bytes_get_data (fake.job_body, NULL), "RIFF\0\1\2 body", 13) == 0);
  g_autofree char *got = NULL;
  gsize len = 0;
  CU_ASSERT (g_file_get_contents (out, &got, &len, NULL) && len == 11 && memcmp (got, "RIFF-output", 11) == 0);
  r = CTL ("job", "denoise-file", in, "--no-wait");
  expect (&r, 0, NULL, NULL);
  CU_ASSERT_STRING_EQUAL (fake.job_query ? fake.job_query : "", "template=denoise-file");
  r = CTL ("job", "denoise-file", in, "--no-wait", "--output", out);
  expect (&r, 2, NULL, "--output needs the finished job");
  r = CTL ("job", "broken", in);
  expect (&r, 1, "\"state\": \"failed\"", "nervectl: job j2 is failed: decodebin: no decoder");
  g_unlink (in);
  g_unlink (out);
  g_rmdir (dir);
}

static void
test_events (void)
{
  /* the stream ends after id 3: nervectl resumes with Last-Event-ID 3 and prints the
   * daemon's missed notice and the rest, in order */
  Run r = CTL ("events", "--count", "6");
  CU_ASSERT_EQUAL (fake.event_connections, 2);
  CU_ASSERT_PTR_NULL (fake.last_event_id[0]);
  CU_ASSERT_STRING_EQUAL (fake.last_event_id[1] ? fake.last_event_id[1] : "", "3");
  expect (&r, 0, "{\"seq\":1,\"type\":\"message\"}\n{\"seq\":2,\"type\":\"message\"}\n{\"seq\":3,\"type\":\"message\"}\n"
      "{\"missed\":2,\"type\":\"missed\"}\n{\"seq\":4,\"type\":\"message\"}\n{\"seq\":5,\"type\":\"message\"}\n"
      "{\"seq\":6,\"type\":\"message\"}\n", "reconnecting after id 3");
  /* --after sets the first Last-Event-ID */
  r = CTL ("events", "--after", "41", "--count", "1");
  expect (&r, 0, "{\"seq\":7,", NULL);
  CU_ASSERT_STRING_EQUAL (fake.last_event_id[2] ? fake.last_event_id[2] : "", "41");
  /* a stream that goes quiet: --timeout ends it; short of --count that is a failure */
  gint64 t0 = g_get_monotonic_time ();
  r = CTL ("events", "quiet", "--timeout", "0.5");
  expect (&r, 0, "{\"seq\":1}\n", NULL);
  r = CTL ("events", "quiet", "--timeout", "0.5", "--count", "3");
  expect (&r, 1, NULL, "timed out after 0.5 s with 1 of 3 events");
  CU_ASSERT (g_get_monotonic_time () - t0 < 10 * G_USEC_PER_SEC);
  r = CTL ("events", "gone");
  expect (&r, 1, NULL, "nervectl: no pipeline 'gone' (not_found, HTTP 404)");
}

static void
run_with_server (void (*fn) (void))
{
  if (fake_start () == 0)
    fn ();
  else
    CU_FAIL ("the test server could not listen");
  fake_stop ();
}

#define WITH_SERVER(fn) static void fn##_s (void) { run_with_server (fn); }
WITH_SERVER (test_usage)
WITH_SERVER (test_unreachable)
WITH_SERVER (test_answers)
WITH_SERVER (test_token)
WITH_SERVER (test_job)
WITH_SERVER (test_events)

NERVE_TEST_MAIN ("nerved-ctl",
  { "usage errors exit 2 and say what is wrong", test_usage_s },
  { "an unreachable daemon exits 3 naming the URL", test_unreachable_s },
  { "answers are pretty JSON; error answers exit 1 with message, code and status", test_answers_s },
  { "the bearer token comes from --token-file or $NERVED_TOKEN", test_token_s },
  { "job uploads the file with its parameters and downloads the output", test_job_s },
  { "events resumes with Last-Event-ID, prints the missed notice, honours --count and --timeout", test_events_s })

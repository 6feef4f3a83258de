/* nervectl against the real daemon (nerved-api-check.h: the fixture templates on
 * 127.0.0.1:0): exit statuses and the error format of real 400/401/403/404/409 answers, the
 * bearer token, a job's upload and --output download, the event follower (--after, --count,
 * --timeout, the "missed" notice) and its resume with Last-Event-ID after a real dropped
 * connection: a relay between nervectl and the daemon cuts the stream in the middle of an
 * event, as a proxy timing out would. */
#include <glib/gstdio.h>
#include <string.h>

#include "nerved-api-check.h"

/* ---- running nervectl ---- */

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

/* Runs build/pipelines/nervectl with args against url (NERVED_URL). env: NULL or
 * "NAME=value" strings. */
static Run
ctl_at (const char *url, const char *const *args, const char *const *env)
{
  Run r = { .status = -1 };
  g_autofree char *bin = g_build_filename (g_getenv ("NERVE_BUILD_ROOT"), "pipelines", "nervectl", NULL);
  g_autoptr (GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_unsetenv (l, "NERVED_TOKEN");
  g_subprocess_launcher_setenv (l, "NERVED_URL", url, TRUE);
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
  gint64 deadline = g_get_monotonic_time () + 60 * G_USEC_PER_SEC;
  while (!r.done && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  if (!r.done) {
    CU_FAIL ("nervectl did not finish within 60 s");
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

#define ARGS(...) ((const char *const[]) { __VA_ARGS__, NULL })
#define CTL(p, ...) ctl_at ((p)->url, ARGS (__VA_ARGS__), NULL)

/* A loopback URL nothing listens on: bind a port, note it, close it. */
static char *
dead_url (void)
{
  g_autoptr (GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_socket_bind (s, any, TRUE, NULL);
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (s, NULL);
  guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  g_socket_close (s, NULL);
  return g_strdup_printf ("http://127.0.0.1:%u", port);
}

/* ---- usage and connection errors (no daemon) ---- */

static void
test_usage (void)
{
  /* against a dead URL: each exits 2 before trying to connect (that would exit 3) */
  g_autofree char *url = dead_url ();
  const struct {
    const char *const *args;
    int status;
    const char *out, *err;
  } cases[] = {
    { ARGS ("--help"), 0, "job TEMPLATE FILE", NULL },
    { ARGS ("frobnicate"), 2, NULL, "unknown command 'frobnicate'" },
    { ARGS ("status"), 2, NULL, "nervectl status: missing arguments (usage: nervectl status ID)" },
    { ARGS ("status", "a", "b"), 2, NULL, "too many arguments" },
    { ARGS ("create", "tone", "freq"), 2, NULL, "expected a parameter as name=value, got 'freq'" },
    { ARGS ("list", "--id", "x"), 2, NULL, "nervectl list: unknown option --id" },
    { ARGS ("create", "tone", "--id"), 2, NULL, "--id needs a value" },
    { ARGS ("events", "--count", "many"), 2, NULL, "--count" },
    { ARGS ("events", "--timeout", "-1"), 2, NULL, "--timeout: expected seconds > 0" },
    { ARGS ("--url", "localhost:8780", "health"), 2, NULL, "invalid URL 'localhost:8780'" },
    { ARGS ("job", "level-job", "/no/such/file.wav"), 2, NULL, "cannot read /no/such/file.wav" },
    { ARGS ("--token-file", "/no/such/tokens", "list"), 2, NULL, "cannot read token file" },
  };
  Run r = ctl_at (url, (const char *const[]) { NULL }, NULL);
  expect (&r, 2, NULL, "Usage: nervectl");
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    r = ctl_at (url, cases[i].args, NULL);
    expect (&r, cases[i].status, cases[i].out, cases[i].err);
  }
}

static void
test_unreachable (void)
{
  g_autofree char *url = dead_url ();
  g_autofree char *want = g_strdup_printf ("cannot reach nerved at %s/v1/pipelines: ", url);
  Run r = ctl_at (url, ARGS ("list"), NULL);
  expect (&r, 3, NULL, want);
  g_autofree char *slash = g_strdup_printf ("%s/", url);
  g_autofree char *want_ev = g_strdup_printf ("cannot reach nerved at %s/v1/events", url);
  r = ctl_at (slash, ARGS ("events"), NULL);
  expect (&r, 3, NULL, want_ev);
}

/* ---- answers and error answers ---- */

static void
test_answers (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  Run r = CTL (p, "health");
  expect (&r, 0, "{\n  \"status\": \"ok\",\n  \"pipelines\": 0,\n  \"uptime_s\": ", NULL);
  r = CTL (p, "metrics");
  expect (&r, 0, "\nnerved_uptime_seconds ", NULL);
  /* create: parameters go as strings (the daemon parses them), options in the body */
  r = CTL (p, "create", "tone", "freq=440", "label=lvl", "--id", "t1", "--no-start", "--restart=on-failure");
  expect (&r, 0, "\"id\": \"t1\",\n  \"template\": \"tone\",\n  \"params\": {\n", "");
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "msg=\"pipeline created\" id=t1 template=tone restart=on-failure") != NULL);
  r = CTL (p, "status", "t1");
  expect (&r, 0, "\"state\": \"created\"", NULL);

  /* error answers: exit 1, "nervectl: <message> (<code>, HTTP <status>)" */
  r = CTL (p, "pause", "t1");
  expect (&r, 1, NULL, " (conflict, HTTP 409)\n");
  r = CTL (p, "status", "nope");
  expect (&r, 1, NULL, "nervectl: pipeline 'nope' not found (not_found, HTTP 404)\n");
  r = CTL (p, "create", "tone", "freq=loud");
  expect (&r, 1, NULL, "nervectl: freq: ");
  r = CTL (p, "create", "tone", "freq=loud");
  expect (&r, 1, NULL, " (bad_param, HTTP 400)\n");
  r = CTL (p, "create", "tone", "--id", "t1");
  expect (&r, 1, NULL, "nervectl: pipeline 't1' already exists (conflict, HTTP 409)\n");
  r = CTL (p, "launch", "audiotestsrc ! fakesink");
  expect (&r, 1, NULL, " (forbidden, HTTP 403)\n");
  r = CTL (p, "delete", "t1");
  expect (&r, 0, "\"deleted\": \"t1\"", NULL);
  api_stop (p);
}

/* ---- the bearer token ---- */

static void
test_token (void)
{
  api_setup_dirs ();
  g_autofree char *daemon_tokens = nerved_write_token_file (api_tmp_root, "# comment\n\n  tok-1  \ntok-2", 0600);
  const char *extra[] = { "--token-file", daemon_tokens, NULL };
  NervedProc *p = api_start (extra);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *dir = g_build_filename (api_tmp_root, "ctl-tokens", NULL);
  g_mkdir (dir, 0700);
  g_autofree char *tokens = g_build_filename (dir, "tokens", NULL);
  g_file_set_contents (tokens, "# the client's copy\n  tok-1  \n", -1, NULL);

  Run r = ctl_at (p->url, ARGS ("--token-file", tokens, "list"), NULL);
  expect (&r, 0, "\"pipelines\": []", NULL);
  r = ctl_at (p->url, ARGS ("list"), ARGS ("NERVED_TOKEN=tok-2"));
  expect (&r, 0, "\"pipelines\": []", NULL);
  r = CTL (p, "list");
  expect (&r, 1, NULL, "nervectl: authentication required: send Authorization: Bearer <token> (unauthorized, HTTP 401)\n");
  r = ctl_at (p->url, ARGS ("list"), ARGS ("NERVED_TOKEN=tok-3"));
  expect (&r, 1, NULL, "nervectl: the bearer token is not valid (unauthorized, HTTP 401)\n");
  r = CTL (p, "health");   /* /healthz needs none */
  expect (&r, 0, "\"ok\"", NULL);
  g_file_set_contents (tokens, "# only a comment\n", -1, NULL);
  r = ctl_at (p->url, ARGS ("--token-file", tokens, "list"), NULL);
  expect (&r, 2, NULL, "holds no token");
  api_stop (p);
  g_unlink (tokens);
  g_rmdir (dir);
}

/* ---- jobs ---- */

static void
test_job (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *dir = g_build_filename (api_tmp_root, "ctl-job", NULL);
  g_mkdir (dir, 0700);
  g_autofree char *in = api_write_tone_wav (dir, 0.5);
  g_autofree char *out = g_build_filename (dir, "out.wav", NULL);

  /* upload, wait, download: 0.5 s at one level message per 0.1 s */
  Run r = CTL (p, "job", "level-job", in, "interval=100000000", "--output", out);
  expect (&r, 0, "\"state\": \"done\"", "wrote");
  g_autofree guchar *got = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE (g_file_get_contents (out, (char **) &got, &len, NULL));
  CU_ASSERT_EQUAL (api_wav_data_size (got, len), 16000);
  r = CTL (p, "job", "level-job", in, "interval=100000000");
  CU_ASSERT (r.status == 0 && strstr (r.out, "\"name\": \"level\"") && strstr (r.out, "\"truncated\": false"));
  expect (&r, 0, NULL, NULL);

  /* values travel URL-encoded: the daemon sees 'a b&c' whole (else "c" would be a parameter) */
  r = CTL (p, "job", "level-job", in, "interval=a b&c");
  expect (&r, 1, NULL, "nervectl: interval: 'a b&c' is not an integer (bad_param, HTTP 400)\n");
  r = CTL (p, "job", "tone", in);
  expect (&r, 1, NULL, "(unprocessable, HTTP 422)\n");

  /* --no-wait: the running (or already done) job, to poll */
  r = CTL (p, "job", "level-job", in, "--no-wait");
  CU_ASSERT (strstr (r.out, "\"state\": \"running\"") || strstr (r.out, "\"state\": \"done\""));
  expect (&r, 0, "\"template\": \"level-job\"", NULL);
  r = CTL (p, "job", "level-job", in, "--no-wait", "--output", out);
  expect (&r, 2, NULL, "--output needs the finished job");

  /* not audio: the pipeline fails, so does nervectl, with the job's error */
  g_autofree char *text = g_build_filename (dir, "not-audio.wav", NULL);
  g_file_set_contents (text, "this is not audio at all\n", -1, NULL);
  r = CTL (p, "job", "level-job", text);
  CU_ASSERT (r.status == 1 && strstr (r.err, "nervectl: job ") && strstr (r.err, " is failed: "));
  expect (&r, 1, "\"state\": \"failed\"", NULL);
  g_unlink (in);
  g_unlink (out);
  g_unlink (text);
  g_rmdir (dir);
  api_stop (p);
}

/* ---- events ---- */

/* The "seq" of each stdout line, in order. */
static GArray *
seqs (const char *out)
{
  GArray *a = g_array_new (FALSE, FALSE, sizeof (gint64));
  g_auto (GStrv) lines = g_strsplit (out, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    if (!*lines[i])
      continue;
    g_autoptr (JsonNode) n = json_from_string (lines[i], NULL);
    gint64 s = n && JSON_NODE_HOLDS_OBJECT (n) ? json_object_get_int_member_with_default (json_node_get_object (n), "seq", -1) : -1;
    g_array_append_val (a, s);
  }
  return a;
}

/* Checks that out holds exactly n events, numbered from first on. */
static void
expect_seqs (const char *out, guint n, gint64 first)
{
  g_autoptr (GArray) a = seqs (out);
  gboolean ok = a->len == n;
  for (guint i = 0; ok && i < n; i++)
    ok = g_array_index (a, gint64, i) == first + i;
  CU_ASSERT (ok);
  if (!ok)
    fprintf (stderr, "  expected %u events from seq %" G_GINT64_FORMAT ", got:\n%s\n", n, first, out);
}

static void
test_events (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"ev\", \"params\": {\"interval\": 20000000}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  g_autofree char *quiet = api_create (p, "{\"template\": \"tone\", \"id\": \"quiet\", \"start\": false}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (quiet);

  /* --after: the replay from the buffer, one JSON line per event; --count stops it */
  Run r = CTL (p, "events", "ev", "--after", "0", "--count", "3");
  CU_ASSERT (r.status == 0 && g_str_has_prefix (r.out, "{\"seq\":1,\"type\":\"created\",\"pipeline\":\"ev\","));
  expect_seqs (r.out, 3, 1);
  expect (&r, 0, NULL, NULL);
  r = CTL (p, "events", "ev", "--after", "2", "--count", "2");
  expect_seqs (r.out, 2, 3);
  expect (&r, 0, NULL, NULL);
  /* without --after: live events only, still in order */
  const gint64 before = api_status_int (p, "ev", "events");
  r = CTL (p, "events", "ev", "--count", "3");
  g_autoptr (GArray) live = seqs (r.out);
  CU_ASSERT (live->len == 3 && g_array_index (live, gint64, 0) > before
      && g_array_index (live, gint64, 2) == g_array_index (live, gint64, 0) + 2);
  expect (&r, 0, "\"type\":\"message\"", NULL);
  /* the daemon-wide stream */
  r = CTL (p, "events", "--after", "0", "--count", "2");
  expect (&r, 0, "{\"seq\":1,\"type\":\"created\",\"pipeline\":\"ev\",", NULL);

  /* a stream that stays quiet: --timeout ends it; short of --count that is a failure */
  const gint64 t0 = g_get_monotonic_time ();
  r = CTL (p, "events", "quiet", "--after", "0", "--timeout", "0.5");
  expect (&r, 0, "{\"seq\":1,\"type\":\"created\",\"pipeline\":\"quiet\",", NULL);
  r = CTL (p, "events", "quiet", "--after", "0", "--timeout", "0.5", "--count", "3");
  expect (&r, 1, NULL, "timed out after 0.5 s with 1 of 3 events");
  CU_ASSERT (g_get_monotonic_time () - t0 < 20 * G_USEC_PER_SEC);
  r = CTL (p, "events", "gone");
  expect (&r, 1, NULL, "nervectl: pipeline 'gone' not found (not_found, HTTP 404)\n");
  api_stop (p);
}

/* A resume point that fell out of the daemon's buffer: the "missed" notice first. */
static void
test_events_missed (void)
{
  NervedProc *p = api_start_config (NULL, "[nerved]\nevent-buffer = 8\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"ev\", \"params\": {\"interval\": 10000000}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (api_status_int (p, "ev", "events") < 20 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  Run r = CTL (p, "events", "ev", "--after", "1", "--count", "2");
  CU_ASSERT (g_str_has_prefix (r.out, "{\"missed\":"));
  expect (&r, 0, "\"type\":\"missed\"}\n{\"seq\":", "the daemon's buffer no longer held some events");
  api_stop (p);
}

/* ---- a real dropped connection ----
 *
 * A TCP relay on 127.0.0.1:0 between nervectl and the daemon: a thread per direction per
 * connection, blocking I/O. It cuts its first connection right after the daemon's "id: 4"
 * line, in the middle of that event; later connections are relayed whole. */

typedef struct {
  GSocket *listen;
  char *daemon_host;
  guint daemon_port;
  guint port;
  GThread *acceptor;
  gboolean stopping;
  GMutex lock;
  GPtrArray *threads;         /* GThread * */
  GPtrArray *sockets;         /* GSocket *: both ends of each connection, shut down at the end */
  GPtrArray *conns;           /* GSocketConnection *: the daemon ends (closed when freed) */
  GPtrArray *requests;        /* GString *: what each connection's client sent */
  guint connections;
} Relay;

typedef struct {
  Relay *r;
  GSocket *from, *to;
  guint index;                /* connection number */
  gboolean downstream;
} Pipe;

static void
relay_keep (Relay *r, GSocket *s)
{
  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->sockets, g_object_ref (s));
  g_mutex_unlock (&r->lock);
}

static gpointer
pipe_thread (gpointer data)
{
  Pipe *pp = data;
  Relay *r = pp->r;
  g_autoptr (GString) seen = g_string_new (NULL);
  char buf[4096];
  gssize n;
  while ((n = g_socket_receive (pp->from, buf, sizeof buf, NULL, NULL)) > 0) {
    gsize len = (gsize) n;
    gboolean cut = FALSE;
    if (pp->downstream && pp->index == 0) {
      const gsize at = seen->len;
      g_string_append_len (seen, buf, n);
      const char *mark = strstr (seen->str, "\nid: 4\n");
      if (mark) {
        const gsize end = (gsize) (mark - seen->str) + strlen ("\nid: 4\n");
        len = end > at ? end - at : 0;
        cut = TRUE;
      }
    } else if (!pp->downstream) {
      g_mutex_lock (&r->lock);
      GString *req = g_ptr_array_index (r->requests, pp->index);
      g_string_append_len (req, buf, n);
      g_mutex_unlock (&r->lock);
    }
    if (len && g_socket_send (pp->to, buf, len, NULL, NULL) < 0)
      break;
    if (cut)
      break;
  }
  g_socket_shutdown (pp->from, TRUE, TRUE, NULL);
  g_socket_shutdown (pp->to, TRUE, TRUE, NULL);
  g_free (pp);
  return NULL;
}

static void
relay_pipe (Relay *r, GSocket *from, GSocket *to, guint index, gboolean downstream)
{
  Pipe *pp = g_new0 (Pipe, 1);
  *pp = (Pipe) { r, from, to, index, downstream };
  GThread *t = g_thread_new ("relay-pipe", pipe_thread, pp);
  g_mutex_lock (&r->lock);
  g_ptr_array_add (r->threads, t);
  g_mutex_unlock (&r->lock);
}

static gpointer
acceptor_thread (gpointer data)
{
  Relay *r = data;
  for (;;) {
    g_autoptr (GSocket) client = g_socket_accept (r->listen, NULL, NULL);
    if (!client || g_atomic_int_get (&r->stopping))
      return NULL;
    g_autoptr (GSocketClient) sc = g_socket_client_new ();
    g_autoptr (GSocketConnection) up = g_socket_client_connect_to_host (sc, r->daemon_host, (guint16) r->daemon_port,
        NULL, NULL);
    if (!up)
      continue;
    GSocket *daemon = g_socket_connection_get_socket (up);
    g_socket_set_blocking (daemon, TRUE);
    relay_keep (r, client);
    relay_keep (r, daemon);
    g_mutex_lock (&r->lock);
    const guint index = r->connections++;
    g_ptr_array_add (r->requests, g_string_new (NULL));
    g_ptr_array_add (r->conns, g_object_ref (up));   /* it closes its socket when freed */
    g_mutex_unlock (&r->lock);
    relay_pipe (r, client, daemon, index, FALSE);
    relay_pipe (r, daemon, client, index, TRUE);
  }
}

static Relay *
relay_new (NervedProc *p)
{
  Relay *r = g_new0 (Relay, 1);
  g_mutex_init (&r->lock);
  r->threads = g_ptr_array_new ();
  r->sockets = g_ptr_array_new_with_free_func (g_object_unref);
  r->conns = g_ptr_array_new_with_free_func (g_object_unref);
  r->requests = g_ptr_array_new ();
  r->daemon_host = g_strdup ("127.0.0.1");
  r->daemon_port = p->port;
  r->listen = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  if (!g_socket_bind (r->listen, any, TRUE, NULL) || !g_socket_listen (r->listen, NULL))
    CU_FAIL ("the relay cannot listen");
  g_autoptr (GSocketAddress) bound = g_socket_get_local_address (r->listen, NULL);
  r->port = bound ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)) : 0;
  r->acceptor = g_thread_new ("relay-accept", acceptor_thread, r);
  return r;
}

static void
relay_free (Relay *r)
{
  /* wake the acceptor with one last connection */
  g_atomic_int_set (&r->stopping, TRUE);
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  GSocketConnection *wake = g_socket_client_connect_to_host (sc, "127.0.0.1", (guint16) r->port, NULL, NULL);
  g_thread_join (r->acceptor);
  g_clear_object (&wake);
  g_mutex_lock (&r->lock);
  for (guint i = 0; i < r->sockets->len; i++)
    g_socket_shutdown (g_ptr_array_index (r->sockets, i), TRUE, TRUE, NULL);
  g_mutex_unlock (&r->lock);
  for (guint i = 0; i < r->threads->len; i++)
    g_thread_join (g_ptr_array_index (r->threads, i));
  g_ptr_array_unref (r->threads);
  g_ptr_array_unref (r->sockets);
  g_ptr_array_unref (r->conns);
  for (guint i = 0; i < r->requests->len; i++)
    g_string_free (g_ptr_array_index (r->requests, i), TRUE);
  g_ptr_array_unref (r->requests);
  g_object_unref (r->listen);
  g_free (r->daemon_host);
  g_mutex_clear (&r->lock);
  g_free (r);
}

static void
test_events_resume (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"ev\", \"params\": {\"interval\": 20000000}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  Relay *relay = relay_new (p);
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u", relay->port);
  /* the first connection dies inside event 4: nervectl resumes after 3, the last event it
   * got whole, and prints 4 from the second */
  Run r = ctl_at (url, ARGS ("events", "ev", "--after", "0", "--count", "8"), NULL);
  expect_seqs (r.out, 8, 1);
  CU_ASSERT (relay->connections == 2);
  g_mutex_lock (&relay->lock);
  const char *second = relay->requests->len > 1 ? ((GString *) g_ptr_array_index (relay->requests, 1))->str : "";
  const gboolean resumed_after_3 = strstr (second, "\r\nLast-Event-ID: 3\r\n") != NULL;
  g_mutex_unlock (&relay->lock);
  CU_ASSERT_TRUE (resumed_after_3);
  expect (&r, 0, NULL, "reconnecting after id 3\n");
  relay_free (relay);
  api_stop (p);
}

NERVE_TEST_MAIN ("nerved-ctl",
  { "usage errors exit 2 and say what is wrong", test_usage },
  { "an unreachable daemon exits 3 naming the URL", test_unreachable },
  { "answers are pretty JSON; error answers exit 1 with message, code and status", test_answers },
  { "the bearer token comes from --token-file or $NERVED_TOKEN", test_token },
  { "job uploads the file with its parameters and downloads the output", test_job },
  { "events: --after replays, --count and --timeout end, 404 exits 1", test_events },
  { "events: a resume point out of the buffer prints the missed notice", test_events_missed },
  { "events resume with Last-Event-ID after a dropped connection", test_events_resume },
  { "cleanup", api_cleanup })

/* nerved-load: a bounded load test of the pipeline daemon, loopback only (issue 5).
 *
 *   build/bench/nerved-load [--nerved PATH] [--duration S] [--pipelines N] [--clients N]
 *       [--requests N] [--threads N] [--interval-ms MS] [--event-buffer N]
 *       [--rss-bound-pct P] [--rss-bound-mb M]
 *
 * Starts nerved (--nerved, $NERVED_BIN or the build's) on 127.0.0.1:0 with a template of
 * GStreamer's own elements (a live test tone measured by `level`, whose messages become
 * events), creates N running pipelines, connects the SSE clients (one in five on the
 * daemon-wide stream, the others spread over the pipelines' streams; one in four drops
 * its connection once and resumes with Last-Event-ID), then sends the requests at an even
 * pace over the duration from a few threads (list, status, healthz, metrics, templates,
 * create/delete of extra pipelines and a few requests that must fail with 4xx).
 *
 * The daemon's event buffers (--event-buffer events per stream) hold memory until they
 * are full, so "warm-up" ends when they are: the RSS is sampled then, mid-way to the end,
 * and at the end (extra pipelines deleted).
 *
 * Fails (exit 1) when: the daemon dies or does not exit 0 after SIGTERM; an answer is not
 * the expected status; an SSE client sees a gap, a reordering, a "missed" notice or a data
 * seq that differs from its id, or no events at all; the daemon's RSS at the end (extra
 * pipelines deleted) exceeds the RSS after warm-up by more than P % + M MB. Reports
 * p50/p95/p99/max request latency (goal p99 < 50 ms; reported, not enforced) and the RSS
 * after warm-up, mid-run and at the end. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
  const char *nerved;
  double duration_s;
  guint pipelines, clients, requests, threads, interval_ms, event_buffer;
  double rss_bound_pct, rss_bound_mb;
} Options;

static Options opt = { NULL, 60, 20, 100, 10000, 4, 100, 128, 5, 4 };
static char *base_url;                /* http://127.0.0.1:PORT */
static gint failures;                 /* atomic */

static void G_GNUC_PRINTF (1, 2)
fail (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *s = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  if (g_atomic_int_add (&failures, 1) < 20)
    fprintf (stderr, "nerved-load: FAIL: %s\n", s);
}

/* ---- the daemon ------------------------------------------------------------------- */

static const char template_text[] =
  "[template]\n"
  "name = load-level\n"
  "description = Live test tone measured by level (load test)\n"
  "launch = audiotestsrc is-live=true freq=${freq} ! level post-messages=true interval=${interval} ! fakesink\n"
  "messages = level\n"
  "[param freq]\n"
  "type = float\n"
  "default = 440\n"
  "min = 20\n"
  "max = 20000\n"
  "[param interval]\n"
  "type = int\n"
  "description = level message interval in ns\n"
  "default = 100000000\n"
  "min = 10000000\n"
  "max = 10000000000\n";

static guint64
rss_kb (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/status", (int) pid);
  g_autofree char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL))
    return 0;
  const char *p = strstr (text, "VmRSS:");
  return p ? g_ascii_strtoull (p + 6, NULL, 10) : 0;
}

static gpointer
drain_stdout (gpointer data)
{
  GDataInputStream *in = data;
  char *line;
  while ((line = g_data_input_stream_read_line (in, NULL, NULL, NULL)))
    g_free (line);
  g_object_unref (in);
  return NULL;
}

/* Spawns nerved; its stderr (logs) goes to dir/nerved.log. */
static GSubprocess *
spawn_nerved (const char *dir, GThread **drainer)
{
  g_autofree char *templates = g_build_filename (dir, "templates", NULL);
  g_autofree char *data = g_build_filename (dir, "data", NULL);
  g_autofree char *log = g_build_filename (dir, "nerved.log", NULL);
  g_autofree char *conf = g_build_filename (dir, "nerved.conf", NULL);
  g_autofree char *conf_text = g_strdup_printf ("[nerved]\nevent-buffer = %u\n", opt.event_buffer);
  g_autoptr(GError) error = NULL;
  if (!g_file_set_contents (conf, conf_text, -1, &error)) {
    fprintf (stderr, "nerved-load: %s\n", error->message);
    return NULL;
  }
  g_autoptr(GSubprocessLauncher) l = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_set_stderr_file_path (l, log);
  GSubprocess *p = g_subprocess_launcher_spawn (l, &error, opt.nerved, "--config", conf, "--listen", "127.0.0.1:0",
      "--templates", templates, "--data-root", data, NULL);
  if (!p) {
    fprintf (stderr, "nerved-load: cannot start %s: %s\n", opt.nerved, error->message);
    return NULL;
  }
  GDataInputStream *in = g_data_input_stream_new (g_subprocess_get_stdout_pipe (p));
  g_autofree char *line = g_data_input_stream_read_line (in, NULL, NULL, &error);
  const char *mark = line ? strstr (line, "listening on ") : NULL;
  if (!mark) {
    fprintf (stderr, "nerved-load: nerved did not say where it listens (first line: %s); see %s\n",
        line ? line : error ? error->message : "none", log);
    g_subprocess_force_exit (p);
    g_object_unref (in);
    g_object_unref (p);
    return NULL;
  }
  base_url = g_strdup (mark + strlen ("listening on "));
  g_strstrip (base_url);
  *drainer = g_thread_new ("stdout", drain_stdout, in);
  return p;
}

/* ---- requests --------------------------------------------------------------------- */

/* One request; returns the status (0 on transport failure), *us the latency. */
static guint
http (SoupSession *s, const char *method, const char *path, const char *json, gint64 *us, GBytes **out)
{
  g_autofree char *url = g_strconcat (base_url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  if (json) {
    g_autoptr(GBytes) body = g_bytes_new (json, strlen (json));
    soup_message_set_request_body_from_bytes (msg, "application/json", body);
  }
  g_autoptr(GError) error = NULL;
  gint64 t0 = g_get_monotonic_time ();
  GBytes *answer = soup_session_send_and_read (s, msg, NULL, &error);
  if (us)
    *us = g_get_monotonic_time () - t0;
  if (!answer) {
    fail ("%s %s: %s", method, path, error->message);
    return 0;
  }
  if (out)
    *out = answer;
  else
    g_bytes_unref (answer);
  return soup_message_get_status (msg);
}

static gboolean
expect (SoupSession *s, const char *method, const char *path, const char *json, guint want)
{
  g_autoptr(GBytes) body = NULL;
  guint got = http (s, method, path, json, NULL, &body);
  if (got != want && got != 0)
    fail ("%s %s: HTTP %u, expected %u: %.*s", method, path, got, want,
        body ? (int) MIN (g_bytes_get_size (body), 300) : 0,
        body ? (const char *) g_bytes_get_data (body, NULL) : "");
  return got == want;
}

static char *
create_body (const char *id, guint interval_ms, double freq)
{
  return g_strdup_printf ("{\"template\": \"load-level\", \"id\": \"%s\", \"params\": "
      "{\"interval\": %u000000, \"freq\": %g}}", id, interval_ms, freq);
}

/* Polls GET /v1/pipelines/ID until its state is `playing` (deadline 20 s). */
static gboolean
wait_playing (SoupSession *s, const char *id)
{
  g_autofree char *path = g_strconcat ("/v1/pipelines/", id, NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline) {
    g_autoptr(GBytes) body = NULL;
    g_autoptr(JsonParser) p = json_parser_new ();
    if (http (s, "GET", path, NULL, NULL, &body) == 200) {
      gsize len = 0;
      const char *data = g_bytes_get_data (body, &len);
      JsonNode *root = json_parser_load_from_data (p, data, (gssize) len, NULL) ? json_parser_get_root (p) : NULL;
      if (root && JSON_NODE_HOLDS_OBJECT (root)
          && g_strcmp0 (json_object_get_string_member_with_default (json_node_get_object (root), "state", ""), "playing") == 0)
        return TRUE;
    }
    g_usleep (50 * 1000);
  }
  fail ("pipeline %s did not reach playing within 20 s", id);
  return FALSE;
}

/* ---- SSE clients (one thread, async on its own main context) ---------------------- */

typedef struct {
  guint index;
  char *path;
  SoupSession *session;
  GCancellable *cancel;
  GInputStream *in;
  char buf[16384];
  GString *line;
  /* event being parsed */
  gboolean ev_id_set, ev_missed, ev_data;
  guint64 ev_id, ev_seq;
  /* verification */
  gboolean have_last;
  guint64 last, events, gaps, reorders, missed, mismatches, drops;
  gint64 reconnect_at;        /* monotonic µs; 0: no forced reconnect */
  gboolean forcing, reconnected, closing, connected, finished;
} Client;

static Client *clients;
static GMainContext *sse_ctx;
static GMainLoop *sse_loop;
static gint sse_connected, sse_active;   /* atomics */

static void client_connect (Client *c);

static void
client_dispatch (Client *c)
{
  if (c->ev_missed)
    c->missed++;
  if (c->ev_id_set) {
    if (c->have_last && c->ev_id != c->last + 1) {
      if (c->ev_id <= c->last)
        c->reorders++;
      else
        c->gaps += c->ev_id - c->last - 1;
    }
    if (c->ev_data && c->ev_seq != c->ev_id)
      c->mismatches++;
    c->last = c->ev_id;
    c->have_last = TRUE;
    c->events++;
  }
  c->ev_id_set = c->ev_missed = c->ev_data = FALSE;
}

static void
client_line (Client *c, const char *l)
{
  if (*l == '\0')
    client_dispatch (c);
  else if (g_str_has_prefix (l, "id:"))
    c->ev_id = g_ascii_strtoull (l + 3, NULL, 10), c->ev_id_set = TRUE;
  else if (g_str_has_prefix (l, "event:"))
    c->ev_missed = strstr (l, "missed") != NULL;
  else if (g_str_has_prefix (l, "data:")) {
    const char *p = strstr (l, "\"seq\"");
    if (p && (p = strchr (p, ':')))
      c->ev_seq = g_ascii_strtoull (p + 1, NULL, 10), c->ev_data = TRUE;
  }
}

static gboolean
reconnect_cb (gpointer data)
{
  client_connect (data);
  return G_SOURCE_REMOVE;
}

static void
client_ended (Client *c, const char *why)
{
  g_clear_object (&c->in);
  g_string_truncate (c->line, 0);
  c->ev_id_set = c->ev_missed = c->ev_data = FALSE;
  if (c->closing) {
    c->finished = TRUE;
    if (g_atomic_int_dec_and_test (&sse_active))
      g_main_loop_quit (sse_loop);
    return;
  }
  guint delay = 300;
  if (c->forcing) {
    c->forcing = FALSE;
    c->reconnected = TRUE;
  } else {
    c->drops++;
    fail ("SSE client %u (%s): stream ended unexpectedly (%s); resuming", c->index, c->path, why);
    delay = 100;
  }
  g_clear_object (&c->cancel);
  c->cancel = g_cancellable_new ();
  GSource *src = g_timeout_source_new (delay);
  g_source_set_callback (src, reconnect_cb, c, NULL);
  g_source_attach (src, sse_ctx);
  g_source_unref (src);
}

static void
on_read (GObject *obj, GAsyncResult *res, gpointer data)
{
  Client *c = data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (obj), res, &error);
  if (n <= 0) {
    client_ended (c, error ? error->message : "end of stream");
    return;
  }
  for (gssize i = 0; i < n; i++) {
    char ch = c->buf[i];
    if (ch == '\n') {
      if (c->line->len && c->line->str[c->line->len - 1] == '\r')
        g_string_truncate (c->line, c->line->len - 1);
      client_line (c, c->line->str);
      g_string_truncate (c->line, 0);
    } else {
      g_string_append_c (c->line, ch);
    }
  }
  if (c->reconnect_at && !c->reconnected && !c->forcing && g_get_monotonic_time () >= c->reconnect_at) {
    c->forcing = TRUE;        /* drop the connection now, resume after the last id */
    client_ended (c, "forced");
    return;
  }
  g_input_stream_read_async (c->in, c->buf, sizeof c->buf, G_PRIORITY_DEFAULT, c->cancel, on_read, c);
}

static void
on_sent (GObject *obj, GAsyncResult *res, gpointer data)
{
  Client *c = data;
  g_autoptr(GError) error = NULL;
  SoupMessage *msg = soup_session_get_async_result_message (SOUP_SESSION (obj), res);
  GInputStream *in = soup_session_send_finish (SOUP_SESSION (obj), res, &error);
  if (!in) {
    client_ended (c, error->message);
    return;
  }
  guint status = soup_message_get_status (msg);
  if (status != 200) {
    fail ("SSE client %u: GET %s: HTTP %u", c->index, c->path, status);
    g_object_unref (in);
    c->closing = TRUE;
    client_ended (c, "refused");
    return;
  }
  if (!c->connected) {
    c->connected = TRUE;
    g_atomic_int_inc (&sse_connected);
  }
  c->in = in;
  g_input_stream_read_async (c->in, c->buf, sizeof c->buf, G_PRIORITY_DEFAULT, c->cancel, on_read, c);
}

static void
client_connect (Client *c)
{
  if (c->closing) {
    client_ended (c, "closing");
    return;
  }
  g_autofree char *url = g_strconcat (base_url, c->path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  if (c->have_last) {
    char id[32];
    g_snprintf (id, sizeof id, "%" G_GUINT64_FORMAT, c->last);
    soup_message_headers_replace (soup_message_get_request_headers (msg), "Last-Event-ID", id);
  }
  soup_session_send_async (c->session, msg, G_PRIORITY_DEFAULT, c->cancel, on_sent, c);
}

static gboolean
close_all (gpointer data)
{
  for (guint i = 0; i < opt.clients; i++) {
    clients[i].closing = TRUE;
    g_cancellable_cancel (clients[i].cancel);
  }
  return G_SOURCE_REMOVE;
}

static gpointer
sse_thread (gpointer data)
{
  g_main_context_push_thread_default (sse_ctx);
  SoupSession *session = soup_session_new_with_options ("max-conns", opt.clients + 16,
      "max-conns-per-host", opt.clients + 16, "timeout", 60, NULL);
  soup_session_set_proxy_resolver (session, NULL);
  g_atomic_int_set (&sse_active, (gint) opt.clients);
  for (guint i = 0; i < opt.clients; i++) {
    clients[i].session = session;
    client_connect (&clients[i]);
  }
  g_main_loop_run (sse_loop);
  g_object_unref (session);
  g_main_context_pop_thread_default (sse_ctx);
  return NULL;
}

/* ---- API workers ------------------------------------------------------------------ */

typedef struct {
  guint index, quota, sent, expected_errors;
  gint64 start_us;
  gint64 *lat_us;
  guint codes[600];
} Worker;

static gpointer
worker_thread (gpointer data)
{
  Worker *w = data;
  SoupSession *s = soup_session_new_with_options ("timeout", 30, NULL);
  soup_session_set_proxy_resolver (s, NULL);   /* loopback: no proxy (nor libproxy) */
  g_autoptr(GRand) rng = g_rand_new_with_seed (1000 + w->index);
  double step_us = opt.duration_s * G_USEC_PER_SEC / MAX (w->quota, 1);
  char extra[64] = "";        /* the extra pipeline this worker has created, if any */
  guint extras = 0;
  for (guint k = 0; k < w->quota; k++) {
    gint64 due = w->start_us + (gint64) (k * step_us);
    gint64 now = g_get_monotonic_time ();
    if (due > now)
      g_usleep ((gulong) (due - now));
    g_autofree char *path = NULL, *body = NULL;
    const char *method = "GET";
    guint want = 200;
    guint r = (guint) g_rand_int_range (rng, 0, 100);
    if (r < 25)
      path = g_strdup ("/v1/pipelines");
    else if (r < 50)
      path = g_strdup_printf ("/v1/pipelines/load-%02u", (guint) g_rand_int_range (rng, 0, (gint32) opt.pipelines));
    else if (r < 65)
      path = g_strdup ("/healthz");
    else if (r < 75)
      path = g_strdup ("/metrics");
    else if (r < 85)
      path = g_strdup ("/v1/templates");
    else if (r < 90)
      path = g_strdup ("/v1/templates/load-level");
    else if (r < 95 && !extra[0]) {
      g_snprintf (extra, sizeof extra, "extra-%u-%u", w->index, extras++);
      method = "POST", path = g_strdup ("/v1/pipelines"), want = 201;
      body = create_body (extra, 100, 880);
    } else if (r < 95) {
      method = "DELETE", path = g_strconcat ("/v1/pipelines/", extra, NULL);
      extra[0] = '\0';
    } else if (r < 97) {
      path = g_strdup ("/v1/pipelines/no-such-pipeline"), want = 404;
    } else if (r < 98) {
      method = "POST", path = g_strdup ("/v1/pipelines"), want = 404;
      body = g_strdup ("{\"template\": \"no-such-template\"}");
    } else {
      method = "POST", path = g_strdup ("/v1/pipelines"), want = 400;
      body = g_strdup ("{\"template\": \"load-level\", \"params\": {\"interval\": \"fast\"}}");
    }
    g_autoptr(GBytes) answer = NULL;
    guint got = http (s, method, path, body, &w->lat_us[w->sent], &answer);
    w->sent++;
    w->codes[MIN (got, 599)]++;
    if (got == want && want >= 400)
      w->expected_errors++;
    else if (got != want && got != 0)
      fail ("%s %s: HTTP %u, expected %u: %.*s", method, path, got, want,
          answer ? (int) MIN (g_bytes_get_size (answer), 300) : 0,
          answer ? (const char *) g_bytes_get_data (answer, NULL) : "");
  }
  if (extra[0]) {
    g_autofree char *path = g_strconcat ("/v1/pipelines/", extra, NULL);
    expect (s, "DELETE", path, NULL, 200);
  }
  g_object_unref (s);
  return NULL;
}

static int
cmp_i64 (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return (x > y) - (x < y);
}

static double
pct_ms (const gint64 *v, guint n, double p)
{
  if (n == 0)
    return 0;
  guint i = (guint) (p / 100.0 * (n - 1) + 0.5);
  return (double) v[MIN (i, n - 1)] / 1000.0;
}

/* ---- main ------------------------------------------------------------------------- */

static gboolean
parse_options (int argc, char **argv)
{
  double dur = 0;
  gint pipelines = -1, clients_n = -1, requests = -1, threads = -1, interval = -1, buffer = -1;
  const char *nerved = NULL;
  GOptionEntry entries[] = {
    { "nerved", 0, 0, G_OPTION_ARG_STRING, &nerved, "nerved binary (default $NERVED_BIN, else the build's)", "PATH" },
    { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &dur, "seconds of request load (60)", "S" },
    { "pipelines", 0, 0, G_OPTION_ARG_INT, &pipelines, "running pipelines (20)", "N" },
    { "clients", 0, 0, G_OPTION_ARG_INT, &clients_n, "SSE clients (100)", "N" },
    { "requests", 0, 0, G_OPTION_ARG_INT, &requests, "API requests over the duration (10000)", "N" },
    { "threads", 0, 0, G_OPTION_ARG_INT, &threads, "request threads (4)", "N" },
    { "interval-ms", 0, 0, G_OPTION_ARG_INT, &interval, "level message interval per pipeline (100)", "MS" },
    { "event-buffer", 0, 0, G_OPTION_ARG_INT, &buffer, "the daemon's event-buffer (128)", "N" },
    { "rss-bound-pct", 0, 0, G_OPTION_ARG_DOUBLE, &opt.rss_bound_pct, "allowed RSS growth, percent (5)", "P" },
    { "rss-bound-mb", 0, 0, G_OPTION_ARG_DOUBLE, &opt.rss_bound_mb, "plus this many MB (4)", "M" },
    { NULL },
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new ("- load test of nerved (loopback only)");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr(GError) error = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &error) || argc > 1) {
    fprintf (stderr, "nerved-load: %s\n", error ? error->message : "unexpected arguments");
    return FALSE;
  }
  if (dur > 0) opt.duration_s = dur;
  if (pipelines > 0) opt.pipelines = (guint) pipelines;
  if (clients_n >= 0) opt.clients = (guint) clients_n;
  if (requests >= 0) opt.requests = (guint) requests;
  if (threads > 0) opt.threads = (guint) threads;
  if (interval > 0) opt.interval_ms = (guint) interval;
  if (buffer > 0) opt.event_buffer = (guint) buffer;
  opt.nerved = nerved ? nerved : g_getenv ("NERVED_BIN") ? g_getenv ("NERVED_BIN") : NERVED_BUILD_PATH;
  if (opt.pipelines > 40) {
    fprintf (stderr, "nerved-load: --pipelines at most 40 (the daemon's default limit is 64)\n");
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  if (!parse_options (argc, argv))
    return 2;
  signal (SIGPIPE, SIG_IGN);

  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nerved-load-XXXXXX", &error);
  g_autofree char *tdir = g_build_filename (dir, "templates", NULL);
  g_autofree char *ddir = g_build_filename (dir, "data", NULL);
  g_autofree char *tfile = g_build_filename (tdir, "load-level.pipeline", NULL);
  g_mkdir (tdir, 0700);
  g_mkdir (ddir, 0700);
  if (!g_file_set_contents (tfile, template_text, -1, &error)) {
    fprintf (stderr, "nerved-load: %s\n", error->message);
    return 1;
  }
  GThread *drainer = NULL;
  g_autoptr(GSubprocess) daemon = spawn_nerved (dir, &drainer);
  if (!daemon)
    return 1;
  GPid pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (daemon), NULL, 10);
  printf ("nerved-load: %s (pid %d) at %s; %u pipelines, %u SSE clients, %u requests over %g s, %u threads\n",
      opt.nerved, (int) pid, base_url, opt.pipelines, opt.clients, opt.requests, opt.duration_s, opt.threads);
  fflush (stdout);

  /* the running pipelines */
  SoupSession *s = soup_session_new_with_options ("timeout", 30, NULL);
  soup_session_set_proxy_resolver (s, NULL);   /* loopback: no proxy (nor libproxy) */
  for (guint i = 0; i < opt.pipelines; i++) {
    g_autofree char *id = g_strdup_printf ("load-%02u", i);
    g_autofree char *body = create_body (id, opt.interval_ms, 220.0 + 10 * i);
    expect (s, "POST", "/v1/pipelines", body, 201);
  }
  for (guint i = 0; i < opt.pipelines; i++) {
    g_autofree char *id = g_strdup_printf ("load-%02u", i);
    wait_playing (s, id);
  }
  /* the daemon's memory grows until every event buffer is full: warm-up ends after that */
  gint64 t_full = g_get_monotonic_time () + (gint64) opt.event_buffer * opt.interval_ms * 1100 + G_USEC_PER_SEC;

  /* the SSE clients; wait until every one is connected */
  gint64 t_start = g_get_monotonic_time ();
  gint64 run_us = (gint64) (opt.duration_s * G_USEC_PER_SEC);
  clients = g_new0 (Client, MAX (opt.clients, 1));
  guint planned = 0;
  for (guint i = 0; i < opt.clients; i++) {
    Client *c = &clients[i];
    c->index = i;
    c->path = i % 5 == 0 ? g_strdup ("/v1/events")
                         : g_strdup_printf ("/v1/pipelines/load-%02u/events", i % opt.pipelines);
    c->line = g_string_new (NULL);
    c->cancel = g_cancellable_new ();
    if (i % 4 == 1) {          /* a forced reconnect between 20 % and 80 % of the run */
      c->reconnect_at = t_start + run_us / 5 + (gint64) ((double) run_us * 0.6 * (i % 17) / 16.0);
      planned++;
    }
  }
  sse_ctx = g_main_context_new ();
  sse_loop = g_main_loop_new (sse_ctx, FALSE);
  GThread *sse = g_thread_new ("sse", sse_thread, NULL);
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
  while ((guint) g_atomic_int_get (&sse_connected) < opt.clients && g_get_monotonic_time () < deadline)
    g_usleep (20 * 1000);
  if ((guint) g_atomic_int_get (&sse_connected) < opt.clients)
    fail ("only %d of %u SSE clients connected within 20 s", g_atomic_int_get (&sse_connected), opt.clients);

  /* the request load */
  Worker *workers = g_new0 (Worker, opt.threads);
  GThread **threads = g_new0 (GThread *, opt.threads);
  t_start = g_get_monotonic_time ();
  for (guint w = 0; w < opt.threads; w++) {
    workers[w].index = w;
    workers[w].quota = opt.requests / opt.threads + (w < opt.requests % opt.threads);
    workers[w].lat_us = g_new0 (gint64, MAX (workers[w].quota, 1));
    workers[w].start_us = t_start;
    threads[w] = g_thread_new ("api", worker_thread, &workers[w]);
  }
  guint64 rss_warm = 0, rss_mid = 0, rss_end = 0;
  gint64 t_warm = MAX (t_start + run_us / 10, t_full), t_mid = (t_warm + t_start + run_us) / 2;
  if (t_warm > t_start + run_us * 2 / 3)
    printf ("note: the event buffers fill late in this run (%.1f s of %.1f s): the RSS check has little time\n",
        (double) (t_warm - t_start) / G_USEC_PER_SEC, opt.duration_s);
  gint64 now = g_get_monotonic_time ();
  if (t_warm > now)
    g_usleep ((gulong) (t_warm - now));
  rss_warm = rss_kb (pid);
  now = g_get_monotonic_time ();
  if (t_mid > now)
    g_usleep ((gulong) (t_mid - now));
  rss_mid = rss_kb (pid);
  for (guint w = 0; w < opt.threads; w++)
    g_thread_join (threads[w]);
  double elapsed = (double) (g_get_monotonic_time () - t_start) / G_USEC_PER_SEC;

  /* the end: extra pipelines are gone (each worker deleted its own); let it settle */
  g_autoptr(GBytes) list = NULL;
  if (http (s, "GET", "/v1/pipelines", NULL, NULL, &list) == 200 && strstr (g_bytes_get_data (list, NULL), "extra-"))
    fail ("extra pipelines are still listed after their deletion");
  g_usleep (1 * G_USEC_PER_SEC);
  rss_end = rss_kb (pid);
  if (!expect (s, "GET", "/healthz", NULL, 200))
    fail ("the daemon is not healthy at the end");

  g_main_context_invoke (sse_ctx, close_all, NULL);
  g_thread_join (sse);

  /* latency */
  guint n = 0, codes[600] = { 0 }, expected_errors = 0;
  for (guint w = 0; w < opt.threads; w++)
    n += workers[w].sent;
  gint64 *lat = g_new0 (gint64, MAX (n, 1));
  for (guint w = 0, k = 0; w < opt.threads; w++) {
    memcpy (lat + k, workers[w].lat_us, workers[w].sent * sizeof *lat);
    k += workers[w].sent;
    expected_errors += workers[w].expected_errors;
    for (guint c = 0; c < 600; c++)
      codes[c] += workers[w].codes[c];
  }
  qsort (lat, n, sizeof *lat, cmp_i64);
  double p99 = pct_ms (lat, n, 99);
  printf ("requests: %u in %.1f s (%.0f/s); answers:", n, elapsed, n / elapsed);
  for (guint c = 0; c < 600; c++)
    if (codes[c])
      printf (" %u×%u", codes[c], c);
  printf ("; expected 4xx: %u\n", expected_errors);
  printf ("latency ms: p50 %.2f  p95 %.2f  p99 %.2f  max %.2f  (goal p99 < 50 ms: %s)\n",
      pct_ms (lat, n, 50), pct_ms (lat, n, 95), p99, n ? lat[n - 1] / 1000.0 : 0.0, p99 < 50 ? "met" : "MISSED");

  /* events */
  guint64 events = 0, gaps = 0, reorders = 0, missed = 0, mismatches = 0, drops = 0;
  guint reconnected = 0;
  for (guint i = 0; i < opt.clients; i++) {
    Client *c = &clients[i];
    events += c->events, gaps += c->gaps, reorders += c->reorders, missed += c->missed;
    mismatches += c->mismatches, drops += c->drops, reconnected += c->reconnected;
    if (c->events == 0)
      fail ("SSE client %u (%s) received no events", i, c->path);
    if (c->gaps || c->reorders || c->missed || c->mismatches)
      fail ("SSE client %u (%s): %" G_GUINT64_FORMAT " lost, %" G_GUINT64_FORMAT " reordered, %"
          G_GUINT64_FORMAT " missed notices, %" G_GUINT64_FORMAT " seq/id mismatches", i, c->path,
          c->gaps, c->reorders, c->missed, c->mismatches);
    if (c->reconnect_at && !c->reconnected)
      fail ("SSE client %u did not make its forced reconnect", i);
  }
  printf ("events: %" G_GUINT64_FORMAT " received by %u clients (%.0f/s); lost %" G_GUINT64_FORMAT
      ", reordered %" G_GUINT64_FORMAT ", missed notices %" G_GUINT64_FORMAT ", seq/id mismatches %"
      G_GUINT64_FORMAT ", unexpected drops %" G_GUINT64_FORMAT "; forced reconnects %u of %u\n",
      events, opt.clients, events / elapsed, gaps, reorders, missed, mismatches, drops, reconnected, planned);

  /* memory */
  double bound = (double) rss_warm * (1 + opt.rss_bound_pct / 100) + opt.rss_bound_mb * 1024;
  printf ("daemon RSS kB (event buffers full, %u events each): warm-up %" G_GUINT64_FORMAT "  mid %" G_GUINT64_FORMAT "  end %" G_GUINT64_FORMAT
      "  (bound: warm-up + %g %% + %g MB = %.0f): %s\n", opt.event_buffer, rss_warm, rss_mid, rss_end, opt.rss_bound_pct,
      opt.rss_bound_mb, bound, (double) rss_end <= bound ? "flat" : "GREW");
  if (!rss_warm || !rss_end)
    fail ("could not read the daemon's RSS from /proc/%d/status", (int) pid);
  else if ((double) rss_end > bound)
    fail ("daemon RSS grew from %" G_GUINT64_FORMAT " kB to %" G_GUINT64_FORMAT " kB", rss_warm, rss_end);

  /* the main pipelines, then SIGTERM: the daemon drains and exits 0 */
  for (guint i = 0; i < opt.pipelines; i++) {
    g_autofree char *path = g_strdup_printf ("/v1/pipelines/load-%02u", i);
    expect (s, "DELETE", path, NULL, 200);
  }
  g_object_unref (s);
  gint64 t_term = g_get_monotonic_time ();
  g_subprocess_send_signal (daemon, SIGTERM);
  /* GSubprocess reaps the child on GLib's worker thread: the identifier goes NULL then */
  while (g_subprocess_get_identifier (daemon) && g_get_monotonic_time () - t_term < 30 * G_USEC_PER_SEC)
    g_usleep (20 * 1000);
  if (g_subprocess_get_identifier (daemon)) {
    fail ("nerved did not exit within 30 s of SIGTERM");
    g_subprocess_force_exit (daemon);
  }
  g_subprocess_wait (daemon, NULL, NULL);
  if (!g_subprocess_get_if_exited (daemon) || g_subprocess_get_exit_status (daemon) != 0)
    fail ("nerved did not exit 0 after SIGTERM (%s %d)", g_subprocess_get_if_exited (daemon) ? "exit" : "signal",
        g_subprocess_get_if_exited (daemon) ? g_subprocess_get_exit_status (daemon) : g_subprocess_get_term_sig (daemon));
  else
    printf ("daemon: exit 0 after SIGTERM (%.2f s)\n", (double) (g_get_monotonic_time () - t_term) / G_USEC_PER_SEC);
  g_thread_join (drainer);

  for (guint i = 0; i < opt.clients; i++) {
    g_free (clients[i].path);
    g_string_free (clients[i].line, TRUE);
    g_clear_object (&clients[i].cancel);
  }
  for (guint w = 0; w < opt.threads; w++)
    g_free (workers[w].lat_us);
  g_free (clients), g_free (workers), g_free (threads), g_free (lat), g_free (base_url);
  g_main_loop_unref (sse_loop);
  g_main_context_unref (sse_ctx);

  double load[3] = { 0 };
  if (getloadavg (load, 3) == 3)
    printf ("load average: %.2f %.2f %.2f\n", load[0], load[1], load[2]);
  int nf = g_atomic_int_get (&failures);
  if (nf) {
    g_autofree char *log = g_build_filename (dir, "nerved.log", NULL);
    printf ("nerved-load: FAILED (%d failures); daemon log kept in %s\n", nf, log);
    return 1;
  }
  printf ("nerved-load: PASS\n");
  g_autofree char *log = g_build_filename (dir, "nerved.log", NULL);
  g_unlink (log), g_unlink (tfile), g_rmdir (tdir), g_rmdir (ddir), g_rmdir (dir);
  return 0;
}

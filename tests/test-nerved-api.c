/* nerved HTTP API: the real daemon on 127.0.0.1:0, a real HTTP client (libsoup), test
 * templates made of GStreamer's own elements (tests/fixtures/templates). Waits poll with a
 * deadline or read event streams; no bare sleeps. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "check.h"
#include "nerved-harness.h"

#define START_MS 120000   /* the first start may scan the plugin registry (sanitizers: slow) */
#define WAIT_MS 20000

static char *tmp_root;    /* per suite: data/ (the data root), spool/, templates/ */

static const char *
data_dir (void)
{
  static char *d;
  if (!d)
    d = g_build_filename (tmp_root, "data", NULL);
  return d;
}

static void
setup_dirs (void)
{
  if (tmp_root)
    return;
  tmp_root = g_dir_make_tmp ("nerved-api-XXXXXX", NULL);
  g_autofree char *spool = g_build_filename (tmp_root, "spool", NULL);
  g_mkdir (data_dir (), 0700);
  g_mkdir (spool, 0700);
}

/* nerved with the fixture templates, the suite's data root and spool, plus extra args. */
static NervedProc *
start_with (const char *templates, const char *const *extra)
{
  setup_dirs ();
  g_autofree char *spool = g_build_filename (tmp_root, "spool", NULL);
  g_autoptr (GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, "--templates");
  g_ptr_array_add (a, (gpointer) templates);
  g_ptr_array_add (a, "--data-root");
  g_ptr_array_add (a, (gpointer) data_dir ());
  g_ptr_array_add (a, "--spool-dir");
  g_ptr_array_add (a, spool);
  for (const char *const *e = extra; e && *e; e++)
    g_ptr_array_add (a, (gpointer) *e);
  g_ptr_array_add (a, NULL);
  g_autoptr (GError) err = NULL;
  NervedProc *p = nerved_proc_start ((const char *const *) a->pdata, START_MS, &err);
  if (!p)
    fprintf (stderr, "  %s\n", err->message);
  return p;
}

static NervedProc *
start_daemon (const char *const *extra)
{
  g_autofree char *t = nerve_test_path ("tests/fixtures/templates");
  return start_with (t, extra);
}

/* Stops with SIGTERM and checks the clean exit. */
static void
stop_daemon (NervedProc *p)
{
  const int st = nerved_proc_stop (p, SIGTERM, 30000);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0);
  if (!(st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0)) {
    g_autofree char *log = nerved_proc_log (p);
    fprintf (stderr, "  nerved exit status %d; log:\n%s\n", st, log);
  }
  nerved_proc_free (p);
}

static NervedReply *
post (NervedProc *p, const char *path, const char *json)
{
  return nerved_request_json (p, "POST", path, json);
}

static NervedReply *
get (NervedProc *p, const char *path)
{
  return nerved_request (p, "GET", path, NULL, NULL, 0, NULL);
}

/* Creates a pipeline and checks 201; returns its id (or NULL). */
static char *
create (NervedProc *p, const char *json)
{
  g_autoptr (NervedReply) r = post (p, "/v1/pipelines", json);
  CU_ASSERT_EQUAL (r->status, 201);
  if (r->status != 201) {
    fprintf (stderr, "  create %s: %u %s\n", json, r->status, r->text);
    return NULL;
  }
  const char *id = nerved_reply_string (r, "id");
  CU_ASSERT_PTR_NOT_NULL (id);
  g_autofree char *loc = g_strdup_printf ("/v1/pipelines/%s", id);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r->headers, "Location"), loc);
  return g_strdup (id);
}

static gint64
status_int (NervedProc *p, const char *id, const char *member)
{
  g_autofree char *path = g_strdup_printf ("/v1/pipelines/%s", id);
  g_autoptr (NervedReply) r = get (p, path);
  return nerved_reply_int (r, member, -1);
}

static gboolean
wait_state (NervedProc *p, const char *id, const char *state)
{
  g_autofree char *path = g_strdup_printf ("/v1/pipelines/%s", id);
  const gboolean ok = nerved_wait_field (p, path, "state", state, WAIT_MS);
  if (!ok) {
    g_autoptr (NervedReply) r = get (p, path);
    fprintf (stderr, "  %s never reached %s: %s\n", id, state, r->text);
  }
  return ok;
}

static void
expect_error (NervedReply *r, guint status, const char *code, const char *message_has)
{
  CU_ASSERT_EQUAL (r->status, status);
  const char *c = nerved_reply_error_code (r), *m = nerved_reply_error_message (r);
  CU_ASSERT (c && !strcmp (c, code));
  if (message_has)
    CU_ASSERT (m && strstr (m, message_has));
  if (r->status != status || !c || strcmp (c, code) || (message_has && (!m || !strstr (m, message_has))))
    fprintf (stderr, "  expected %u %s ('%s'), got %u: %s\n", status, code, message_has ? message_has : "",
        r->status, r->text);
}

/* ---- lifecycle ---- */

static void
test_lifecycle (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) h = get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (h, "status"), "ok");
  CU_ASSERT_EQUAL (nerved_reply_int (h, "pipelines", -1), 0);

  g_autoptr (NervedReply) tl = get (p, "/v1/templates");
  CU_ASSERT_EQUAL (tl->status, 200);
  CU_ASSERT (strstr (tl->text, "\"tone\"") != NULL);
  g_autoptr (NervedReply) t1 = get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t1->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (t1, "name"), "tone");
  g_autoptr (NervedReply) t404 = get (p, "/v1/templates/nope");
  expect_error (t404, 404, "not_found", "nope");

  g_autofree char *id = create (p, "{\"template\": \"tone\", \"id\": \"life\", \"start\": false}");
  CU_ASSERT_STRING_EQUAL_FATAL (id, "life");
  g_autoptr (NervedReply) s0 = get (p, "/v1/pipelines/life");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s0, "state"), "created");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s0, "template"), "tone");

  g_autoptr (NervedReply) st = post (p, "/v1/pipelines/life/start", NULL);
  CU_ASSERT_EQUAL (st->status, 200);
  CU_ASSERT_TRUE (wait_state (p, "life", "playing"));
  g_autoptr (NervedReply) again = post (p, "/v1/pipelines/life/start", NULL);
  expect_error (again, 409, "conflict", NULL);

  /* it runs: buffers flow */
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (status_int (p, "life", "buffers") < 5 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT (status_int (p, "life", "buffers") >= 5);
  CU_ASSERT_EQUAL (status_int (p, "life", "restarts"), 0);

  g_autoptr (NervedReply) pa = post (p, "/v1/pipelines/life/pause", NULL);
  CU_ASSERT_EQUAL (pa->status, 200);
  CU_ASSERT_TRUE (wait_state (p, "life", "paused"));
  g_autoptr (NervedReply) pa2 = post (p, "/v1/pipelines/life/pause", NULL);
  expect_error (pa2, 409, "conflict", NULL);

  g_autoptr (NervedReply) list = get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (list->status, 200);
  JsonArray *a = json_object_get_array_member (nerved_reply_object (list), "pipelines");
  CU_ASSERT_EQUAL (json_array_get_length (a), 1);

  g_autoptr (NervedReply) sp = post (p, "/v1/pipelines/life/stop", NULL);
  CU_ASSERT_EQUAL (sp->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (sp, "state"), "stopped");

  g_autoptr (NervedReply) del = nerved_request (p, "DELETE", "/v1/pipelines/life", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (del->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (del, "deleted"), "life");
  g_autoptr (NervedReply) gone = get (p, "/v1/pipelines/life");
  expect_error (gone, 404, "not_found", "life");
  g_autoptr (NervedReply) gone2 = post (p, "/v1/pipelines/life/start", NULL);
  expect_error (gone2, 404, "not_found", NULL);

  /* the access log is logfmt */
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "level=info msg=request method=GET path=/healthz status=200 ms=") != NULL);
  CU_ASSERT (strstr (log, "msg=\"pipeline created\" id=life template=tone") != NULL);
  stop_daemon (p);
}

/* ---- template parameters, injection, traversal ---- */

static void
test_validation (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) r1 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"freq\": \"loud\"}}");
  expect_error (r1, 400, "bad_param", "freq");
  CU_ASSERT (g_str_has_prefix (nerved_reply_error_message (r1), "freq"));
  g_autoptr (NervedReply) r2 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"freq\": 99999}}");
  expect_error (r2, 400, "bad_param", "freq");
  g_autoptr (NervedReply) r3 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"volume\": 1}}");
  expect_error (r3, 400, "bad_param", "volume");
  g_autoptr (NervedReply) r4 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"interval\": 1.5}}");
  expect_error (r4, 400, "bad_param", "interval");
  g_autoptr (NervedReply) r5 = post (p, "/v1/pipelines", "{\"template\": \"nosuch\"}");
  expect_error (r5, 404, "not_found", "nosuch");
  g_autoptr (NervedReply) r6 = post (p, "/v1/pipelines", "{\"template\": \"missing\"}");
  expect_error (r6, 422, "unprocessable", "nervenosuchelement");
  g_autoptr (NervedReply) r7 = post (p, "/v1/pipelines", "{\"launch\": \"audiotestsrc ! fakesink\"}");
  expect_error (r7, 403, "forbidden", "launch");
  g_autoptr (NervedReply) r8 = post (p, "/v1/pipelines", "{\"template\": \"record\"}");
  expect_error (r8, 400, "bad_param", "output");   /* required */
  g_autoptr (NervedReply) r9 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"id\": \"bad id!\"}");
  CU_ASSERT_EQUAL (r9->status, 400);

  g_autofree char *id = create (p, "{\"template\": \"tone\", \"id\": \"dup\", \"start\": false}");
  g_autoptr (NervedReply) r10 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"id\": \"dup\"}");
  expect_error (r10, 409, "conflict", "dup");

  /* path traversal and escapes: all name the parameter */
  g_autofree char *link = g_build_filename (data_dir (), "escape", NULL);
  CU_ASSERT_EQUAL (symlink ("/tmp", link), 0);
  const char *bad_paths[] = { "../../etc/passwd.wav", "/etc/x.wav", "escape/x.wav", "sub/../../x.wav" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_paths); i++) {
    g_autofree char *b = g_strdup_printf ("{\"template\": \"record\", \"params\": {\"output\": \"%s\"}}", bad_paths[i]);
    g_autoptr (NervedReply) r = post (p, "/v1/pipelines", b);
    expect_error (r, 400, "bad_param", "output");
  }
  g_unlink (link);
  /* pipeline syntax in a string parameter */
  const char *inject[] = { "meter ! filesink location=/tmp/pwn", "a name=b", "x\\\" ! fakesink", "a\\nb", "Meter" };
  for (guint i = 0; i < G_N_ELEMENTS (inject); i++) {
    g_autofree char *b = g_strdup_printf ("{\"template\": \"tone\", \"params\": {\"label\": \"%s\"}}", inject[i]);
    g_autoptr (NervedReply) r = post (p, "/v1/pipelines", b);
    expect_error (r, 400, "bad_param", "label");
  }
  CU_ASSERT_FALSE (g_file_test ("/tmp/pwn", G_FILE_TEST_EXISTS));
  g_autoptr (NervedReply) list = get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (nerved_reply_object (list), "pipelines")), 1);
  stop_daemon (p);
}

/* ---- auth and refusals to start ---- */

static void
test_auth (void)
{
  setup_dirs ();
  g_autofree char *tokens = nerved_write_token_file (tmp_root, "s3cret-token", 0600);
  const char *extra[] = { "--token-file", tokens, NULL };
  NervedProc *p = start_daemon (extra);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) h = get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  g_autoptr (NervedReply) r1 = get (p, "/v1/pipelines");
  expect_error (r1, 401, "unauthorized", NULL);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r1->headers, "WWW-Authenticate"), "Bearer");
  g_autoptr (NervedReply) r2 = post (p, "/v1/pipelines", "{\"template\": \"tone\"}");
  CU_ASSERT_EQUAL (r2->status, 401);
  g_autoptr (NervedReply) r3 = get (p, "/nosuchroute");
  CU_ASSERT_EQUAL (r3->status, 401);
  p->token = g_strdup ("wrong");
  g_autoptr (NervedReply) r4 = get (p, "/metrics");
  CU_ASSERT_EQUAL (r4->status, 401);
  g_free (p->token);
  p->token = g_strdup ("s3cret-token");
  g_autoptr (NervedReply) r5 = get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (r5->status, 200);
  g_autoptr (NervedReply) r6 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"start\": false}");
  CU_ASSERT_EQUAL (r6->status, 201);
  stop_daemon (p);

  /* a token file others can read: refused at start */
  g_autofree char *open_tokens = nerved_write_token_file (tmp_root, "s3cret-token", 0644);
  g_autofree char *tdir = nerve_test_path ("tests/fixtures/templates");
  const char *a1[] = { "--listen", "127.0.0.1:0", "--templates", tdir, "--token-file", open_tokens, NULL };
  g_autofree char *e1 = NULL;
  int st = nerved_run_expect_exit (a1, START_MS, &e1);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 1);
  CU_ASSERT (strstr (e1, open_tokens) != NULL && strstr (e1, "0600") != NULL);
  if (!strstr (e1, "0600"))
    fprintf (stderr, "  0644 token file: status %d, stderr:\n%s\n", st, e1);
  /* not loopback without tokens: refused */
  const char *a2[] = { "--listen", "0.0.0.0:0", "--templates", tdir, NULL };
  g_autofree char *e2 = NULL;
  st = nerved_run_expect_exit (a2, START_MS, &e2);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 1);
  CU_ASSERT (strstr (e2, "token-file") != NULL && strstr (e2, "loopback") != NULL);
  /* not loopback with tokens: fine (stopped at once) */
  const char *a3[] = { "--listen", "0.0.0.0:0", "--templates", tdir, "--token-file", tokens, NULL };
  g_autoptr (GError) err = NULL;
  NervedProc *p3 = nerved_proc_start (a3, START_MS, &err);
  CU_ASSERT_PTR_NOT_NULL (p3);
  if (p3)
    stop_daemon (p3);
  /* a bad option value */
  const char *a4[] = { "--listen", "nohost:x", "--templates", tdir, NULL };
  g_autofree char *e4 = NULL;
  st = nerved_run_expect_exit (a4, START_MS, &e4);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) != 0);
  CU_ASSERT (strstr (e4, "listen") != NULL);
}

/* ---- restart on failure; the neighbour keeps running ---- */

static void
test_restart (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *good = create (p, "{\"template\": \"tone\", \"id\": \"neighbour\"}");
  g_autofree char *bad = create (p, "{\"template\": \"failing\", \"id\": \"flaky\", \"params\": {\"after\": 2}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (bad);
  const gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (status_int (p, "flaky", "restarts") < 2 && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  CU_ASSERT (status_int (p, "flaky", "restarts") >= 2);
  CU_ASSERT (status_int (p, "flaky", "errors") >= 2);
  g_autoptr (NervedReply) s = get (p, "/v1/pipelines/flaky");
  JsonObject *o = nerved_reply_object (s);
  CU_ASSERT (o && json_object_has_member (o, "last_error") && !json_object_get_null_member (o, "last_error"));
  CU_ASSERT (strstr (s->text, "error-after") != NULL || strstr (s->text, "identity") != NULL);
  CU_ASSERT_TRUE (wait_state (p, "neighbour", "playing"));
  CU_ASSERT_EQUAL (status_int (p, "neighbour", "restarts"), 0);
  CU_ASSERT_EQUAL (status_int (p, "neighbour", "errors"), 0);
  g_autoptr (NervedReply) m = get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_pipeline_restarts_total ") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_pipeline_restarts_total 0\n") == NULL);
  g_autoptr (NervedReply) h = get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  stop_daemon (p);
}

/* ---- events ---- */

/* Reads events until n "message" events from level came, checking that ids increase by one
 * from *last (0: any start). Returns how many level messages it saw. */
static int
read_levels (NervedSseReader *r, int n, guint64 *last, const char *source)
{
  int levels = 0;
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (levels < n && g_get_monotonic_time () < deadline) {
    g_autoptr (NervedSseEvent) e = nerved_sse_next (r, WAIT_MS);
    if (!e)
      break;
    CU_ASSERT_TRUE (e->has_id);
    CU_ASSERT_STRING_NOT_EQUAL (e->event, "missed");
    if (*last)
      CU_ASSERT_EQUAL (e->id, *last + 1);
    *last = e->id;
    g_autoptr (JsonNode) node = json_from_string (e->data, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL (node);
    JsonObject *o = json_node_get_object (node);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "seq"), (gint64) e->id);
    CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "type"), e->event);
    if (!strcmp (e->event, "message")) {
      CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "name"), "level");
      CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "source"), source);
      CU_ASSERT (json_object_has_member (o, "fields"));
      levels++;
    }
  }
  return levels;
}

static void
test_events (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = create (p,
      "{\"template\": \"tone\", \"id\": \"ev\", \"start\": false, \"params\": {\"interval\": 20000000, \"label\": \"lvl\"}}");
  guint status = 0;
  NervedSseReader *r = nerved_sse_open (p, "/v1/pipelines/ev/events?after=0", NULL, &status, NULL);
  CU_ASSERT_EQUAL (status, 200);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedSseEvent) first = nerved_sse_next (r, WAIT_MS);
  CU_ASSERT_PTR_NOT_NULL_FATAL (first);
  CU_ASSERT_EQUAL (first->id, 1);
  CU_ASSERT_STRING_EQUAL (first->event, "created");
  guint64 last = first->id;
  g_autoptr (NervedReply) st = post (p, "/v1/pipelines/ev/start", NULL);
  CU_ASSERT_EQUAL (st->status, 200);
  CU_ASSERT_EQUAL (read_levels (r, 5, &last, "lvl"), 5);
  nerved_sse_close (r);

  /* more events happen while nobody listens; a reconnect with Last-Event-ID gets them all */
  const guint64 gap_until = last + 10;
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while ((guint64) status_int (p, "ev", "events") < gap_until && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT ((guint64) status_int (p, "ev", "events") >= gap_until);
  g_autofree char *lid = g_strdup_printf ("%" G_GUINT64_FORMAT, last);
  r = nerved_sse_open (p, "/v1/pipelines/ev/events", lid, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  CU_ASSERT (read_levels (r, 12, &last, "lvl") == 12);
  CU_ASSERT (last > gap_until);
  nerved_sse_close (r);

  /* the daemon-wide stream renumbers; a resume point far back reports what was lost */
  r = nerved_sse_open (p, "/v1/events?after=0", NULL, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedSseEvent) g1 = nerved_sse_next (r, WAIT_MS);
  CU_ASSERT (g1 && g1->id == 1 && !strcmp (g1->event, "created"));
  CU_ASSERT (g1 && strstr (g1->data, "\"pipeline\":\"ev\"") != NULL);
  nerved_sse_close (r);

  g_autoptr (NervedReply) bad = get (p, "/v1/pipelines/ev/events?after=x");
  expect_error (bad, 400, "bad_request", "after");
  g_autoptr (NervedReply) nf = get (p, "/v1/pipelines/nope/events");
  CU_ASSERT_EQUAL (nf->status, 404);

  /* deleting the pipeline ends its streams after the "deleted" event */
  r = nerved_sse_open (p, "/v1/pipelines/ev/events", NULL, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedReply) del = nerved_request (p, "DELETE", "/v1/pipelines/ev", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (del->status, 200);
  gboolean deleted = FALSE;
  for (;;) {
    g_autoptr (NervedSseEvent) e = nerved_sse_next (r, WAIT_MS);
    if (!e)
      break;
    if (!strcmp (e->event, "deleted"))
      deleted = TRUE;
  }
  CU_ASSERT_TRUE (deleted);
  CU_ASSERT_TRUE (nerved_sse_ended (r));
  nerved_sse_close (r);
  g_autoptr (NervedReply) m = get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_sse_events_sent_total ") && !strstr (m->text, "nerved_sse_events_sent_total 0\n"));
  stop_daemon (p);
}

/* ---- jobs ---- */

/* A 16-bit mono 16 kHz WAV of a 440 Hz tone */
static char *
write_tone_wav (const char *dir, double seconds)
{
  const int rate = 16000, n = (int) (seconds * rate);
  GByteArray *b = g_byte_array_new ();
  guint32 u32;
  guint16 u16;
#define PUT32(v) (u32 = GUINT32_TO_LE (v), g_byte_array_append (b, (guint8 *) &u32, 4))
#define PUT16(v) (u16 = GUINT16_TO_LE (v), g_byte_array_append (b, (guint8 *) &u16, 2))
  g_byte_array_append (b, (const guint8 *) "RIFF", 4);
  PUT32 (36 + n * 2);
  g_byte_array_append (b, (const guint8 *) "WAVEfmt ", 8);
  PUT32 (16);
  PUT16 (1);
  PUT16 (1);
  PUT32 (rate);
  PUT32 (rate * 2);
  PUT16 (2);
  PUT16 (16);
  g_byte_array_append (b, (const guint8 *) "data", 4);
  PUT32 (n * 2);
  for (int i = 0; i < n; i++)
    PUT16 ((guint16) (gint16) (8000.0 * sin (2.0 * G_PI * 440.0 * i / rate)));
  char *path = g_build_filename (dir, "tone.wav", NULL);
  g_file_set_contents (path, (const char *) b->data, b->len, NULL);
  g_byte_array_unref (b);
  return path;
}

static void
test_jobs (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wav = write_tone_wav (tmp_root, 1.0);
  g_autofree char *data = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (wav, &data, &len, NULL));

  g_autoptr (NervedReply) r = nerved_request (p, "POST", "/v1/jobs?template=level-job&wait=1&interval=100000000",
      "audio/wav", data, len, NULL);
  CU_ASSERT_EQUAL (r->status, 200);
  if (r->status != 200)
    fprintf (stderr, "  job: %u %s\n", r->status, r->text);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r, "state"), "done");
  JsonObject *o = nerved_reply_object (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  JsonArray *results = json_object_get_array_member (o, "results");
  /* 1 s at one message per 100 ms */
  CU_ASSERT (json_array_get_length (results) >= 9 && json_array_get_length (results) <= 11);
  JsonObject *r0 = json_array_get_object_element (results, 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r0, "name"), "level");
  CU_ASSERT (json_object_has_member (json_object_get_object_member (r0, "fields"), "rms"));
  CU_ASSERT (json_object_get_null_member (o, "error"));
  const char *id = nerved_reply_string (r, "id");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id);
  g_autofree char *job_path = g_strdup_printf ("/v1/jobs/%s", id);
  g_autofree char *out_path = g_strdup_printf ("/v1/jobs/%s/output", id);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r, "output"), out_path);

  g_autoptr (NervedReply) out = get (p, out_path);
  CU_ASSERT_EQUAL (out->status, 200);
  CU_ASSERT (out->len == len && !memcmp (out->text, "RIFF", 4));   /* S16 mono 16 kHz in and out */
  g_autoptr (NervedReply) g = get (p, job_path);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (g, "state"), "done");

  /* without wait: 202, then poll */
  g_autoptr (NervedReply) r2 = nerved_request (p, "POST", "/v1/jobs?template=level-job", "audio/wav", data, len, NULL);
  CU_ASSERT_EQUAL (r2->status, 202);
  const char *id2 = nerved_reply_string (r2, "id");
  CU_ASSERT_PTR_NOT_NULL_FATAL (id2);
  g_autofree char *job2 = g_strdup_printf ("/v1/jobs/%s", id2);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r2->headers, "Location"), job2);
  CU_ASSERT_TRUE (nerved_wait_field (p, job2, "state", "done", WAIT_MS));

  /* a file that is not audio fails with the real GStreamer message */
  g_autoptr (NervedReply) r3 = nerved_request (p, "POST", "/v1/jobs?template=level-job&wait=1", "text/plain",
      "hello, not audio\n", 17, NULL);
  CU_ASSERT_EQUAL (r3->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r3, "state"), "failed");
  CU_ASSERT (strstr (r3->text, "\"error\":{") != NULL);

  /* refusals */
  g_autoptr (NervedReply) e1 = nerved_request (p, "POST", "/v1/jobs?template=tone", "audio/wav", data, len, NULL);
  expect_error (e1, 422, "unprocessable", "tone");
  g_autoptr (NervedReply) e2 = nerved_request (p, "POST", "/v1/jobs?template=nope", "audio/wav", data, len, NULL);
  expect_error (e2, 404, "not_found", "nope");
  g_autoptr (NervedReply) e3 = nerved_request (p, "POST", "/v1/jobs", "audio/wav", data, len, NULL);
  expect_error (e3, 400, "bad_request", "template");
  g_autoptr (NervedReply) e4 = nerved_request (p, "POST", "/v1/jobs?template=level-job&input=/etc/passwd",
      "audio/wav", data, len, NULL);
  expect_error (e4, 400, "bad_param", "input");
  g_autoptr (NervedReply) e5 = nerved_request (p, "POST", "/v1/jobs?template=level-job&interval=5", "audio/wav", data,
      len, NULL);
  expect_error (e5, 400, "bad_param", "interval");

  g_autoptr (NervedReply) d = nerved_request (p, "DELETE", job_path, NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (d->status, 200);
  g_autoptr (NervedReply) gone = get (p, job_path);
  CU_ASSERT_EQUAL (gone->status, 404);
  g_autoptr (NervedReply) gone2 = get (p, out_path);
  CU_ASSERT_EQUAL (gone2->status, 404);
  g_autoptr (NervedReply) m = get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"done\"} 2\n") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"failed\"} 1\n") != NULL);
  stop_daemon (p);
}

/* ---- SIGTERM drains: EOS reaches wavenc, which fixes the WAV header ---- */

static guint32
le32 (const guchar *b)
{
  return b[0] | (b[1] << 8) | (b[2] << 16) | ((guint32) b[3] << 24);
}

static void
test_drain (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wav = g_build_filename (data_dir (), "drained.wav", NULL);
  g_unlink (wav);
  g_autofree char *id = create (p, "{\"template\": \"record\", \"id\": \"rec\", \"params\": {\"output\": \"drained.wav\"}}");
  g_autofree char *id2 = create (p, "{\"template\": \"tone\", \"id\": \"other\"}");
  CU_ASSERT_TRUE (wait_state (p, "rec", "playing"));
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  GStatBuf sb = { 0 };
  while ((g_stat (wav, &sb) != 0 || sb.st_size < 8000) && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  const int st = nerved_proc_stop (p, SIGTERM, 30000);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0);
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "msg=drained") != NULL);
  if (!strstr (log, "msg=drained") || st == -1 || !WIFEXITED (st) || WEXITSTATUS (st))
    fprintf (stderr, "  drain: status %d, log:\n%s\n", st, log);
  nerved_proc_free (p);

  g_autofree guchar *b = NULL;
  gsize n = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (wav, (char **) &b, &n, NULL));
  CU_ASSERT_FATAL (n > 44);
  CU_ASSERT (!memcmp (b, "RIFF", 4) && !memcmp (b + 8, "WAVE", 4));
  CU_ASSERT_EQUAL (le32 (b + 4), n - 8);
  /* walk the chunks to "data": its size is what follows it */
  gsize off = 12;
  gboolean found = FALSE;
  while (off + 8 <= n) {
    const guint32 sz = le32 (b + off + 4);
    if (!memcmp (b + off, "data", 4)) {
      CU_ASSERT_EQUAL (sz, n - off - 8);
      CU_ASSERT (sz >= 8000 - 44);
      found = TRUE;
      break;
    }
    off += 8 + sz + (sz & 1);
  }
  CU_ASSERT_TRUE (found);
}

/* ---- malformed requests ---- */

static void
test_malformed (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) r1 = post (p, "/v1/pipelines", "{\"template\": ");
  expect_error (r1, 400, "bad_request", NULL);
  g_autoptr (NervedReply) r2 = post (p, "/v1/pipelines", "{\"template\": 5}");
  expect_error (r2, 400, "bad_request", "template");
  g_autoptr (NervedReply) r3 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"colour\": \"red\"}");
  expect_error (r3, 400, "bad_request", "colour");
  g_autoptr (NervedReply) r4 = post (p, "/v1/pipelines", "{\"template\": \"t\xff\xfe\"}");
  expect_error (r4, 400, "bad_request", NULL);
  g_autoptr (NervedReply) r5 = post (p, "/v1/pipelines", "[1, 2]");
  expect_error (r5, 400, "bad_request", NULL);
  g_autoptr (NervedReply) r6 = post (p, "/v1/pipelines", "{\"template\": \"tone\"} trailing");
  expect_error (r6, 400, "bad_request", NULL);
  g_autoptr (NervedReply) r7 = post (p, "/v1/pipelines", "");
  expect_error (r7, 400, "bad_request", NULL);
  g_autoptr (NervedReply) r8 = post (p, "/v1/pipelines", "{\"template\": \"tone\", \"start\": \"yes\"}");
  expect_error (r8, 400, "bad_request", "start");

  /* 2 MiB against the 1 MiB default: refused from Content-Length */
  const gsize big = 2 << 20;
  g_autofree char *huge = g_malloc (big);
  memset (huge, ' ', big);
  huge[0] = '{';
  huge[big - 1] = '}';
  g_autoptr (NervedReply) r9 = nerved_request (p, "POST", "/v1/pipelines", "application/json", huge, big, NULL);
  expect_error (r9, 413, "too_large", NULL);
  /* headers over the limit */
  g_autofree char *hv = g_strnfill (20000, 'x');
  const char *hdr[] = { "X-Big", hv, NULL };
  g_autoptr (NervedReply) r10 = nerved_request (p, "GET", "/v1/pipelines", NULL, NULL, 0, hdr);
  CU_ASSERT_EQUAL (r10->status, 431);

  g_autoptr (NervedReply) r11 = get (p, "/v1/nothing");
  expect_error (r11, 404, "not_found", NULL);
  g_autoptr (NervedReply) r12 = get (p, "/v1/pipelines/");
  CU_ASSERT_EQUAL (r12->status, 404);
  g_autoptr (NervedReply) r13 = nerved_request (p, "PUT", "/v1/pipelines", "application/json", "{}", 2, NULL);
  CU_ASSERT_EQUAL (r13->status, 405);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r13->headers, "Allow"), "GET, POST");
  g_autoptr (NervedReply) r14 = nerved_request (p, "DELETE", "/healthz", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (r14->status, 405);
  g_autoptr (NervedReply) r15 = get (p, "/v1/pipelines/x/stop");
  CU_ASSERT_EQUAL (r15->status, 405);
  g_autoptr (NervedReply) r16 = nerved_request (p, "POST", "/v1/jobs?template=level-job&label=%FF%FE", "audio/wav",
      "RIFF", 4, NULL);
  CU_ASSERT (r16->status == 400);

  /* still healthy and counted */
  g_autoptr (NervedReply) h = get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  g_autoptr (NervedReply) m = get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_http_requests_total{code=\"413\"} 1\n") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_http_requests_total{code=\"405\"} 3\n") != NULL);
  stop_daemon (p);
}

/* ---- /healthz and /metrics ---- */

static void
test_metrics (void)
{
  NervedProc *p = start_daemon (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = create (p, "{\"template\": \"tone\", \"id\": \"m1\"}");
  g_autofree char *id2 = create (p, "{\"template\": \"tone\", \"id\": \"m2\", \"start\": false}");
  CU_ASSERT_TRUE (wait_state (p, "m1", "playing"));
  g_autoptr (NervedReply) h = get (p, "/healthz");
  CU_ASSERT_EQUAL (nerved_reply_int (h, "pipelines", -1), 2);
  JsonObject *ho = nerved_reply_object (h);
  CU_ASSERT (ho && json_object_get_double_member (ho, "uptime_s") > 0);
  g_autoptr (NervedReply) m = get (p, "/metrics");
  CU_ASSERT_EQUAL (m->status, 200);
  CU_ASSERT (g_str_has_prefix (soup_message_headers_get_one (m->headers, "Content-Type"), "text/plain; version=0.0.4"));
  const char *want[] = {
    "nerved_pipelines{state=\"playing\"} 1\n", "nerved_pipelines{state=\"created\"} 1\n",
    "# TYPE nerved_pipeline_restarts_total counter\n", "nerved_pipeline_errors_total 0\n", "nerved_events_total ",
    "nerved_sse_clients 0\n", "nerved_http_requests_total{code=\"201\"} 2\n",
    "# TYPE nerved_http_request_duration_seconds histogram\n", "nerved_http_request_duration_seconds_bucket{le=\"0.05\"} ",
    "nerved_http_request_duration_seconds_bucket{le=\"+Inf\"} ", "nerved_http_request_duration_seconds_count ",
    "nerved_jobs_total{state=\"done\"} 0\n", "nerved_uptime_seconds ",
  };
  for (guint i = 0; i < G_N_ELEMENTS (want); i++)
    if (!strstr (m->text, want[i])) {
      CU_FAIL ("metric missing");
      fprintf (stderr, "  missing '%s' in:\n%s\n", want[i], m->text);
    }
  stop_daemon (p);
}

/* ---- SIGHUP reloads templates; running pipelines keep running ---- */

static void
copy_file (const char *from, const char *to)
{
  g_autofree char *s = NULL;
  gsize n;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (from, &s, &n, NULL));
  CU_ASSERT_TRUE (g_file_set_contents (to, s, n, NULL));
}

static void
test_reload (void)
{
  setup_dirs ();
  g_autofree char *tdir = g_build_filename (tmp_root, "templates", NULL);
  g_mkdir (tdir, 0700);
  g_autofree char *src = nerve_test_path ("tests/fixtures/templates/tone.pipeline");
  g_autofree char *dst = g_build_filename (tdir, "tone.pipeline", NULL);
  copy_file (src, dst);
  NervedProc *p = start_with (tdir, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = create (p, "{\"template\": \"tone\", \"id\": \"keep\"}");
  CU_ASSERT_TRUE (wait_state (p, "keep", "playing"));
  g_autoptr (NervedReply) t0 = get (p, "/v1/templates/failing");
  CU_ASSERT_EQUAL (t0->status, 404);

  g_autofree char *src2 = nerve_test_path ("tests/fixtures/templates/failing.pipeline");
  g_autofree char *dst2 = g_build_filename (tdir, "failing.pipeline", NULL);
  copy_file (src2, dst2);
  g_unlink (dst);   /* the running pipeline's template goes away: it keeps running */
  kill (p->pid, SIGHUP);
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  guint status = 404;
  while (status != 200 && g_get_monotonic_time () < deadline) {
    g_autoptr (NervedReply) t = get (p, "/v1/templates/failing");
    status = t->status;
    if (status != 200)
      g_usleep (20000);
  }
  CU_ASSERT_EQUAL (status, 200);
  g_autoptr (NervedReply) t1 = get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t1->status, 404);
  g_autoptr (NervedReply) s = get (p, "/v1/pipelines/keep");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s, "state"), "playing");
  const gint64 b0 = nerved_reply_int (s, "buffers", 0);
  while (status_int (p, "keep", "buffers") <= b0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT (status_int (p, "keep", "buffers") > b0);

  copy_file (src, dst);
  g_autoptr (NervedReply) rl = post (p, "/v1/templates/reload", NULL);
  CU_ASSERT_EQUAL (rl->status, 200);
  CU_ASSERT_EQUAL (nerved_reply_int (rl, "templates", -1), 2);
  g_autoptr (NervedReply) t2 = get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t2->status, 200);
  stop_daemon (p);
}

static void
cleanup (void)
{
  if (!tmp_root)
    return;
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", tmp_root);
  CU_ASSERT_EQUAL (system (cmd), 0);
}

NERVE_TEST_MAIN ("nerved-api",
    { "lifecycle", test_lifecycle },
    { "validation, traversal, injection", test_validation },
    { "auth and refused starts", test_auth },
    { "restart on failure, neighbour unaffected", test_restart },
    { "events in order across a reconnect", test_events },
    { "jobs", test_jobs },
    { "SIGTERM drains", test_drain },
    { "malformed requests", test_malformed },
    { "healthz and metrics", test_metrics },
    { "SIGHUP reload", test_reload },
    { "cleanup", cleanup })

/* nerved HTTP API: the real daemon on 127.0.0.1:0, a real HTTP client (libsoup), test
 * templates made of GStreamer's own elements (tests/fixtures/templates). Waits poll with a
 * deadline or read event streams; no bare sleeps. Jobs, drain and reload: test-nerved-jobs.c. */
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nerved-api-check.h"

/* ---- lifecycle ---- */

static void
test_lifecycle (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) h = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (h, "status"), "ok");
  CU_ASSERT_EQUAL (nerved_reply_int (h, "pipelines", -1), 0);

  g_autoptr (NervedReply) tl = api_get (p, "/v1/templates");
  CU_ASSERT_EQUAL (tl->status, 200);
  CU_ASSERT (strstr (tl->text, "\"tone\"") != NULL);
  g_autoptr (NervedReply) t1 = api_get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t1->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (t1, "name"), "tone");
  g_autoptr (NervedReply) t404 = api_get (p, "/v1/templates/nope");
  api_expect_error (t404, 404, "not_found", "nope");

  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"life\", \"start\": false}");
  CU_ASSERT_STRING_EQUAL_FATAL (id, "life");
  g_autoptr (NervedReply) s0 = api_get (p, "/v1/pipelines/life");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s0, "state"), "created");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s0, "template"), "tone");

  g_autoptr (NervedReply) st = api_post (p, "/v1/pipelines/life/start", NULL);
  CU_ASSERT_EQUAL (st->status, 200);
  CU_ASSERT_TRUE (api_wait_state (p, "life", "playing"));
  api_post_expect_error (p, "/v1/pipelines/life/start", NULL, 409, "conflict", NULL);

  /* it runs: buffers flow */
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (api_status_int (p, "life", "buffers") < 5 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT (api_status_int (p, "life", "buffers") >= 5);
  CU_ASSERT_EQUAL (api_status_int (p, "life", "restarts"), 0);

  g_autoptr (NervedReply) pa = api_post (p, "/v1/pipelines/life/pause", NULL);
  CU_ASSERT_EQUAL (pa->status, 200);
  CU_ASSERT_TRUE (api_wait_state (p, "life", "paused"));
  api_post_expect_error (p, "/v1/pipelines/life/pause", NULL, 409, "conflict", NULL);

  g_autoptr (NervedReply) list = api_get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (list->status, 200);
  JsonArray *a = json_object_get_array_member (nerved_reply_object (list), "pipelines");
  CU_ASSERT_EQUAL (json_array_get_length (a), 1);

  g_autoptr (NervedReply) sp = api_post (p, "/v1/pipelines/life/stop", NULL);
  CU_ASSERT_EQUAL (sp->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (sp, "state"), "stopped");

  g_autoptr (NervedReply) del = nerved_request (p, "DELETE", "/v1/pipelines/life", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (del->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (del, "deleted"), "life");
  g_autoptr (NervedReply) gone = api_get (p, "/v1/pipelines/life");
  api_expect_error (gone, 404, "not_found", "life");
  api_post_expect_error (p, "/v1/pipelines/life/start", NULL, 404, "not_found", NULL);

  /* the access log is logfmt */
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "level=info msg=request method=GET path=/healthz status=200 ms=") != NULL);
  CU_ASSERT (strstr (log, "msg=\"pipeline created\" id=life template=tone") != NULL);
  api_stop (p);
}

/* ---- template parameters, injection, traversal ---- */

static void
test_validation (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) r1 = api_post (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"freq\": \"loud\"}}");
  api_expect_error (r1, 400, "bad_param", "freq");
  CU_ASSERT (g_str_has_prefix (nerved_reply_error_message (r1), "freq"));
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"freq\": 99999}}", 400, "bad_param", "freq");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"volume\": 1}}", 400, "bad_param", "volume");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"params\": {\"interval\": 1.5}}", 400, "bad_param", "interval");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"nosuch\"}", 404, "not_found", "nosuch");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"missing\"}", 422, "unprocessable", "nervenosuchelement");
  api_post_expect_error (p, "/v1/pipelines", "{\"launch\": \"audiotestsrc ! fakesink\"}", 403, "forbidden", "launch");
  g_autoptr (NervedReply) r8 = api_post (p, "/v1/pipelines", "{\"template\": \"record\"}");
  api_expect_error (r8, 400, "bad_param", "output");   /* required */
  g_autoptr (NervedReply) r9 = api_post (p, "/v1/pipelines", "{\"template\": \"tone\", \"id\": \"bad id!\"}");
  CU_ASSERT_EQUAL (r9->status, 400);

  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"dup\", \"start\": false}");
  CU_ASSERT_PTR_NOT_NULL (id);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"id\": \"dup\"}", 409, "conflict", "dup");

  /* path traversal and escapes: all name the parameter */
  g_autofree char *link = g_build_filename (api_data_dir (), "escape", NULL);
  CU_ASSERT_EQUAL (symlink ("/tmp", link), 0);
  const char *bad_paths[] = { "../../etc/passwd.wav", "/etc/x.wav", "escape/x.wav", "sub/../../x.wav" };
  for (guint i = 0; i < G_N_ELEMENTS (bad_paths); i++) {
    g_autofree char *b = g_strdup_printf ("{\"template\": \"record\", \"params\": {\"output\": \"%s\"}}", bad_paths[i]);
    g_autoptr (NervedReply) r = api_post (p, "/v1/pipelines", b);
    api_expect_error (r, 400, "bad_param", "output");
  }
  g_unlink (link);
  /* pipeline syntax in a string parameter */
  const char *inject[] = { "meter ! filesink location=/tmp/pwn", "a name=b", "x\\\" ! fakesink", "a\\nb", "Meter" };
  for (guint i = 0; i < G_N_ELEMENTS (inject); i++) {
    g_autofree char *b = g_strdup_printf ("{\"template\": \"tone\", \"params\": {\"label\": \"%s\"}}", inject[i]);
    api_post_expect_error (p, "/v1/pipelines", b, 400, "bad_param", "label");
  }
  CU_ASSERT_FALSE (g_file_test ("/tmp/pwn", G_FILE_TEST_EXISTS));
  g_autoptr (NervedReply) list = api_get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (nerved_reply_object (list), "pipelines")), 1);
  api_stop (p);
}

/* ---- auth and refusals to start ---- */

static void
test_auth (void)
{
  api_setup_dirs ();
  g_autofree char *tokens = nerved_write_token_file (api_tmp_root, "s3cret-token", 0600);
  const char *extra[] = { "--token-file", tokens, NULL };
  NervedProc *p = api_start (extra);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (NervedReply) h = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  g_autoptr (NervedReply) r1 = api_get (p, "/v1/pipelines");
  api_expect_error (r1, 401, "unauthorized", NULL);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r1->headers, "WWW-Authenticate"), "Bearer");
  g_autoptr (NervedReply) r2 = api_post (p, "/v1/pipelines", "{\"template\": \"tone\"}");
  CU_ASSERT_EQUAL (r2->status, 401);
  g_autoptr (NervedReply) r3 = api_get (p, "/nosuchroute");
  CU_ASSERT_EQUAL (r3->status, 401);
  p->token = g_strdup ("wrong");
  g_autoptr (NervedReply) r4 = api_get (p, "/metrics");
  CU_ASSERT_EQUAL (r4->status, 401);
  g_free (p->token);
  p->token = g_strdup ("s3cret-token");
  g_autoptr (NervedReply) r5 = api_get (p, "/v1/pipelines");
  CU_ASSERT_EQUAL (r5->status, 200);
  g_autoptr (NervedReply) r6 = api_post (p, "/v1/pipelines", "{\"template\": \"tone\", \"start\": false}");
  CU_ASSERT_EQUAL (r6->status, 201);
  api_stop (p);

  /* a token file others can read: refused at start */
  g_autofree char *open_tokens = nerved_write_token_file (api_tmp_root, "s3cret-token", 0644);
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
    api_stop (p3);
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
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *good = api_create (p, "{\"template\": \"tone\", \"id\": \"neighbour\"}");
  CU_ASSERT_PTR_NOT_NULL (good);
  g_autofree char *bad = api_create (p, "{\"template\": \"failing\", \"id\": \"flaky\", \"params\": {\"after\": 2}}");
  CU_ASSERT_PTR_NOT_NULL_FATAL (bad);
  const gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (api_status_int (p, "flaky", "restarts") < 2 && g_get_monotonic_time () < deadline)
    g_usleep (50000);
  CU_ASSERT (api_status_int (p, "flaky", "restarts") >= 2);
  CU_ASSERT (api_status_int (p, "flaky", "errors") >= 2);
  g_autoptr (NervedReply) s = api_get (p, "/v1/pipelines/flaky");
  JsonObject *o = nerved_reply_object (s);
  CU_ASSERT (o && json_object_has_member (o, "last_error") && !json_object_get_null_member (o, "last_error"));
  CU_ASSERT (strstr (s->text, "error-after") != NULL || strstr (s->text, "identity") != NULL);
  CU_ASSERT_TRUE (api_wait_state (p, "neighbour", "playing"));
  CU_ASSERT_EQUAL (api_status_int (p, "neighbour", "restarts"), 0);
  CU_ASSERT_EQUAL (api_status_int (p, "neighbour", "errors"), 0);
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_pipeline_restarts_total ") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_pipeline_restarts_total 0\n") == NULL);
  g_autoptr (NervedReply) h = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  api_stop (p);
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
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p,
      "{\"template\": \"tone\", \"id\": \"ev\", \"start\": false, \"params\": {\"interval\": 20000000, \"label\": \"lvl\"}}");
  CU_ASSERT_PTR_NOT_NULL (id);
  guint status = 0;
  NervedSseReader *r = nerved_sse_open (p, "/v1/pipelines/ev/events?after=0", NULL, &status, NULL);
  CU_ASSERT_EQUAL (status, 200);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedSseEvent) first = nerved_sse_next (r, WAIT_MS);
  CU_ASSERT_PTR_NOT_NULL_FATAL (first);
  CU_ASSERT_EQUAL (first->id, 1);
  CU_ASSERT_STRING_EQUAL (first->event, "created");
  guint64 last = first->id;
  g_autoptr (NervedReply) st = api_post (p, "/v1/pipelines/ev/start", NULL);
  CU_ASSERT_EQUAL (st->status, 200);
  CU_ASSERT_EQUAL (read_levels (r, 5, &last, "lvl"), 5);
  nerved_sse_close (r);

  /* more events happen while nobody listens; a reconnect with Last-Event-ID gets them all */
  const guint64 gap_until = last + 10;
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while ((guint64) api_status_int (p, "ev", "events") < gap_until && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT ((guint64) api_status_int (p, "ev", "events") >= gap_until);
  g_autofree char *lid = g_strdup_printf ("%" G_GUINT64_FORMAT, last);
  r = nerved_sse_open (p, "/v1/pipelines/ev/events", lid, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  CU_ASSERT (read_levels (r, 12, &last, "lvl") == 12);
  CU_ASSERT (last > gap_until);
  nerved_sse_close (r);
  /* the daemon notices the client went away at its next write and lets it go */
  gboolean zero = FALSE;
  const gint64 until = g_get_monotonic_time () + WAIT_MS * 1000;
  while (!zero && g_get_monotonic_time () < until) {
    g_autoptr (NervedReply) m = api_get (p, "/metrics");
    zero = strstr (m->text, "nerved_sse_clients 0\n") != NULL;
    if (!zero)
      g_usleep (20000);
  }
  CU_ASSERT_TRUE (zero);
  /* that stream was answered 200: counted and logged so, not as the 500 libsoup leaves on a
   * message whose connection failed */
  g_autoptr (NervedReply) closed = api_get (p, "/metrics");
  CU_ASSERT (strstr (closed->text, "nerved_http_requests_total{code=\"500\"}") == NULL);
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "path=/v1/pipelines/ev/events status=200 ") != NULL);
  CU_ASSERT (strstr (log, "status=500") == NULL);

  /* the daemon-wide stream renumbers; a resume point far back reports what was lost */
  r = nerved_sse_open (p, "/v1/events?after=0", NULL, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedSseEvent) g1 = nerved_sse_next (r, WAIT_MS);
  CU_ASSERT (g1 && g1->id == 1 && !strcmp (g1->event, "created"));
  CU_ASSERT (g1 && strstr (g1->data, "\"pipeline\":\"ev\"") != NULL);
  nerved_sse_close (r);

  g_autoptr (NervedReply) bad = api_get (p, "/v1/pipelines/ev/events?after=x");
  api_expect_error (bad, 400, "bad_request", "after");
  g_autoptr (NervedReply) nf = api_get (p, "/v1/pipelines/nope/events");
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
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_sse_events_sent_total ") && !strstr (m->text, "nerved_sse_events_sent_total 0\n"));
  api_stop (p);
}

/* ---- malformed requests ---- */

static void
test_malformed (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": ", 400, "bad_request", NULL);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": 5}", 400, "bad_request", "template");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"colour\": \"red\"}", 400, "bad_request", "colour");
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"t\xff\xfe\"}", 400, "bad_request", NULL);
  api_post_expect_error (p, "/v1/pipelines", "[1, 2]", 400, "bad_request", NULL);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\"} trailing", 400, "bad_request", NULL);
  api_post_expect_error (p, "/v1/pipelines", "", 400, "bad_request", NULL);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\", \"start\": \"yes\"}", 400, "bad_request", "start");

  /* 2 MiB against the 1 MiB default: refused from Content-Length */
  const gsize big = 2 << 20;
  g_autofree char *huge = g_malloc (big);
  memset (huge, ' ', big);
  huge[0] = '{';
  huge[big - 1] = '}';
  g_autoptr (NervedReply) r9 = nerved_request (p, "POST", "/v1/pipelines", "application/json", huge, big, NULL);
  api_expect_error (r9, 413, "too_large", NULL);
  /* headers over the limit */
  g_autofree char *hv = g_strnfill (20000, 'x');
  const char *hdr[] = { "X-Big", hv, NULL };
  g_autoptr (NervedReply) r10 = nerved_request (p, "GET", "/v1/pipelines", NULL, NULL, 0, hdr);
  CU_ASSERT_EQUAL (r10->status, 431);

  g_autoptr (NervedReply) r11 = api_get (p, "/v1/nothing");
  api_expect_error (r11, 404, "not_found", NULL);
  g_autoptr (NervedReply) r12 = api_get (p, "/v1/pipelines/");
  CU_ASSERT_EQUAL (r12->status, 404);
  g_autoptr (NervedReply) r13 = nerved_request (p, "PUT", "/v1/pipelines", "application/json", "{}", 2, NULL);
  CU_ASSERT_EQUAL (r13->status, 405);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r13->headers, "Allow"), "GET, POST");
  g_autoptr (NervedReply) r14 = nerved_request (p, "DELETE", "/healthz", NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (r14->status, 405);
  g_autoptr (NervedReply) r15 = api_get (p, "/v1/pipelines/x/stop");
  CU_ASSERT_EQUAL (r15->status, 405);
  g_autoptr (NervedReply) r16 = nerved_request (p, "POST", "/v1/jobs?template=level-job&label=%FF%FE", "audio/wav",
      "RIFF", 4, NULL);
  CU_ASSERT (r16->status == 400);

  /* still healthy and counted */
  g_autoptr (NervedReply) h = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (h->status, 200);
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_http_requests_total{code=\"413\"} 1\n") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_http_requests_total{code=\"405\"} 3\n") != NULL);
  api_stop (p);
}

/* ---- /healthz and /metrics ---- */

static void
test_metrics (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"m1\"}");
  CU_ASSERT_PTR_NOT_NULL (id);
  g_autofree char *id2 = api_create (p, "{\"template\": \"tone\", \"id\": \"m2\", \"start\": false}");
  CU_ASSERT_PTR_NOT_NULL (id2);
  CU_ASSERT_TRUE (api_wait_state (p, "m1", "playing"));
  g_autoptr (NervedReply) h = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (nerved_reply_int (h, "pipelines", -1), 2);
  JsonObject *ho = nerved_reply_object (h);
  CU_ASSERT (ho && json_object_get_double_member (ho, "uptime_s") > 0);
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
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
  api_stop (p);
}

/* ---- config file, limits, launch lines, chunked bodies ---- */

/* Sends raw bytes on a fresh connection and returns what comes back until the server closes
 * (or 10 s pass), or with !until_close until the first JSON answer is complete. */
static char *
raw_http (NervedProc *p, const char *request, gsize len, gboolean until_close)
{
  g_autoptr (GSocketClient) sc = g_socket_client_new ();
  g_socket_client_set_timeout (sc, 10);
  g_autoptr (GSocketConnection) c = g_socket_client_connect_to_host (sc, "127.0.0.1", (guint16) p->port, NULL, NULL);
  if (!c)
    return g_strdup ("");
  GOutputStream *out = g_io_stream_get_output_stream (G_IO_STREAM (c));
  GInputStream *in = g_io_stream_get_input_stream (G_IO_STREAM (c));
  g_output_stream_write_all (out, request, len, NULL, NULL, NULL);
  GString *s = g_string_new (NULL);
  char b[4096];
  gssize n;
  while ((n = g_input_stream_read (in, b, sizeof b, NULL, NULL)) > 0) {
    g_string_append_len (s, b, n);
    if (!until_close && strstr (s->str, "\r\n\r\n") && strstr (s->str, "}\n"))
      break;   /* the JSON answer is complete */
  }
  return g_string_free (s, FALSE);
}

static void
test_limits (void)
{
  api_setup_dirs ();
  g_autofree char *tdir = nerve_test_path ("tests/fixtures/templates");
  g_autofree char *conf = g_build_filename (api_tmp_root, "nerved.conf", NULL);
  g_autofree char *text = g_strdup_printf ("[nerved]\nlisten = 127.0.0.1:1\ntemplates = %s\n"
      "max-pipelines = 2\nmax-sse-clients = 1\nmax-body-bytes = 256\nallow-launch = true\nevent-buffer = 16\n", tdir);
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (conf, text, -1, NULL));
  const char *extra[] = { "--config", conf, "--listen", "127.0.0.1:0", NULL };   /* the option wins */
  NervedProc *p = api_start (extra);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_NOT_EQUAL (p->port, 1);

  g_autofree char *l1 = api_create (p, "{\"launch\": \"audiotestsrc is-live=true ! fakesink sync=true\", \"id\": \"free\"}");
  CU_ASSERT_STRING_EQUAL (l1, "free");
  api_post_expect_error (p, "/v1/pipelines", "{\"launch\": \"audiotestsrc ! ! fakesink\"}", 422, "unprocessable", NULL);
  api_post_expect_error (p, "/v1/pipelines", "{\"launch\": \"nosuchelementfactory ! fakesink\"}", 422, "unprocessable", "nosuchelementfactory");
  g_autofree char *t2 = api_create (p, "{\"template\": \"tone\", \"id\": \"busy\", \"params\": {\"interval\": 10000000}}");
  CU_ASSERT_PTR_NOT_NULL (t2);
  api_post_expect_error (p, "/v1/pipelines", "{\"template\": \"tone\"}", 429, "limit", "max-pipelines");

  guint status = 0;
  NervedSseReader *r = nerved_sse_open (p, "/v1/events", NULL, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL (r);
  g_autofree char *body = NULL;
  NervedSseReader *r2 = nerved_sse_open (p, "/v1/events", NULL, &status, &body);
  CU_ASSERT_PTR_NULL (r2);
  CU_ASSERT_EQUAL (status, 429);
  CU_ASSERT (body && strstr (body, "max-sse-clients"));
  if (r)
    nerved_sse_close (r);

  /* a resume point that fell out of the 16-event buffer: "missed" first, then no gap */
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  while (api_status_int (p, "busy", "events") < 40 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  r = nerved_sse_open (p, "/v1/pipelines/busy/events?after=2", NULL, &status, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autoptr (NervedSseEvent) missed = nerved_sse_next (r, WAIT_MS);
  g_autoptr (NervedSseEvent) next = nerved_sse_next (r, WAIT_MS);
  CU_ASSERT_FATAL (missed && next);
  CU_ASSERT_STRING_EQUAL (missed->event, "missed");
  CU_ASSERT_FALSE (missed->has_id);
  g_autoptr (JsonNode) mn = json_from_string (missed->data, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (mn);
  const gint64 lost = json_object_get_int_member (json_node_get_object (mn), "missed");
  CU_ASSERT (lost >= 40 - 16 - 2);
  CU_ASSERT_EQUAL (next->id, (guint64) (2 + lost + 1));
  nerved_sse_close (r);

  /* over the body limit: from Content-Length, and while reading a chunked body */
  g_autofree char *pad = g_strnfill (300, ' ');
  g_autofree char *big = g_strdup_printf ("{\"template\": \"tone\"%s}", pad);
  api_post_expect_error (p, "/v1/pipelines", big, 413, "too_large", "256");
  GString *req = g_string_new ("POST /v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                               "Content-Type: application/json\r\n\r\n");
  for (int i = 0; i < 4; i++)
    g_string_append_printf (req, "64\r\n%s\r\n", pad + 200);   /* 4 x 100 bytes */
  g_string_append (req, "0\r\n\r\n");
  g_autofree char *ans = raw_http (p, req->str, req->len, FALSE);
  g_string_free (req, TRUE);
  CU_ASSERT (g_str_has_prefix (ans, "HTTP/1.1 413"));
  CU_ASSERT (strstr (ans, "\"too_large\"") != NULL);
  if (!g_str_has_prefix (ans, "HTTP/1.1 413"))
    fprintf (stderr, "  chunked: %s\n", ans);
  /* a small chunked body is fine */
  const char *small = "POST /v1/pipelines HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n5\r\n{\"id\"\r\n0\r\n\r\n";
  g_autofree char *ans2 = raw_http (p, small, strlen (small), FALSE);
  CU_ASSERT (g_str_has_prefix (ans2, "HTTP/1.1 400"));   /* reached the JSON parser */
  /* keep-alive: two requests on one connection get two answers (nerved accepts connections
   * itself, and libsoup keeps them open only while it has a listener of its own) */
  const char *two = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
                    "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  g_autofree char *ans3 = raw_http (p, two, strlen (two), TRUE);
  const char *second = strstr (ans3, "HTTP/1.1 200");
  CU_ASSERT (second && strstr (second + 1, "HTTP/1.1 200"));
  api_stop (p);
}

NERVE_TEST_MAIN ("nerved-api",
    { "lifecycle", test_lifecycle },
    { "validation, traversal, injection", test_validation },
    { "auth and refused starts", test_auth },
    { "restart on failure, neighbour unaffected", test_restart },
    { "events in order across a reconnect", test_events },
    { "malformed requests", test_malformed },
    { "healthz and metrics", test_metrics },
    { "config file, limits, launch lines, chunked bodies", test_limits },
    { "cleanup", api_cleanup })

/* nerved API, the longer-running parts: jobs (upload, results, output, retention), the
 * SIGTERM drain (EOS reaches wavenc, which fixes its WAV header) and the SIGHUP reload. */
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nerved-api-check.h"

/* ---- jobs ---- */

static void
test_jobs (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wav = api_write_tone_wav (api_tmp_root, 1.0);
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

  g_autoptr (NervedReply) out = api_get (p, out_path);
  CU_ASSERT_EQUAL (out->status, 200);
  const guint32 out_data = api_wav_data_size ((const guchar *) out->text, out->len);
  CU_ASSERT_EQUAL (out_data, 32000);   /* 1 s S16 mono 16 kHz */
  if (out_data != 32000)
    fprintf (stderr, "  job output: %" G_GSIZE_FORMAT " bytes, data chunk %u\n", out->len, out_data);
  g_autoptr (NervedReply) g = api_get (p, job_path);
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
  api_expect_error (e1, 422, "unprocessable", "tone");
  g_autoptr (NervedReply) e2 = nerved_request (p, "POST", "/v1/jobs?template=nope", "audio/wav", data, len, NULL);
  api_expect_error (e2, 404, "not_found", "nope");
  g_autoptr (NervedReply) e3 = nerved_request (p, "POST", "/v1/jobs", "audio/wav", data, len, NULL);
  api_expect_error (e3, 400, "bad_request", "template");
  g_autoptr (NervedReply) e4 = nerved_request (p, "POST", "/v1/jobs?template=level-job&input=/etc/passwd",
      "audio/wav", data, len, NULL);
  api_expect_error (e4, 400, "bad_param", "input");
  g_autoptr (NervedReply) e5 = nerved_request (p, "POST", "/v1/jobs?template=level-job&interval=5", "audio/wav", data,
      len, NULL);
  api_expect_error (e5, 400, "bad_param", "interval");

  g_autoptr (NervedReply) d = nerved_request (p, "DELETE", job_path, NULL, NULL, 0, NULL);
  CU_ASSERT_EQUAL (d->status, 200);
  g_autoptr (NervedReply) gone = api_get (p, job_path);
  CU_ASSERT_EQUAL (gone->status, 404);
  g_autoptr (NervedReply) gone2 = api_get (p, out_path);
  CU_ASSERT_EQUAL (gone2->status, 404);
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"done\"} 2\n") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"failed\"} 1\n") != NULL);
  api_stop (p);
}

/* ---- SIGTERM drains: EOS reaches wavenc, which fixes the WAV header ---- */

static void
test_drain (void)
{
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wav = g_build_filename (api_data_dir (), "drained.wav", NULL);
  g_unlink (wav);
  g_autofree char *id = api_create (p, "{\"template\": \"record\", \"id\": \"rec\", \"params\": {\"output\": \"drained.wav\"}}");
  CU_ASSERT_PTR_NOT_NULL (id);
  g_autofree char *id2 = api_create (p, "{\"template\": \"tone\", \"id\": \"other\"}");
  CU_ASSERT_PTR_NOT_NULL (id2);
  CU_ASSERT_TRUE (api_wait_state (p, "rec", "playing"));
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
  const guint32 data = api_wav_data_size (b, n);
  CU_ASSERT (data >= 8000 - 44 && data % 2 == 0);
  if (data < 8000 - 44)
    fprintf (stderr, "  drained.wav: %" G_GSIZE_FORMAT " bytes, data chunk %u\n", n, data);
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
  api_setup_dirs ();
  g_autofree char *tdir = g_build_filename (api_tmp_root, "templates", NULL);
  g_mkdir (tdir, 0700);
  g_autofree char *src = nerve_test_path ("tests/fixtures/templates/tone.pipeline");
  g_autofree char *dst = g_build_filename (tdir, "tone.pipeline", NULL);
  copy_file (src, dst);
  NervedProc *p = api_start_with (tdir, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"tone\", \"id\": \"keep\"}");
  CU_ASSERT_PTR_NOT_NULL (id);
  CU_ASSERT_TRUE (api_wait_state (p, "keep", "playing"));
  g_autoptr (NervedReply) t0 = api_get (p, "/v1/templates/failing");
  CU_ASSERT_EQUAL (t0->status, 404);

  g_autofree char *src2 = nerve_test_path ("tests/fixtures/templates/failing.pipeline");
  g_autofree char *dst2 = g_build_filename (tdir, "failing.pipeline", NULL);
  copy_file (src2, dst2);
  g_unlink (dst);   /* the running pipeline's template goes away: it keeps running */
  kill (p->pid, SIGHUP);
  const gint64 deadline = g_get_monotonic_time () + WAIT_MS * 1000;
  guint status = 404;
  while (status != 200 && g_get_monotonic_time () < deadline) {
    g_autoptr (NervedReply) t = api_get (p, "/v1/templates/failing");
    status = t->status;
    if (status != 200)
      g_usleep (20000);
  }
  CU_ASSERT_EQUAL (status, 200);
  g_autoptr (NervedReply) t1 = api_get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t1->status, 404);
  g_autoptr (NervedReply) s = api_get (p, "/v1/pipelines/keep");
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (s, "state"), "playing");
  const gint64 b0 = nerved_reply_int (s, "buffers", 0);
  while (api_status_int (p, "keep", "buffers") <= b0 && g_get_monotonic_time () < deadline)
    g_usleep (20000);
  CU_ASSERT (api_status_int (p, "keep", "buffers") > b0);

  copy_file (src, dst);
  g_autoptr (NervedReply) rl = api_post (p, "/v1/templates/reload", NULL);
  CU_ASSERT_EQUAL (rl->status, 200);
  CU_ASSERT_EQUAL (nerved_reply_int (rl, "templates", -1), 2);
  g_autoptr (NervedReply) t2 = api_get (p, "/v1/templates/tone");
  CU_ASSERT_EQUAL (t2->status, 200);
  api_stop (p);
}


/* ---- limits: job-timeout, job-max-results; /healthz while a slow drain runs ---- */

/* A templates directory of its own (in the suite's temp tree): level-job plus the given
 * extra templates (name, text). */
static char *
limits_templates (const char *const *extra)
{
  api_setup_dirs ();
  g_autofree char *tdir = g_build_filename (api_tmp_root, "limit-templates", NULL);
  g_mkdir (tdir, 0700);
  g_autofree char *src = nerve_test_path ("tests/fixtures/templates/level-job.pipeline");
  g_autofree char *dst = g_build_filename (tdir, "level-job.pipeline", NULL);
  copy_file (src, dst);
  for (const char *const *e = extra; e && e[0]; e += 2) {
    g_autofree char *f = g_strdup_printf ("%s/%s.pipeline", tdir, e[0]);
    CU_ASSERT_TRUE (g_file_set_contents (f, e[1], -1, NULL));
  }
  return g_steal_pointer (&tdir);
}

static void
test_job_limits (void)
{
  static const char *const slow[] = {
    "slow-job",
    "[template]\ndescription = A job that plays its input in real time\n"
    "launch = filesrc location=${input} ! decodebin ! audioconvert ! level post-messages=true ! fakesink sync=true\n"
    "job = true\njob-input = input\nmessages = level\nrestart = never\n"
    "[param input]\ntype = path\naccess = read\n",
    NULL,
  };
  g_autofree char *tdir = limits_templates (slow);
  NervedProc *p = api_start_config (tdir, "[nerved]\njob-timeout = 1\njob-max-results = 5\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wdir = g_build_filename (api_tmp_root, "limits", NULL);
  g_mkdir (wdir, 0700);

  /* 1 s at one level message per 10 ms: 100 messages, 5 kept */
  g_autofree char *wav1 = api_write_tone_wav (wdir, 1.0);
  g_autofree char *data1 = NULL;
  gsize len1 = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (wav1, &data1, &len1, NULL));
  g_autoptr (NervedReply) r = nerved_request (p, "POST", "/v1/jobs?template=level-job&wait=1&interval=10000000",
      "audio/wav", data1, len1, NULL);
  CU_ASSERT_EQUAL (r->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r, "state"), "done");
  JsonObject *o = nerved_reply_object (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (o, "results")), 5);
  CU_ASSERT_TRUE (json_object_get_boolean_member_with_default (o, "truncated", FALSE));
  /* the first five, in order */
  JsonObject *last = json_array_get_object_element (json_object_get_array_member (o, "results"), 4);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (last, "name"), "level");
  /* the output is complete all the same */
  g_autofree char *out_path = g_strdup_printf ("/v1/jobs/%s/output", nerved_reply_string (r, "id"));
  g_autoptr (NervedReply) out = api_get (p, out_path);
  CU_ASSERT_EQUAL (api_wav_data_size ((const guchar *) out->text, out->len), 32000);
  /* under the cap: not truncated */
  g_autoptr (NervedReply) r2 = nerved_request (p, "POST", "/v1/jobs?template=level-job&wait=1&interval=500000000",
      "audio/wav", data1, len1, NULL);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (r2, "state"), "done");
  JsonObject *o2 = nerved_reply_object (r2);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o2);
  const guint n2 = json_array_get_length (json_object_get_array_member (o2, "results"));
  CU_ASSERT (n2 >= 2 && n2 <= 3);
  CU_ASSERT_TRUE (json_object_has_member (o2, "truncated") && !json_object_get_boolean_member (o2, "truncated"));

  /* 5 s played in real time: fails after job-timeout = 1 s, its pipeline torn down */
  g_autofree char *wav5 = api_write_tone_wav (wdir, 5.0);
  g_autofree char *data5 = NULL;
  gsize len5 = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (wav5, &data5, &len5, NULL));
  const gint64 t0 = g_get_monotonic_time ();
  g_autoptr (NervedReply) t = nerved_request (p, "POST", "/v1/jobs?template=slow-job&wait=1", "audio/wav", data5, len5,
      NULL);
  const double took = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  CU_ASSERT_EQUAL (t->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (t, "state"), "failed");
  JsonObject *to = nerved_reply_object (t);
  CU_ASSERT_PTR_NOT_NULL_FATAL (to);
  JsonObject *err = json_object_get_object_member (to, "error");
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  const char *msg = json_object_get_string_member (err, "message");
  CU_ASSERT (msg && strstr (msg, "job-timeout (1 s)"));
  CU_ASSERT (took >= 0.9 && took < 4.5);
  const double dur = json_object_get_double_member (to, "duration_s");
  CU_ASSERT (dur >= 0.9 && dur < 4.5);
  if (!msg || !strstr (msg, "job-timeout") || took >= 4.5)
    fprintf (stderr, "  timed-out job after %.2f s: %s\n", took, t->text);
  /* what came before the stop is kept (job-max-results still applies) */
  const guint n_results = json_array_get_length (json_object_get_array_member (to, "results"));
  CU_ASSERT (n_results >= 1 && n_results <= 5);
  g_autofree char *job_path = g_strdup_printf ("/v1/jobs/%s", nerved_reply_string (t, "id"));
  g_autoptr (NervedReply) again = api_get (p, job_path);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (again, "state"), "failed");
  g_autoptr (NervedReply) m = api_get (p, "/metrics");
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"failed\"} 1\n") != NULL);
  CU_ASSERT (strstr (m->text, "nerved_jobs_total{state=\"done\"} 2\n") != NULL);
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "msg=\"job results truncated\"") != NULL);
  api_stop (p);

  /* bad values are refused at start with the key named */
  g_autofree char *bad = api_write_file ("bad.conf", "[nerved]\njob-timeout = 0\n");
  const char *bargs[] = { "--config", bad, "--templates", tdir, "--listen", "127.0.0.1:0", NULL };
  g_autofree char *berr = NULL;
  const int st = nerved_run_expect_exit (bargs, 30000, &berr);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) != 0);
  CU_ASSERT (berr && strstr (berr, "job-timeout") && strstr (berr, "more than 0"));
}

/* /healthz says 503 {"status":"draining"} while a drain waits on a pipeline whose EOS is
 * held back (an hour of timestamp offset before a synced sink); the stop timeout ends it. */
static void
test_health_draining (void)
{
  static const char *const stuck[] = {
    "stuck",
    "[template]\ndescription = EOS never reaches the sink in time\n"
    "launch = audiotestsrc timestamp-offset=3600000000000 ! fakesink sync=true\nrestart = never\n",
    NULL,
  };
  g_autofree char *tdir = limits_templates (stuck);
  NervedProc *p = api_start_config (tdir, "[nerved]\nstop-timeout-ms = 1500\ndrain-timeout-ms = 20000\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *id = api_create (p, "{\"template\": \"stuck\", \"id\": \"stuck\"}");
  CU_ASSERT_PTR_NOT_NULL (id);
  CU_ASSERT_TRUE (api_wait_state (p, "stuck", "playing"));
  g_autoptr (NervedReply) h0 = api_get (p, "/healthz");
  CU_ASSERT_EQUAL (h0->status, 200);
  CU_ASSERT_STRING_EQUAL (nerved_reply_string (h0, "status"), "ok");

  const gint64 t0 = g_get_monotonic_time ();
  kill (p->pid, SIGTERM);
  const gint64 deadline = t0 + WAIT_MS * 1000;
  guint status = 0;
  g_autofree char *body = NULL;
  while (g_get_monotonic_time () < deadline) {
    g_autoptr (NervedReply) h = api_get (p, "/healthz");
    if (h->status == 503) {
      status = h->status;
      body = g_strdup (nerved_reply_string (h, "status"));
      break;
    }
    g_usleep (10000);
  }
  CU_ASSERT_EQUAL (status, 503);
  CU_ASSERT (body && !strcmp (body, "draining"));
  /* new work is refused meanwhile */
  g_autoptr (NervedReply) c = api_post (p, "/v1/pipelines", "{\"template\": \"stuck\"}");
  CU_ASSERT_EQUAL (c->status, 503);
  /* no second signal: the drain ends by itself once the stop timeout gives up */
  const int st = nerved_proc_stop (p, 0, 20000);
  const double took = (double) (g_get_monotonic_time () - t0) / G_USEC_PER_SEC;
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0);
  CU_ASSERT (took >= 1.4);
  g_autofree char *log = nerved_proc_log (p);
  CU_ASSERT (strstr (log, "msg=drained") != NULL);
  if (st == -1 || !WIFEXITED (st) || WEXITSTATUS (st) || took < 1.4)
    fprintf (stderr, "  drain: status %d after %.2f s, log:\n%s\n", st, took, log);
  nerved_proc_free (p);
}


NERVE_TEST_MAIN ("nerved-jobs",
    { "jobs", test_jobs },
    { "SIGTERM drains", test_drain },
    { "SIGHUP reload", test_reload },
    { "job-timeout and job-max-results", test_job_limits },
    { "/healthz answers 503 draining during a slow drain", test_health_draining },
    { "cleanup", api_cleanup })

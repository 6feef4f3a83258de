/* nerved API, the longer-running parts: jobs (upload, results, output, retention), the
 * SIGTERM drain (EOS reaches wavenc, which fixes its WAV header) and the SIGHUP reload. */
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "nerved-api-check.h"

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
  NervedProc *p = api_start (NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autofree char *wav = write_tone_wav (api_tmp_root, 1.0);
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


NERVE_TEST_MAIN ("nerved-jobs",
    { "jobs", test_jobs },
    { "SIGTERM drains", test_drain },
    { "SIGHUP reload", test_reload },
    { "cleanup", api_cleanup })

/* CUnit helpers shared by the nerved API suites (see nerved-api-check.h). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <glib/gstdio.h>

#include "check.h"
#include "nerved-api-check.h"

char *api_tmp_root;

const char *
api_data_dir (void)
{
  static char *d;
  if (!d)
    d = g_build_filename (api_tmp_root, "data", NULL);
  return d;
}

void
api_setup_dirs (void)
{
  if (api_tmp_root)
    return;
  api_tmp_root = g_dir_make_tmp ("nerved-api-XXXXXX", NULL);
  g_autofree char *spool = g_build_filename (api_tmp_root, "spool", NULL);
  g_mkdir (api_data_dir (), 0700);
  g_mkdir (spool, 0700);
}

/* nerved with the fixture templates, the suite's data root and spool, plus extra args. */
NervedProc *
api_start_with (const char *templates, const char *const *extra)
{
  api_setup_dirs ();
  g_autofree char *spool = g_build_filename (api_tmp_root, "spool", NULL);
  g_autoptr (GPtrArray) a = g_ptr_array_new ();
  g_ptr_array_add (a, "--templates");
  g_ptr_array_add (a, (gpointer) templates);
  g_ptr_array_add (a, "--data-root");
  g_ptr_array_add (a, (gpointer) api_data_dir ());
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

NervedProc *
api_start (const char *const *extra)
{
  g_autofree char *t = nerve_test_path ("tests/fixtures/templates");
  return api_start_with (t, extra);
}

char *
api_write_file (const char *name, const char *text)
{
  api_setup_dirs ();
  char *path = g_build_filename (api_tmp_root, name, NULL);
  CU_ASSERT_TRUE (g_file_set_contents (path, text, -1, NULL));
  return path;
}

NervedProc *
api_start_config (const char *templates, const char *conf_text)
{
  static guint n;
  g_autofree char *name = g_strdup_printf ("nerved-%u.conf", n++);
  g_autofree char *conf = api_write_file (name, conf_text);
  g_autofree char *fixtures = nerve_test_path ("tests/fixtures/templates");
  const char *extra[] = { "--config", conf, NULL };
  return api_start_with (templates ? templates : fixtures, extra);
}

/* Stops with SIGTERM and checks the clean exit. */
void
api_stop (NervedProc *p)
{
  const int st = nerved_proc_stop (p, SIGTERM, 30000);
  CU_ASSERT (st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0);
  if (!(st != -1 && WIFEXITED (st) && WEXITSTATUS (st) == 0)) {
    g_autofree char *log = nerved_proc_log (p);
    fprintf (stderr, "  nerved exit status %d; log:\n%s\n", st, log);
  }
  nerved_proc_free (p);
}

NervedReply *
api_post (NervedProc *p, const char *path, const char *json)
{
  return nerved_request_json (p, "POST", path, json);
}

NervedReply *
api_get (NervedProc *p, const char *path)
{
  return nerved_request (p, "GET", path, NULL, NULL, 0, NULL);
}

/* Creates a pipeline and checks 201; returns its id (or NULL). */
char *
api_create (NervedProc *p, const char *json)
{
  g_autoptr (NervedReply) r = api_post (p, "/v1/pipelines", json);
  CU_ASSERT_EQUAL (r->status, 201);
  if (r->status != 201) {
    fprintf (stderr, "  api_create %s: %u %s\n", json, r->status, r->text);
    return NULL;
  }
  const char *id = nerved_reply_string (r, "id");
  CU_ASSERT_PTR_NOT_NULL (id);
  g_autofree char *loc = g_strdup_printf ("/v1/pipelines/%s", id);
  CU_ASSERT_STRING_EQUAL (soup_message_headers_get_one (r->headers, "Location"), loc);
  return g_strdup (id);
}

gint64
api_status_int (NervedProc *p, const char *id, const char *member)
{
  g_autofree char *path = g_strdup_printf ("/v1/pipelines/%s", id);
  g_autoptr (NervedReply) r = api_get (p, path);
  return nerved_reply_int (r, member, -1);
}

gboolean
api_wait_state (NervedProc *p, const char *id, const char *state)
{
  g_autofree char *path = g_strdup_printf ("/v1/pipelines/%s", id);
  const gboolean ok = nerved_wait_field (p, path, "state", state, WAIT_MS);
  if (!ok) {
    g_autoptr (NervedReply) r = api_get (p, path);
    fprintf (stderr, "  %s never reached %s: %s\n", id, state, r->text);
  }
  return ok;
}

void
api_expect_error (NervedReply *r, guint status, const char *code, const char *message_has)
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

void
api_post_expect_error (NervedProc *p, const char *path, const char *json, guint status, const char *code,
    const char *message_has)
{
  g_autoptr (NervedReply) r = api_post (p, path, json);
  api_expect_error (r, status, code, message_has);
}

char *
api_write_tone_wav (const char *dir, double seconds)
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

void
api_rm_rf (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR) && !g_file_test (path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name (d))) {
      g_autofree char *c = g_build_filename (path, n, NULL);
      api_rm_rf (c);
    }
  }
  g_remove (path);
}

guint32
api_le32 (const guchar *b)
{
  return b[0] | (b[1] << 8) | (b[2] << 16) | ((guint32) b[3] << 24);
}

/* A WAV whose RIFF size and chunk walk both end exactly at n: the header was fixed at EOS.
 * Returns the "data" chunk size (0 when the file is not consistent). */
guint32
api_wav_data_size (const guchar *b, gsize n)
{
  if (n < 44 || memcmp (b, "RIFF", 4) || memcmp (b + 8, "WAVE", 4) || api_le32 (b + 4) != n - 8)
    return 0;
  gsize off = 12;
  guint32 data = 0;
  while (off + 8 <= n) {
    const guint32 sz = api_le32 (b + off + 4);
    if (!memcmp (b + off, "data", 4))
      data = sz;
    off += 8 + (gsize) sz + (sz & 1);
  }
  return off == n ? data : 0;
}


void
api_cleanup (void)
{
  if (!api_tmp_root)
    return;
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", api_tmp_root);
  CU_ASSERT_EQUAL (system (cmd), 0);
}


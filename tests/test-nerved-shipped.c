/* The templates nerved ships (pipelines/templates): they load, the available ones render
 * into launch lines that gst_parse_launch builds, the ones for elements still to come are
 * listed as unavailable, and denoise-file and sentiment-file really run. */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <string.h>

#include "check.h"
#include "nerved-api-check.h"
#include "nerved-error.h"
#include "nerved-template.h"

static char *dir;
static GHashTable *templates;

static const NervedTemplate *
get (const char *name)
{
  const NervedTemplate *t = g_hash_table_lookup (templates, name);
  if (!t)
    fprintf (stderr, "  template %s not loaded\n", name);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  return t;
}

static char *
render (const NervedTemplate *t, const char *params, GHashTable *trusted, GError **error)
{
  g_autoptr (JsonNode) n = json_from_string (params, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (n);
  g_autofree char *fixtures = nerve_test_path ("tests/fixtures");
  const char *roots[] = { dir, fixtures, NULL };
  return nerved_template_render (t, json_node_get_object (n), roots, trusted, NULL, error);
}

/* Runs a launch line to EOS (60 s at most). */
static gboolean
run (const char *launch)
{
  g_autoptr (GError) e = NULL;
  GstElement *p = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
  if (!p) {
    fprintf (stderr, "  %s: %s\n", launch, e->message);
    return FALSE;
  }
  gst_element_set_state (p, GST_STATE_PLAYING);
  g_autoptr (GstBus) bus = gst_element_get_bus (p);
  GstMessage *msg = gst_bus_timed_pop_filtered (bus, 60 * GST_SECOND, GST_MESSAGE_EOS | GST_MESSAGE_ERROR);
  gboolean ok = msg && GST_MESSAGE_TYPE (msg) == GST_MESSAGE_EOS;
  if (msg && !ok) {
    g_autofree char *dbg = NULL;
    gst_message_parse_error (msg, &e, &dbg);
    fprintf (stderr, "  pipeline error: %s (%s)\n", e->message, dbg ? dbg : "");
  }
  gst_clear_message (&msg);
  gst_element_set_state (p, GST_STATE_NULL);
  gst_object_unref (p);
  return ok;
}

static gsize
file_size (const char *path)
{
  GStatBuf st;
  return g_stat (path, &st) == 0 ? (gsize) st.st_size : 0;
}

static void
test_all_load (void)
{
  CU_ASSERT_EQUAL (g_hash_table_size (templates), 5);
  const char *available[] = { "denoise-file", "sentiment-file", "denoise-rtp" };
  for (guint i = 0; i < G_N_ELEMENTS (available); i++) {
    const NervedTemplate *t = get (available[i]);
    if (t->missing)
      fprintf (stderr, "  %s misses %s\n", t->name, t->missing[0]);
    CU_ASSERT_PTR_NULL (t->missing);
    CU_ASSERT_PTR_NOT_NULL (t->description);
  }
  const char *later[][2] = { { "asr-file", "nerveasr" }, { "caption-file", "nervecaption" } };
  for (guint i = 0; i < G_N_ELEMENTS (later); i++) {
    const NervedTemplate *t = get (later[i][0]);
    CU_ASSERT_TRUE (t->missing && g_strv_length (t->missing) == 1 && g_str_equal (t->missing[0], later[i][1]));
    g_autoptr (JsonObject) j = nerved_template_to_json (t);
    CU_ASSERT_FALSE (json_object_get_boolean_member (j, "available"));
    CU_ASSERT_STRING_EQUAL (json_array_get_string_element (json_object_get_array_member (j, "missing"), 0), later[i][1]);
    CU_ASSERT_TRUE (t->job);
  }
  CU_ASSERT_TRUE (get ("denoise-file")->job && get ("sentiment-file")->job && !get ("denoise-rtp")->job);
  CU_ASSERT_EQUAL (get ("denoise-rtp")->restart, NERVED_RESTART_ON_FAILURE);
  CU_ASSERT_STRING_EQUAL (get ("denoise-file")->job_output, "output");
}

static void
test_available_parse (void)
{
  g_autofree char *text = g_build_filename (dir, "in.txt", NULL);
  g_file_set_contents (text, "Great.\n", -1, NULL);
  const char *cases[][2] = {
    { "denoise-file", "{\"input\": \"denoise-noisy.flac\", \"output\": \"out.wav\", \"mix\": 0.5}" },
    { "sentiment-file", "{\"input\": \"in.txt\", \"output\": \"out.jsonl\", \"segment\": \"sentence\"}" },
    { "denoise-rtp", "{\"in-port\": 5998, \"host\": \"localhost\", \"out-port\": \"5999\", \"latency\": 20}" },
    { "denoise-rtp", "{}" },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autoptr (GError) e = NULL;
    g_autofree char *fixture = nerve_test_path ("tests/fixtures/denoise-noisy.flac");
    /* relative input paths resolve in the first root: give the fixture by its full path */
    g_autofree char *params = NULL;
    if (strstr (cases[i][1], "denoise-noisy.flac")) {
      g_auto (GStrv) parts = g_strsplit (cases[i][1], "denoise-noisy.flac", 2);
      params = g_strconcat (parts[0], fixture, parts[1], NULL);
    } else
      params = g_strdup (cases[i][1]);
    g_autofree char *launch = render (get (cases[i][0]), params, NULL, &e);
    if (!launch)
      fprintf (stderr, "  %s: %s\n", cases[i][0], e->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL (launch);
    GstElement *p = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
    if (!p)
      fprintf (stderr, "  %s: %s\n", launch, e->message);
    CU_ASSERT_PTR_NOT_NULL (p);
    g_clear_pointer (&p, gst_object_unref);
  }
  g_autoptr (GError) e = NULL;
  g_autofree char *r = render (get ("denoise-rtp"), "{\"host\": \"a;b\"}", NULL, &e);
  CU_ASSERT_TRUE (!r && e && g_str_has_prefix (e->message, "host: "));
  g_clear_error (&e);
  g_autofree char *r2 = render (get ("denoise-rtp"), "{\"out-port\": 70000}", NULL, &e);
  CU_ASSERT_TRUE (!r2 && e && g_str_has_prefix (e->message, "out-port: "));
}

static void
test_denoise_file_runs (void)
{
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/denoise-noisy.flac");
  g_autofree char *out = g_build_filename (dir, "denoised.wav", NULL);
  /* as a job: the daemon fills input and output, the client only the tuning */
  g_autoptr (GHashTable) trusted = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (trusted, "input", fixture);
  g_hash_table_insert (trusted, "output", out);
  g_autoptr (GError) e = NULL;
  g_autofree char *refused = render (get ("denoise-file"), "{\"input\": \"x.flac\"}", trusted, &e);
  CU_ASSERT_TRUE (!refused && e && g_str_has_prefix (e->message, "input: "));
  g_clear_error (&e);
  g_autofree char *launch = render (get ("denoise-file"), "{\"attenuation-limit\": \"30\"}", trusted, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (launch);
  CU_ASSERT_TRUE (run (launch));
  gsize n = file_size (out);
  CU_ASSERT_TRUE (n > 44 + 16000); /* a WAV header and more than half a second of 16-bit audio */
  g_autofree char *wav = NULL;
  CU_ASSERT_TRUE (g_file_get_contents (out, &wav, NULL, NULL) && memcmp (wav, "RIFF", 4) == 0);
}

static void
test_sentiment_file_runs (void)
{
  g_autofree char *in = g_build_filename (dir, "reviews.txt", NULL);
  g_autofree char *out = g_build_filename (dir, "reviews.jsonl", NULL);
  g_file_set_contents (in, "I loved this film, wonderful acting.\nTerrible, boring and far too long.\n", -1, NULL);
  g_autoptr (GError) e = NULL;
  g_autofree char *launch = render (get ("sentiment-file"), "{\"input\": \"reviews.txt\", \"output\": \"reviews.jsonl\"}",
                                    NULL, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (launch);
  CU_ASSERT_TRUE (run (launch));
  g_autofree char *json = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (out, &json, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (g_strstrip (json), "\n", -1);
  CU_ASSERT_EQUAL_FATAL (g_strv_length (lines), 2);
  for (int i = 0; lines[i]; i++) {
    g_autoptr (JsonNode) n = json_from_string (lines[i], NULL);
    CU_ASSERT_TRUE (n && JSON_NODE_HOLDS_OBJECT (n) && json_object_has_member (json_node_get_object (n), "label"));
  }
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_autofree char *models = nerve_test_path ("models");
  g_setenv ("NERVE_MODEL_PATH", models, TRUE);
  dir = g_dir_make_tmp ("nerved-shipped-XXXXXX", NULL);
  g_autofree char *tdir = nerve_test_path ("pipelines/templates");
  const char *dirs[] = { tdir, NULL };
  g_autoptr (GError) e = NULL;
  templates = nerved_templates_load_dirs (dirs, &e);
  if (!templates) {
    fprintf (stderr, "%s\n", e->message);
    return 1;
  }
  static const TestCase tests[] = {
    { "every shipped template loads; asr and caption wait for their elements", test_all_load },
    { "the available templates render into launch lines that parse", test_available_parse },
    { "denoise-file denoises the noisy fixture into a WAV file", test_denoise_file_runs },
    { "sentiment-file writes one JSON line per review", test_sentiment_file_runs },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("nerved-shipped", tests);
  g_hash_table_unref (templates);
  api_rm_rf (dir);
  g_free (dir);
  return failed ? 1 : 0;
}

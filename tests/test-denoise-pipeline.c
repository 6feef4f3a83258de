/* nervedenoise in real pipelines: the default model lookup, 100 state cycles with and
 * without data, filesrc ! decodebin ! audioconvert ! audioresample ! nervedenoise !
 * wavenc ! filesink on the committed speech fixture (tests/gen/denoise-fixture.sh) with
 * the test model, the trained model, and DTLN and RNNoise imported from the shared data
 * (SI-SDR gain, zero lag, recovery after NaN), and the documented launch lines. */
#include <math.h>
#include <string.h>

#include "audio-metrics.h"
#include "audiofile.h"
#include "check.h"
#include "denoise-harness.h"
#include "denoise.h"
#include "import-dtln.h"
#include "import-rnnoise.h"
#include "nerve.h"

static char *dir, *model_path, *model48_path;
/* the committed fixture: espeak-ng speech plus seeded noise, and the clean speech, 16 kHz */
static char *noisy_fixture, *clean_fixture;
static void
test_default_model (void)
{
  g_autofree char *empty = g_build_filename (dir, "empty-models", NULL);
  g_autofree char *models = g_build_filename (dir, "models", "denoise", NULL);
  g_mkdir_with_parents (empty, 0700);
  g_mkdir_with_parents (models, 0700);
  g_setenv ("NERVE_MODEL_PATH", empty, TRUE);
  if (!g_file_test (NERVE_DEFAULT_DENOISE_MODEL, G_FILE_TEST_EXISTS))
    expect_no_model ("nervedenoise", GST_STATE_READY);
  /* <dir>/denoise/denoise.nerve in a NERVE_MODEL_PATH directory is found */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  g_file_get_contents (model48_path, &bytes, &len, NULL);
  g_autofree char *found = g_build_filename (models, "denoise.nerve", NULL);
  g_file_set_contents (found, bytes, (gssize) len, NULL);
  g_autofree char *parent = g_path_get_dirname (models);
  g_autofree char *search = g_strjoin (G_SEARCHPATH_SEPARATOR_S, empty, parent, NULL);
  g_setenv ("NERVE_MODEL_PATH", search, TRUE);
  GstHarness *h = gst_harness_new_parse ("nervedenoise");
  gst_harness_set_src_caps_str (h, "audio/x-raw, format=F32LE, layout=interleaved, channels=1, rate=48000");
  float zeros[1024] = { 0 };
  gst_harness_push (h, audio_buffer (zeros, 1024, FALSE, 0, 0, 48000));
  push_eos (h);
  Output o = { 0 };
  pull_output (h, &o, FALSE, 0, 0, 48000);
  CU_ASSERT_EQUAL (o.n, 1024);
  CU_ASSERT_EQUAL (o.bad_timing, 0);
  g_free (o.x);
  gst_harness_teardown (h);
  g_unsetenv ("NERVE_MODEL_PATH");
}

static void
test_state_cycles (void)
{
  GstElement *e = gst_element_factory_make ("nervedenoise", NULL);
  g_object_set (e, "model", model_path, NULL);
  for (int i = 0; i < 100; i++) {
    CU_ASSERT_EQUAL (gst_element_set_state (e, GST_STATE_PLAYING), GST_STATE_CHANGE_SUCCESS);
    CU_ASSERT_EQUAL (gst_element_set_state (e, i % 2 ? GST_STATE_NULL : GST_STATE_READY), GST_STATE_CHANGE_SUCCESS);
  }
  gst_element_set_state (e, GST_STATE_NULL);
  gst_object_unref (e);
  /* and 100 runs with data, stopped at EOS or halfway */
  g_autofree char *desc = g_strdup_printf ("audiotestsrc num-buffers=20 samplesperbuffer=333 wave=pink-noise ! "
                                           "audio/x-raw,rate=16000,channels=1,format=S16LE ! nervedenoise model=\"%s\" "
                                           "! fakesink sync=false",
                                           model_path);
  check_pipeline_cycles (desc);
}

/* The trained model: NERVE_DENOISE_MODEL, else models/denoise/denoise.nerve; NULL
 * (the caller skips) when neither exists. */
static char *
trained_model (void)
{
  const char *env = g_getenv ("NERVE_DENOISE_MODEL");
  if (env && *env)
    return g_file_test (env, G_FILE_TEST_IS_REGULAR) ? g_strdup (env) : NULL;
  char *p = nerve_test_path ("models/denoise/denoise.nerve");
  if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
    return p;
  g_free (p);
  return NULL;
}

/* Samples of a 16-bit mono WAV file as float (NULL when it is not one). */
static float *
read_wav16 (const char *path, gsize *n, int *rate)
{
  g_autofree guint8 *d = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, (char **) &d, &len, NULL) || len < 12 || memcmp (d, "RIFF", 4) || memcmp (d + 8, "WAVE", 4))
    return NULL;
  int bits = 0, channels = 0;
  for (gsize at = 12; at + 8 <= len;) {
    const guint32 size = GUINT32_FROM_LE (*(guint32 *) (gpointer) (d + at + 4));
    if (!memcmp (d + at, "fmt ", 4) && size >= 16) {
      channels = GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 10));
      *rate = (int) GUINT32_FROM_LE (*(guint32 *) (gpointer) (d + at + 12));
      bits = GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 22));
    } else if (!memcmp (d + at, "data", 4) && bits == 16 && channels == 1) {
      *n = MIN (size, len - at - 8) / 2;
      float *x = g_new (float, *n);
      for (gsize i = 0; i < *n; i++)
        x[i] = (gint16) GUINT16_FROM_LE (*(guint16 *) (gpointer) (d + at + 8 + 2 * i)) / 32768.0f;
      return x;
    }
    at += 8 + size + (size & 1);
  }
  return NULL;
}


/* filesrc ! decodebin ! audioconvert ! audioresample ! nervedenoise ! wavenc ! filesink */
static float *
denoise_file (const char *model, const char *props, gsize *n, int *rate)
{
  g_autofree char *out = g_build_filename (dir, "enhanced.wav", NULL);
  remove (out);
  g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! audioconvert ! audioresample ! "
                                           "nervedenoise model=\"%s\" %s ! wavenc ! filesink location=\"%s\"",
                                           noisy_fixture, model, props ? props : "", out);
  GstElement *p = gst_parse_launch (desc, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE (run_pipeline (p, &err));
  if (err)
    fprintf (stderr, "  pipeline error: %s\n", err->message);
  gst_object_unref (p);
  return read_wav16 (out, n, rate);
}

/* The file pipeline with the random test model: same length, and mix=0 gives the
 * decoded input back sample for sample (nothing shifted, nothing dropped). */
static void
test_file_pipeline (void)
{
  gsize nc = 0, n0 = 0, n1 = 0;
  int rc = 0, r0 = 0, r1 = 0;
  g_autofree float *noisy = NULL;
  {
    g_autofree char *out = g_build_filename (dir, "decoded.wav", NULL);
    g_autofree char *desc = g_strdup_printf ("filesrc location=\"%s\" ! decodebin ! audioconvert ! "
                                             "audio/x-raw,format=S16LE ! wavenc ! filesink location=\"%s\"",
                                             noisy_fixture, out);
    GstElement *p = gst_parse_launch (desc, NULL);
    CU_ASSERT_TRUE (run_pipeline (p, NULL));
    gst_object_unref (p);
    noisy = read_wav16 (out, &nc, &rc);
  }
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  CU_ASSERT_EQUAL (rc, RATE);
  g_autofree float *y0 = denoise_file (model_path, "mix=0", &n0, &r0);
  g_autofree float *y1 = denoise_file (model_path, NULL, &n1, &r1);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y0);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y1);
  CU_ASSERT_EQUAL (r0, RATE);
  CU_ASSERT_EQUAL_FATAL (n0, nc);
  CU_ASSERT_EQUAL (n1, nc);
  CU_ASSERT (max_abs_diff (y0, noisy, nc) <= 1.0 / 32768);
  CU_ASSERT_EQUAL (gst_warning_count (), 0);
}

/* A real model on the committed speech fixture: the pipeline's output has a higher
 * SI-SDR against the clean speech than its input, as it comes out (the element removes
 * its latency: no lag); and 1 s after 100 ms of NaN/Inf/huge samples the enhancement
 * is as good as without them. */
static void
check_real_model (const char *model)
{
  g_autoptr (GError) err = NULL;
  gsize n = 0;
  g_autoptr (NerveModel) m = nerve_model_load (model, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const int rate = nerve_denoiser_rate (d);
  g_autofree float *clean = nerve_audio_read_at (clean_fixture, rate, &n, &err);
  g_autofree float *noisy = nerve_audio_read_at (noisy_fixture, rate, &n, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (clean);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noisy);
  gsize ny = 0;
  int ry = 0;
  g_autofree float *y = denoise_file (model, NULL, &ny, &ry);
  CU_ASSERT_PTR_NOT_NULL_FATAL (y);
  CU_ASSERT_EQUAL (ry, rate);
  CU_ASSERT (ny + 2 >= n && ny <= n + 2); /* audioresample may round the length by a sample */
  const gsize len = MIN (n, ny);
  const double in = nerve_si_sdr (noisy, clean, len), out = nerve_si_sdr (y, clean, len);
  const int lag = nerve_audio_delay (y, clean, len, rate / 50);
  printf ("  %s (%s, %d Hz): SI-SDR %.2f dB -> %.2f dB (%+.2f), output lag %d samples\n", model,
          nerve_denoiser_frontend (d), rate, in, out, out - in, lag);
  CU_ASSERT (out > in);
  CU_ASSERT (lag <= 1);

  /* recovery after garbage at 0.5 s, on the noisy speech */
  g_autofree float *bad = g_memdup2 (noisy, n * sizeof (float));
  const gsize g0 = (gsize) rate / 2, g1 = g0 + (gsize) rate / 10;
  for (gsize i = g0; i < g1; i++)
    bad[i] = (float[]) { NAN, INFINITY, -INFINITY, 1e30f } [i % 4];
  static const gsize sizes[] = { 480 };
  Output ob = { 0 }, ox = { 0 };
  run_model_at (model, NULL, bad, n, sizes, 1, FALSE, rate, &ob);
  run_model_at (model, NULL, noisy, n, sizes, 1, FALSE, rate, &ox);
  CU_ASSERT_EQUAL_FATAL (ob.n, n);
  CU_ASSERT_EQUAL_FATAL (ox.n, n);
  CU_ASSERT_TRUE (all_finite (ob.x, n));
  /* recurrent models (DTLN's LSTMs most) remember any 100 ms event for seconds, so the
   * check is on quality, not on equality: from 1 s after the burst on, the output is as
   * close to the clean speech as the undisturbed output is (within 1 dB of SI-SDR) */
  const gsize from = g1 + (gsize) rate;
  const double q_in = nerve_si_sdr (noisy + from, clean + from, n - from);
  const double q_ok = nerve_si_sdr (ox.x + from, clean + from, n - from);
  const double q_bad = nerve_si_sdr (ob.x + from, clean + from, n - from);
  printf ("  from 1 s after 100 ms of NaN/Inf/1e30: SI-SDR %.2f dB (undisturbed %.2f dB, input %.2f dB)\n", q_bad,
          q_ok, q_in);
  CU_ASSERT (q_bad > q_ok - 1.0);
  CU_ASSERT (q_bad > q_in);
  g_free (ob.x);
  g_free (ox.x);
}

/* The trained model (NERVE_DENOISE_MODEL or models/denoise/denoise.nerve). */
static void
test_trained_model (void)
{
  g_autofree char *model = trained_model ();
  if (!model) {
    nerve_test_skip ("no trained model (set NERVE_DENOISE_MODEL or add models/denoise/denoise.nerve)");
    return;
  }
  check_real_model (model);
}

/* DTLN and RNNoise imported from the shared data's pretrained weights (nerve import). */
static void
test_imported_models (void)
{
  int ran = 0;
  for (int k = 0; k < 2; k++) {
    g_autofree char *src = nerve_test_data_path (k ? "pretrained/rnnoise/sh.rnnn" : "pretrained/dtln");
    if (!src)
      continue;
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveModel) m = k ? nerve_import_rnnoise (src, &err) : nerve_import_dtln (src, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (m);
    g_autofree char *path = g_build_filename (dir, k ? "rnnoise-sh.nerve" : "dtln.nerve", NULL);
    CU_ASSERT_TRUE_FATAL (nerve_model_save (m, path, &err));
    check_real_model (path);
    ran++;
  }
  if (ran)
    CU_ASSERT_EQUAL (ran, 2);
}

/* Every gst-launch-1.0 line in the element's documentation runs as written, with the
 * example files replaced by the fixture, the test model and a temporary output. */
static void
test_documented_launch_lines (void)
{
  g_autofree char *out = g_build_filename (dir, "enhanced.wav", NULL);
  g_autofree char *code = element_doc_block ("plugins/gstnervedenoise.c");
  g_autofree char *md_path = nerve_test_path ("docs/elements/nervedenoise.md");
  g_autofree char *md = NULL;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (md_path, &md, NULL, NULL));
  g_autofree char *all = g_strconcat (code, "\n", md, NULL);
  g_auto (GStrv) lines = g_strsplit (all, "\n", -1);
  int ran = 0;
  for (char **l = lines; *l; l++) {
    char *cmd = strstr (*l, "gst-launch-1.0 ");
    if (!cmd || (strncmp (*l, " * gst-launch-1.0", 17) != 0 && strncmp (*l, "gst-launch-1.0", 14) != 0))
      continue;
    if (strstr (cmd, "autoaudiosrc")) /* the live example needs a sound card */
      continue;
    g_autofree char *line = launch_line_with_files (cmd, "noisy.flac", noisy_fixture, "denoise.nerve", model_path,
                                                    "enhanced.wav", out);
    g_autofree char *sout = NULL;
    remove (out);
    CU_ASSERT_TRUE (run_launch_line (line, &sout));
    if (strstr (cmd, "enhanced.wav"))
      CU_ASSERT_TRUE (g_file_test (out, G_FILE_TEST_IS_REGULAR));
    if (strstr (cmd, " -m "))
      CU_ASSERT_PTR_NOT_NULL (strstr (sout, "nervedenoise, voice-probability="));
    ran++;
  }
  CU_ASSERT_EQUAL (ran, 6); /* 3 in the element's doc block, 3 in docs/elements/nervedenoise.md */
}

int
main (int argc, char **argv)
{
  element_suite_init (&argc, &argv);
  dir = g_dir_make_tmp ("nerve-denoise-pl-XXXXXX", NULL);
  model_path = write_mask_model (dir, "mask16.nerve", RATE, STFT_SIZE, STFT_HOP, NAN, 1);
  model48_path = write_mask_model (dir, "mask48.nerve", 48000, 960, 480, NAN, 2);
  if (!model_path || !model48_path)
    return 1;
  noisy_fixture = nerve_test_path ("tests/fixtures/denoise-noisy.flac");
  clean_fixture = nerve_test_path ("tests/fixtures/denoise-clean.flac");
  static const TestCase tests[] = {
    { "default model from NERVE_MODEL_PATH", test_default_model },
    { "100 state cycles, with and without data", test_state_cycles },
    { "filesrc ! decodebin ! audioconvert ! audioresample ! nervedenoise ! wavenc ! filesink", test_file_pipeline },
    { "trained model: pipeline SI-SDR gain, aligned output, recovery after NaN", test_trained_model },
    { "imported DTLN and RNNoise: pipeline SI-SDR gain, aligned output, recovery after NaN", test_imported_models },
    { "the documented gst-launch-1.0 lines run", test_documented_launch_lines },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("denoise-pipeline", tests);
  if (g_getenv ("NERVE_TEST_KEEP")) /* the test models stay for debugging */
    printf ("test files kept in %s\n", dir);
  else
    cleanup_dir (dir);
  g_free (dir);
  g_free (model_path);
  g_free (model48_path);
  g_free (noisy_fixture);
  g_free (clean_fixture);
  gst_deinit ();
  return failed ? 1 : 0;
}

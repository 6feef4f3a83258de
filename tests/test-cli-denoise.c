/* `nerve denoise` on small mask models (tests/denoise-model.h): output length, rate and
 * alignment (a pass-through model gives the input back, also through resampling), the
 * options reaching the denoiser, the per-frame TSV, 16-bit output, the default model
 * from NERVE_MODEL_PATH, and clean failures. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "audiofile.h"
#include "denoise-model.h"
#include "modelfile.h"

static char *dir; /* this test's scratch directory */

static void
make_dir (void)
{
  dir = g_dir_make_tmp ("nerve-cli-denoise-XXXXXX", NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (dir);
}

static void
remove_tree (const char *path)
{
  g_autoptr (GDir) d = g_dir_open (path, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (path, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR))
      remove_tree (p);
    else
      g_unlink (p);
  }
  g_rmdir (path);
}

static void
drop_dir (void)
{
  remove_tree (dir);
  g_clear_pointer (&dir, g_free);
}

static void
expect (NerveRun *r, int status, const char *out_has, const char *err_has)
{
  nerve_test_run_check (r, status, out_has, err_has);
  nerve_test_run_clear (r);
}

/* Saves a 512/128 sqrt-Hann mask model whose gains are all sigmoid(bias). */
static char *
save_model (const char *name, float bias, gboolean vad)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_test_mask_model (512, 128, "sqrt-hann", 0, vad, bias, 3, &err);
  char *path = g_build_filename (dir, name, NULL);
  if (!m || !nerve_model_save (m, path, &err)) {
    fprintf (stderr, "  model: %s\n", err->message);
    CU_FAIL ("cannot make the test model");
  }
  return path;
}

/* A tone plus a little white noise (when `noise`) at `rate`: n samples, written as
 * float WAV. */
static float *
write_input (const char *path, int rate, gsize n, gboolean noise)
{
  float *x = g_new (float, n);
  guint32 s = 12345;
  for (gsize i = 0; i < n; i++) {
    s = s * 1664525u + 1013904223u;
    x[i] = 0.3f * sinf (2.0f * (float) G_PI * 440.0f * (float) i / (float) rate) +
           (noise ? 0.02f * ((float) (s >> 8) / 16777216.0f - 0.5f) : 0.0f);
  }
  g_autoptr (GError) err = NULL;
  if (!nerve_audio_write_wav (path, x, n, rate, TRUE, &err)) {
    fprintf (stderr, "  write: %s\n", err->message);
    CU_FAIL ("cannot write the input");
  }
  return x;
}

/* Reads path and checks its rate and length; NULL (and a failure) otherwise. */
static float *
read_output (const char *path, int want_rate, gsize want_n)
{
  g_autoptr (GError) err = NULL;
  int rate = 0;
  gsize n = 0;
  float *y = nerve_audio_read (path, &rate, &n, &err);
  if (!y)
    fprintf (stderr, "  read %s: %s\n", path, err->message);
  CU_ASSERT_PTR_NOT_NULL (y);
  CU_ASSERT_EQUAL (rate, want_rate);
  CU_ASSERT_EQUAL (n, want_n);
  if (y && n != want_n)
    g_clear_pointer (&y, g_free);
  return y;
}

/* Largest |a[i] - scale * b[i]| over [from, to). */
static double
max_diff (const float *a, const float *b, gsize from, gsize to, float scale)
{
  double w = 0;
  for (gsize i = from; i < to; i++)
    w = MAX (w, fabs ((double) a[i] - (double) (scale * b[i])));
  return w;
}

static void
test_pass_through_and_options (void)
{
  make_dir ();
  g_autofree char *pass = save_model ("pass.nerve", 30.0f, TRUE), *kill = save_model ("kill.nerve", -30.0f, FALSE);
  g_autofree char *in = g_build_filename (dir, "in.wav", NULL), *out = g_build_filename (dir, "out.wav", NULL);
  g_autofree char *tsv = g_build_filename (dir, "frames.tsv", NULL);
  const gsize n = 16000 + 77; /* not a multiple of the hop */
  g_autofree float *x = write_input (in, 16000, n, TRUE);

  /* a pass-through model gives the input back, aligned, same length */
  NerveRun r = nerve_test_run_cli ((const char *[]) { "denoise", "--model", pass, "--frames", tsv, in, out, NULL });
  expect (&r, 0, NULL, "x real time");
  g_autofree float *y = read_output (out, 16000, n);
  if (y)
    CU_ASSERT (max_diff (y, x, 0, n, 1.0f) < 1e-4);
  /* one TSV line per hop (ceil), VAD ~ 1 for the all-pass model */
  g_autofree char *text = NULL;
  CU_ASSERT_TRUE (g_file_get_contents (tsv, &text, NULL, NULL));
  g_auto (GStrv) lines = g_strsplit (text ? text : "", "\n", -1);
  CU_ASSERT_EQUAL (g_strv_length (lines), 1 + (n + 127) / 128 + 1); /* header, frames, "" after the last \n */
  CU_ASSERT_STRING_EQUAL (lines[0], "start_s\tend_s\tvad\tsnr_db\tgain_db");
  CU_ASSERT_PTR_NOT_NULL (strstr (lines[1], "0.0000\t0.0080\t1.0000\t"));

  /* a model removing everything, held to -20 dB by the limit: 0.1 x the input */
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", kill, "--attenuation-limit", "20", in, out, NULL });
  expect (&r, 0, NULL, NULL);
  g_autofree float *y20 = read_output (out, 16000, n);
  if (y20)
    CU_ASSERT (max_diff (y20, x, 0, n, 0.1f) < 1e-4);
  /* mix 0 is the dry input, exactly; mix 0.5 with no limit half of it */
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", kill, "--mix", "0", in, out, NULL });
  expect (&r, 0, NULL, NULL);
  g_autofree float *dry = read_output (out, 16000, n);
  if (dry)
    CU_ASSERT (max_diff (dry, x, 0, n, 1.0f) < 1e-6);
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", kill, "--mix", "0.5", "--quiet", in, out, NULL });
  CU_ASSERT_PTR_NULL (strstr (r.err, "real time"));
  expect (&r, 0, NULL, NULL);
  g_autofree float *half = read_output (out, 16000, n);
  if (half)
    CU_ASSERT (max_diff (half, x, 0, n, 0.5f) < 1e-4);
  /* VAD muting: the all-pass model says voice everywhere, so a threshold changes nothing */
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", pass, "--vad-threshold", "0.5", in, out, NULL });
  expect (&r, 0, NULL, NULL);
  g_autofree float *vad = read_output (out, 16000, n);
  if (vad)
    CU_ASSERT (max_diff (vad, x, 0, n, 1.0f) < 1e-4);
  drop_dir ();
}

static void
test_other_rate_and_pcm16 (void)
{
  make_dir ();
  g_autofree char *pass = save_model ("pass.nerve", 30.0f, FALSE);
  g_autofree char *in = g_build_filename (dir, "in8k.wav", NULL), *out = g_build_filename (dir, "out8k.wav", NULL);
  const gsize n = 8000 + 33;
  /* a tone: white noise would reach into the resampler's transition band below 4 kHz */
  g_autofree float *x = write_input (in, 8000, n, FALSE);
  /* 8 kHz in: resampled to 16 kHz and back, so 8 kHz out, same length, aligned */
  NerveRun r = nerve_test_run_cli ((const char *[]) { "denoise", "--model", pass, "--pcm16", in, out, NULL });
  expect (&r, 0, NULL, "8000 Hz");
  g_autofree float *y = read_output (out, 8000, n);
  if (y) { /* away from the edges (the resampler's filter sees zeros past them), 16-bit accuracy */
    double w = max_diff (y, x, 200, n - 200, 1.0f);
    if (!(w < 1e-3))
      fprintf (stderr, "  8 kHz round trip: max |y - x| %g\n", w);
    CU_ASSERT (w < 1e-3);
  }
  /* 16-bit PCM: format tag 1, 2 bytes per sample */
  g_autofree char *bytes = NULL;
  gsize len = 0;
  CU_ASSERT_TRUE (g_file_get_contents (out, &bytes, &len, NULL));
  CU_ASSERT_TRUE (len > 44 && bytes[20] == 1 && bytes[21] == 0 && bytes[34] == 16);
  drop_dir ();
}

static void
test_default_model_and_errors (void)
{
  make_dir ();
  g_autofree char *in = g_build_filename (dir, "in.wav", NULL), *out = g_build_filename (dir, "def.wav", NULL);
  g_autofree float *x = write_input (in, 16000, 4000, TRUE);
  /* denoise/denoise.nerve in a NERVE_MODEL_PATH directory is the default */
  g_autofree char *models = g_build_filename (dir, "models", NULL), *sub = g_build_filename (models, "denoise", NULL);
  g_mkdir_with_parents (sub, 0700);
  g_autofree char *pass = save_model ("models/denoise/denoise.nerve", 30.0f, FALSE);
  g_autofree char *search = g_strconcat (dir, "/nothing-here", G_SEARCHPATH_SEPARATOR_S, models, NULL);
  g_setenv ("NERVE_MODEL_PATH", search, TRUE);
  NerveRun r = nerve_test_run_cli ((const char *[]) { "denoise", in, out, NULL });
  expect (&r, 0, NULL, "mask front end");
  g_autofree float *y = read_output (out, 16000, 4000);
  if (y)
    CU_ASSERT (max_diff (y, x, 0, 4000, 1.0f) < 1e-4);
  /* no model anywhere (the tests run in the build tree: no models/denoise there) */
  g_setenv ("NERVE_MODEL_PATH", dir, TRUE);
  r = nerve_test_run_cli ((const char *[]) { "denoise", in, out, NULL });
  expect (&r, 1, NULL, "no model");
  g_unsetenv ("NERVE_MODEL_PATH");

  /* not a model, a model of another task, a missing input, bad options */
  g_autofree char *junk = g_build_filename (dir, "junk.nerve", NULL);
  g_file_set_contents (junk, "this is not a model", -1, NULL);
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", junk, in, out, NULL });
  expect (&r, 1, NULL, "nerve denoise: ");
  g_autofree char *other = g_build_filename (dir, "other.nerve", NULL);
  {
    g_autoptr (NerveModel) m = nerve_model_new ("{\"input\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 2}]}", NULL);
    CU_ASSERT_TRUE_FATAL (m && nerve_model_save (m, other, NULL));
  }
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", other, in, out, NULL });
  expect (&r, 1, NULL, "not denoise");
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", pass, "/nonexistent.wav", out, NULL });
  expect (&r, 1, NULL, "/nonexistent.wav");
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", pass, "--mix", "2", in, out, NULL });
  expect (&r, 2, NULL, "--mix");
  r = nerve_test_run_cli ((const char *[]) { "denoise", "-m", pass, in, NULL });
  expect (&r, 2, NULL, "IN OUT.wav");
  drop_dir ();
}

NERVE_TEST_MAIN ("cli-denoise",
                 { "pass-through, options and per-frame TSV", test_pass_through_and_options },
                 { "other rates and 16-bit output", test_other_rate_and_pcm16 },
                 { "default model and failures", test_default_model_and_errors })

/* The denoiser framework (core/denoise.h) with the "mask" front end: alignment and
 * latency, attenuation limit, dry/wet mix, VAD muting, non-finite input, and clear
 * errors for unsuitable models. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "denoise-model.h"
#include "denoise.h"
#include "rng.h"

static NerveModel *
model (int hidden, gboolean vad, float bias)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_test_mask_model (512, 128, "sqrt-hann", hidden, vad, bias, 7, &err);
  if (!m)
    fprintf (stderr, "  test model: %s\n", err->message);
  return m;
}

static NerveDenoiser *
denoiser (NerveModel *m)
{
  g_autoptr (GError) err = NULL;
  NerveDenoiser *d = m ? nerve_denoiser_new (m, &err) : NULL;
  if (m && !d)
    fprintf (stderr, "  denoiser: %s\n", err->message);
  return d;
}

/* a tone sweep plus noise: something every bin sees */
static float *
test_signal (gsize n, guint64 seed)
{
  float *x = g_new (float, n);
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (gsize i = 0; i < n; i++)
    x[i] = 0.3f * sinf (0.05f * (float) i + 1e-5f * (float) (i * i % 100000)) + 0.05f * (nerve_rng_uniform (&r) - 0.5f);
  return x;
}

static double
max_diff (const float *a, const float *b, gsize n, float scale)
{
  double w = 0;
  for (gsize i = 0; i < n; i++)
    w = MAX (w, fabs ((double) a[i] - (double) (scale * b[i])));
  return w;
}

static void
test_pass_through_is_aligned (void)
{
  g_autoptr (NerveModel) m = model (0, FALSE, 30.0f);
  g_autoptr (NerveDenoiser) d = denoiser (m);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_EQUAL (nerve_denoiser_rate (d), 16000);
  CU_ASSERT_EQUAL (nerve_denoiser_hop (d), 128);
  CU_ASSERT_EQUAL (nerve_denoiser_latency (d), 384);
  CU_ASSERT_STRING_EQUAL (nerve_denoiser_frontend (d), "mask");
  const gsize n = 16000 + 77; /* not a multiple of the hop: the tail must be drained */
  g_autofree float *x = test_signal (n, 1), *y = g_new (float, n);
  nerve_denoise_signal (d, x, n, y, NULL);
  CU_ASSERT (max_diff (y, x, n, 1.0f) < 1e-4);
  /* hop by hop, the output trails by exactly the latency */
  nerve_denoiser_reset (d);
  g_autofree float *z = g_new0 (float, n + 512);
  for (gsize s = 0; s + 128 <= n; s += 128)
    nerve_denoiser_process (d, x + s, z + s, NULL);
  CU_ASSERT (max_diff (z + 384, x, (n / 128) * 128 - 384, 1.0f) < 1e-4);
}

static void
test_attenuation_limit_and_mix (void)
{
  g_autoptr (NerveModel) m = model (0, FALSE, -30.0f); /* removes everything */
  g_autoptr (NerveDenoiser) d = denoiser (m);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const gsize n = 8000;
  g_autofree float *x = test_signal (n, 2), *y = g_new (float, n), *zero = g_new0 (float, n);
  NerveDenoiseFrame frames[63];
  nerve_denoise_signal (d, x, n, y, frames);
  CU_ASSERT (max_diff (y, zero, n, 1.0f) < 1e-5);
  CU_ASSERT (frames[40].gain_db < -60.0f);
  CU_ASSERT (frames[40].snr_db < -60.0f);
  nerve_denoiser_set_attenuation_limit (d, 12.0f);
  nerve_denoise_signal (d, x, n, y, frames);
  CU_ASSERT (max_diff (y, x, n, powf (10.0f, -12.0f / 20.0f)) < 1e-4);
  CU_ASSERT_DOUBLE_EQUAL (frames[40].gain_db, -12.0, 0.05);
  nerve_denoiser_set_attenuation_limit (d, G_MAXFLOAT);
  nerve_denoiser_set_mix (d, 0.25f);
  nerve_denoise_signal (d, x, n, y, NULL);
  CU_ASSERT (max_diff (y, x, n, 0.75f) < 1e-4);
  nerve_denoiser_set_mix (d, 0.0f);
  nerve_denoise_signal (d, x, n, y, NULL);
  CU_ASSERT (max_diff (y, x, n, 1.0f) < 1e-6);
}

static void
test_vad_threshold_mutes (void)
{
  g_autoptr (NerveModel) m = model (0, TRUE, 30.0f); /* passes audio, VAD = 1 */
  g_autoptr (NerveModel) quiet = model (0, TRUE, -30.0f);
  g_autoptr (NerveDenoiser) d = denoiser (m);
  g_autoptr (NerveDenoiser) dq = denoiser (quiet);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_PTR_NOT_NULL_FATAL (dq);
  const gsize n = 8000;
  g_autofree float *x = test_signal (n, 3), *y = g_new (float, n), *zero = g_new0 (float, n);
  NerveDenoiseFrame f[63];
  nerve_denoiser_set_vad_threshold (d, 0.5f);
  nerve_denoise_signal (d, x, n, y, f);
  CU_ASSERT (max_diff (y, x, n, 1.0f) < 1e-4); /* voice everywhere: nothing muted */
  CU_ASSERT (f[10].vad > 0.99f);
  nerve_denoiser_set_vad_threshold (dq, 0.5f);
  nerve_denoiser_set_mix (dq, 0.0f); /* even the dry path is muted */
  nerve_denoise_signal (dq, x, n, y, f);
  CU_ASSERT (f[10].vad < 0.01f);
  CU_ASSERT (max_diff (y + 512, zero, n - 512, 1.0f) < 1e-6);
  nerve_denoiser_set_vad_threshold (dq, 0.0f); /* off again: the dry input comes back */
  nerve_denoise_signal (dq, x, n, y, NULL);
  CU_ASSERT (max_diff (y, x, n, 1.0f) < 1e-6);
}

static void
test_non_finite_input (void)
{
  g_autoptr (NerveModel) m = model (32, TRUE, NAN); /* random GRU: has state to poison */
  g_autoptr (NerveDenoiser) d = denoiser (m);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const gsize n = 16000;
  g_autofree float *x = test_signal (n, 4), *bad = g_memdup2 (x, n * sizeof (float));
  g_autofree float *y = g_new (float, n), *yb = g_new (float, n);
  for (gsize i = 1000; i < 1400; i++)
    bad[i] = (i % 3 == 0) ? NAN : (i % 3 == 1) ? INFINITY : -1e30f;
  nerve_denoise_signal (d, x, n, y, NULL);
  NerveDenoiseFrame f[125];
  nerve_denoise_signal (d, bad, n, yb, f);
  gboolean finite = TRUE;
  for (gsize i = 0; i < n; i++)
    finite = finite && isfinite (yb[i]);
  for (int j = 0; j < 125; j++)
    finite = finite && isfinite (f[j].vad) && isfinite (f[j].snr_db) && isfinite (f[j].gain_db);
  CU_ASSERT_TRUE (finite);
  /* a GRU forgets: within a second the output is close to the clean run's again */
  CU_ASSERT (max_diff (y + n - 2000, yb + n - 2000, 2000, 1.0f) < 1e-2);
}

static void
test_signal_matches_streaming (void)
{
  g_autoptr (NerveModel) m = model (16, TRUE, NAN);
  g_autoptr (NerveDenoiser) d = denoiser (m);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const gsize n = 128 * 40;
  g_autofree float *x = test_signal (n, 5), *y = g_new (float, n), *z = g_new0 (float, n + 384);
  NerveDenoiseFrame f[40], g;
  nerve_denoise_signal (d, x, n, y, f);
  nerve_denoiser_reset (d);
  for (gsize s = 0; s < n; s += 128) {
    nerve_denoiser_process (d, x + s, z + s, &g);
    CU_ASSERT_DOUBLE_EQUAL (g.vad, f[s / 128].vad, 1e-7);
  }
  CU_ASSERT (max_diff (y, z + 384, n - 384, 1.0f) < 1e-7);
}

static void
expect_error (NerveModel *m, const char *needle)
{
  g_autoptr (GError) err = NULL;
  NerveDenoiser *d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NULL (d);
  nerve_denoiser_free (d);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  if (!strstr (err->message, needle))
    fprintf (stderr, "  expected '%s' in: %s\n", needle, err->message);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, needle));
}

static void
test_unsuitable_models (void)
{
  g_autoptr (NerveModel) m = model (0, FALSE, 30.0f);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_set_meta (m, "nerve.task", "sentiment");
  expect_error (m, "not denoise");
  nerve_model_set_meta (m, "nerve.task", "denoise");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "magic");
  expect_error (m, "knows mask");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "mask");
  nerve_model_set_meta (m, "nerve.audio.rate", "-5");
  expect_error (m, "nerve.audio.rate");
  nerve_model_set_meta (m, "nerve.audio.rate", "16000");
  nerve_model_set_meta (m, "nerve.stft.size", "1024");
  expect_error (m, "needs 513 in");
  nerve_model_set_meta (m, "nerve.stft.size", "512");
  nerve_model_set_meta (m, "nerve.stft.window", "triangle");
  expect_error (m, "triangle");
  nerve_model_set_meta (m, "nerve.stft.window", "sqrt-hann");
  nerve_model_set_meta (m, "nerve.denoise.vad", "1");
  expect_error (m, "voice probability");
}

NERVE_TEST_MAIN ("denoise", { "pass-through is aligned", test_pass_through_is_aligned },
                 { "attenuation limit and mix", test_attenuation_limit_and_mix },
                 { "vad threshold mutes", test_vad_threshold_mutes },
                 { "non-finite input", test_non_finite_input },
                 { "signal matches streaming", test_signal_matches_streaming },
                 { "unsuitable models", test_unsuitable_models })

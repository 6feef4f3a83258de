/* Urban-like synthetic noise and noise-clip augmentation for denoise training
 * (core/denoise-noise-urban.c, the mixer's augmentation keys): every type is finite, at
 * unit RMS and a function of its seed, and has the spectrum or time structure it is
 * named for; the equaliser, speed change and reversal do what they say; the mixer with
 * augmentation off draws exactly as before, and the recipe keys parse. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

#define RATE 16000

/* Welch power spectrum (1024-point Hann frames, half overlap): psd[0..512]. */
static void
welch (const float *x, gsize n, double *psd)
{
  const int N = 1024;
  g_autoptr (NerveFft) fft = nerve_fft_new (N, NULL);
  float frame[1024], spec[1026];
  memset (psd, 0, sizeof (double) * (N / 2 + 1));
  for (gsize start = 0; start + N <= n; start += N / 2) {
    for (int i = 0; i < N; i++)
      frame[i] = x[start + i] * (0.5f - 0.5f * cosf (2 * (float) G_PI * (float) i / N));
    nerve_fft_forward (fft, frame, spec);
    for (int k = 0; k <= N / 2; k++)
      psd[k] += (double) spec[2 * k] * spec[2 * k] + (double) spec[2 * k + 1] * spec[2 * k + 1];
  }
}

/* Share of the power below f Hz. */
static double
share_below (const float *x, gsize n, double f)
{
  double psd[513], lo = 0, all = 0;
  welch (x, n, psd);
  for (int k = 0; k <= 512; k++) {
    all += psd[k];
    if (k * (double) RATE / 1024 < f)
      lo += psd[k];
  }
  return lo / all;
}

/* Frame energies in dB over frames of `ms`: max - min, and the coefficient of variation. */
static void
frame_levels (const float *x, gsize n, double ms, double *range_db, double *cv)
{
  gsize len = (gsize) (ms * RATE / 1000), frames = n / len;
  double lo = INFINITY, hi = -INFINITY, sum = 0, sq = 0;
  for (gsize f = 0; f < frames; f++) {
    double e = 0;
    for (gsize i = 0; i < len; i++)
      e += (double) x[f * len + i] * x[f * len + i];
    e /= (double) len;
    lo = MIN (lo, e), hi = MAX (hi, e);
    sum += e, sq += e * e;
  }
  double mean = sum / (double) frames;
  *range_db = 10 * log10 ((hi + 1e-20) / (lo + 1e-20));
  *cv = sqrt (MAX (sq / (double) frames - mean * mean, 0)) / mean;
}

/* Largest normalised autocorrelation over lags lo..hi samples. */
static double
periodicity (const float *x, gsize n, int lo, int hi)
{
  double e = 0, best = 0;
  for (gsize i = 0; i < n; i++)
    e += (double) x[i] * x[i];
  for (int lag = lo; lag <= hi; lag++) {
    double c = 0;
    for (gsize i = 0; i + (gsize) lag < n; i++)
      c += (double) x[i] * x[i + lag];
    best = MAX (best, c / e);
  }
  return best;
}

/* Speech-like clips: harmonic syllables (f0 90-250 Hz) with pauses. */
static NerveClipSet *
speech_like (int n, double seconds, guint64 seed)
{
  NerveClipSet *s = nerve_clip_set_new (RATE);
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (int c = 0; c < n; c++) {
    gsize len = (gsize) (seconds * RATE), pos = 0;
    float *x = g_new0 (float, len);
    double f0 = 90 + 160 * nerve_rng_uniform (&r), phase = 0;
    while (pos < len) {
      gsize on = (gsize) ((0.1 + 0.15 * nerve_rng_uniform (&r)) * RATE);
      gsize off = (gsize) ((0.05 + 0.15 * nerve_rng_uniform (&r)) * RATE);
      for (gsize i = 0; i < on && pos + i < len; i++) {
        phase += 2 * G_PI * f0 / RATE;
        double v = 0;
        for (int k = 1; k <= 20; k++)
          v += sin (k * phase) / k;
        x[pos + i] = (float) (0.3 * sin (G_PI * (double) i / (double) on) * v);
      }
      pos += on + off;
    }
    g_autofree char *name = g_strdup_printf ("talker%02d.wav", c);
    nerve_clip_set_add (s, name, x, len, 1);
  }
  return s;
}

static void
test_urban_types (void)
{
  const gsize n = 4 * RATE;
  float *x = g_new (float, n), *y = g_new (float, n);
  g_autoptr (NerveClipSet) speech = speech_like (12, 2, 1);
  const int talkers[] = { 0, 2, 4, 6, 8, 10 };
  for (int t = NERVE_NOISE_ENGINE; t < NERVE_NOISE_N_TYPES; t++)
    for (int seed = 0; seed < 4; seed++) {
      NerveRng r, r2;
      nerve_rng_seed (&r, 100 + seed);
      nerve_rng_seed (&r2, 100 + seed);
      nerve_noise_synth_talkers ((NerveNoiseType) t, &r, RATE, speech, talkers, 6, x, n);
      nerve_noise_synth_talkers ((NerveNoiseType) t, &r2, RATE, speech, talkers, 6, y, n);
      const char *name = nerve_noise_type_name ((NerveNoiseType) t);
      gboolean finite = TRUE;
      double e = 0;
      for (gsize i = 0; i < n; i++)
        finite = finite && isfinite (x[i]), e += (double) x[i] * x[i];
      CU_ASSERT_TRUE (finite);
      CU_ASSERT_DOUBLE_EQUAL (e / (double) n, 1, 1e-3);
      CU_ASSERT_EQUAL (memcmp (x, y, n * sizeof *x), 0); /* a function of the seed */
      double low = share_below (x, n, 1000), range, cv, per = 0;
      frame_levels (x, n, 50, &range, &cv);
      gboolean ok = TRUE;
      switch (t) {
      case NERVE_NOISE_ENGINE: /* low, periodic at the firing rate (18-70 Hz) */
        per = periodicity (x, n / 2, RATE / 80, RATE / 15);
        ok = low > 0.8 && per > 0.3;
        break;
      case NERVE_NOISE_DRILL: /* broadband, in bursts */
        ok = low < 0.8 && range > 10;
        break;
      case NERVE_NOISE_WIND:
      case NERVE_NOISE_TRAFFIC: /* low-frequency noise */
        ok = low > 0.6;
        break;
      case NERVE_NOISE_CROWD: { /* many talkers: far steadier than one */
        double r1, cv1;
        frame_levels (speech->x[0], speech->len[0], 50, &r1, &cv1);
        ok = cv < 0.5 * cv1;
        break;
      }
      case NERVE_NOISE_SIREN: { /* a strong tone in 400 Hz-2 kHz whose frequency moves */
        g_autoptr (NerveFft) fft = nerve_fft_new (1024, NULL);
        float frame[1024], spec[1026];
        double fmin = 1e9, fmax = 0;
        int inside = 0, frames = 0;
        for (gsize s = 0; s + 1024 <= n; s += 1024, frames++) {
          memcpy (frame, x + s, sizeof frame);
          nerve_fft_forward (fft, frame, spec);
          int best = 1;
          for (int k = 1; k <= 512; k++)
            if (spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1] >
                spec[2 * best] * spec[2 * best] + spec[2 * best + 1] * spec[2 * best + 1])
              best = k;
          double f = best * (double) RATE / 1024;
          inside += f >= 400 && f <= 2000;
          fmin = MIN (fmin, f), fmax = MAX (fmax, f);
        }
        ok = inside >= frames * 8 / 10 && fmax - fmin > 150;
        per = fmax - fmin;
        break;
      }
      default:
        break;
      }
      if (!ok || seed == 0)
        printf ("  %-7s seed %d: %.0f %% below 1 kHz, 50 ms levels span %.0f dB (cv %.2f), %.2f\n", name, seed,
                100 * low, range, cv, per);
      CU_ASSERT_TRUE (ok);
    }
  /* names round-trip, unknown ones are refused with the list */
  NerveNoiseType t;
  CU_ASSERT_TRUE (nerve_noise_type_from_name ("siren", &t, NULL) && t == NERVE_NOISE_SIREN);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_FALSE (nerve_noise_type_from_name ("jackhammer", &t, &err));
  CU_ASSERT_TRUE (err && strstr (err->message, "crowd"));
  g_free (x);
  g_free (y);
}

static void
test_augmentations (void)
{
  const gsize len = RATE, n = RATE / 2;
  float *src = g_new (float, len), *a = g_new (float, n), *b = g_new (float, n);
  for (gsize i = 0; i < len; i++)
    src[i] = (float) sin (2 * G_PI * 500 * (double) i / RATE);
  /* speed 1 at a whole offset is the clip itself; reversed is the same samples backwards */
  nerve_noise_resample_crop (src, len, 100, 1, FALSE, a, n);
  CU_ASSERT_EQUAL (memcmp (a, src + 100, n * sizeof *a), 0);
  nerve_noise_resample_crop (src, len, 100, 1.2, FALSE, a, n);
  nerve_noise_resample_crop (src, len, 100, 1.2, TRUE, b, n);
  gboolean mirrored = TRUE;
  for (gsize i = 0; i < n; i++)
    mirrored = mirrored && a[i] == b[n - 1 - i];
  CU_ASSERT_TRUE (mirrored);
  /* 1.2 times faster: the 500 Hz tone comes out at 600 Hz (Hann-windowed DFT, 1 Hz steps) */
  int best = 0;
  double best_p = 0;
  for (int f = 400; f <= 800; f++) {
    double re = 0, im = 0;
    for (gsize i = 0; i < n; i++) {
      double w = 0.5 - 0.5 * cos (2 * G_PI * (double) i / (double) n);
      re += w * a[i] * cos (2 * G_PI * f * (double) i / RATE);
      im += w * a[i] * sin (2 * G_PI * f * (double) i / RATE);
    }
    if (re * re + im * im > best_p)
      best_p = re * re + im * im, best = f;
  }
  printf ("  500 Hz tone played 1.2x faster peaks at %d Hz\n", best);
  CU_ASSERT_TRUE (abs (best - 600) <= 1);
  /* the equaliser reshapes white noise (some 1/3-octave band moves by > 3 dB), keeps unit RMS */
  const gsize m = 4 * RATE;
  float *w = g_new (float, m), *w2 = g_new (float, m);
  int reshaped = 0;
  for (int seed = 0; seed < 10; seed++) {
    NerveRng r, r2;
    nerve_rng_seed (&r, 7 + seed);
    nerve_rng_seed (&r2, 7 + seed);
    nerve_noise_synth (NERVE_NOISE_WHITE, &r, RATE, NULL, w, m);
    nerve_noise_random_eq (&r, RATE, w, m);
    nerve_noise_synth (NERVE_NOISE_WHITE, &r2, RATE, NULL, w2, m);
    nerve_noise_random_eq (&r2, RATE, w2, m);
    CU_ASSERT_EQUAL (memcmp (w, w2, m * sizeof *w), 0);
    double e = 0, psd[513], lo = INFINITY, hi = -INFINITY;
    for (gsize i = 0; i < m; i++)
      e += (double) w[i] * w[i];
    CU_ASSERT_DOUBLE_EQUAL (e / (double) m, 1, 1e-3);
    welch (w, m, psd);
    for (double f = 100; f < 6000; f *= 1.26) { /* third-octave bands */
      double band = 0;
      int k0 = (int) (f * 1024 / RATE), k1 = (int) (f * 1.26 * 1024 / RATE);
      for (int k = k0; k <= k1; k++)
        band += psd[k] / (k1 - k0 + 1);
      lo = MIN (lo, 10 * log10 (band)), hi = MAX (hi, 10 * log10 (band));
    }
    reshaped += hi - lo > 3;
  }
  printf ("  equaliser: %d/10 draws move a third-octave band by more than 3 dB\n", reshaped);
  CU_ASSERT_TRUE (reshaped >= 8);
  g_free (w), g_free (w2), g_free (src), g_free (a), g_free (b);
}

static void
test_mixer_augmentation (void)
{
  g_autoptr (NerveClipSet) speech = speech_like (6, 1.5, 3);
  g_autoptr (NerveClipSet) noise = speech_like (4, 1.0, 4); /* any clips will do */
  NerveMixConfig c;
  nerve_mix_config_defaults (&c);
  c.rir_prob = 0;
  const gsize len = RATE, bytes = 10 * len * sizeof (float);
  /* listing the classic seven explicitly draws exactly as the default */
  NerveMixConfig c7 = c;
  c7.n_synth_types = NERVE_NOISE_N_CLASSIC;
  for (int i = 0; i < NERVE_NOISE_N_CLASSIC; i++)
    c7.synth_types[i] = (NerveNoiseType) i;
  g_autoptr (NerveMixer) m0 = nerve_mixer_new (&c, RATE, speech, noise, NULL, NULL);
  g_autoptr (NerveMixer) m7 = nerve_mixer_new (&c7, RATE, speech, noise, NULL, NULL);
  g_autoptr (NerveMixSet) s0 = nerve_mix_set_new (m0, 10, len, 9);
  g_autoptr (NerveMixSet) s7 = nerve_mix_set_new (m7, 10, len, 9);
  CU_ASSERT_EQUAL (memcmp (s0->noisy, s7->noisy, bytes), 0);
  /* everything on: still a function of the seed, never clipping, different mixtures */
  NerveMixConfig ca = c;
  ca.eq_prob = ca.speed_prob = ca.reverse_prob = ca.noise_mix_prob = 0.5f;
  ca.n_synth_types = 0;
  for (int t = 0; t < NERVE_NOISE_N_TYPES; t++)
    ca.synth_types[ca.n_synth_types++] = (NerveNoiseType) t;
  g_autoptr (NerveMixer) ma = nerve_mixer_new (&ca, RATE, speech, noise, NULL, NULL);
  g_autoptr (NerveMixer) mb = nerve_mixer_new (&ca, RATE, speech, noise, NULL, NULL);
  const int crowd[] = { 1, 3 };
  nerve_mixer_set_babble_clips (ma, crowd, 2);
  nerve_mixer_set_babble_clips (mb, crowd, 2);
  g_autoptr (NerveMixSet) sa = nerve_mix_set_new (ma, 10, len, 9);
  g_autoptr (NerveMixSet) sb = nerve_mix_set_new (mb, 10, len, 9);
  CU_ASSERT_EQUAL (memcmp (sa->noisy, sb->noisy, bytes), 0);
  CU_ASSERT_EQUAL (memcmp (sa->clean, sb->clean, bytes), 0);
  CU_ASSERT_NOT_EQUAL (memcmp (sa->noisy, s0->noisy, bytes), 0);
  float peak = 0;
  for (gsize i = 0; i < 10 * len; i++)
    peak = MAX (peak, fabsf (sa->noisy[i]));
  CU_ASSERT_TRUE (peak <= 0.99f && peak > 0);
  /* every type turns up, and the noise is where the drawn SNR puts it */
  NerveRng r;
  nerve_rng_seed (&r, 5);
  int seen[NERVE_NOISE_N_TYPES] = { 0 };
  float *cl = g_new (float, len), *no = g_new (float, len);
  for (int i = 0; i < 120; i++) {
    NerveMixInfo info;
    nerve_mixer_draw (ma, &r, len, cl, no, &info);
    if (info.noise < 0)
      seen[info.synth]++;
    if (info.speech >= 0) {
      double es = 0, en = 0;
      for (gsize k = info.speech_start; k < info.speech_start + info.speech_len; k++)
        es += (double) cl[k] * cl[k], en += (double) (no[k] - cl[k]) * (no[k] - cl[k]);
      CU_ASSERT_DOUBLE_EQUAL (10 * log10 (es / en), info.snr_db, 0.01);
    }
  }
  for (int t = 0; t < NERVE_NOISE_N_TYPES; t++)
    CU_ASSERT_TRUE (seen[t] > 0);
  g_free (cl), g_free (no);
}

static void
test_recipe_keys (void)
{
  NerveDenoiseTrainConfig c;
  nerve_denoise_train_config_defaults (&c);
  const char *text = "[mix]\neq_prob = 0.5\nspeed_prob = 0.3\nspeed_max = 1.3\nreverse_prob = 0.2\n"
                     "noise_mix_prob = 0.1\nsynthetic_types = pink; engine; siren; siren\n";
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (nerve_denoise_config_from_recipe_text (text, &c, &err));
  CU_ASSERT_DOUBLE_EQUAL (c.mix.eq_prob, 0.5, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (c.mix.speed_max, 1.3, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (c.mix.noise_mix_prob, 0.1, 1e-7);
  CU_ASSERT_EQUAL (c.mix.n_synth_types, 4);
  CU_ASSERT_EQUAL (c.mix.synth_types[1], NERVE_NOISE_ENGINE);
  CU_ASSERT_EQUAL (c.mix.synth_types[3], NERVE_NOISE_SIREN);
  nerve_denoise_train_config_defaults (&c);
  CU_ASSERT_EQUAL (c.mix.n_synth_types, 0);
  CU_ASSERT_DOUBLE_EQUAL (c.mix.eq_prob, 0, 0);
  CU_ASSERT_FALSE (nerve_denoise_config_from_recipe_text ("[mix]\nsynthetic_types = pink; lawnmower\n", &c, &err));
  CU_ASSERT_TRUE (err && strstr (err->message, "lawnmower") && strstr (err->message, "synthetic_types"));
  g_clear_error (&err);
  CU_ASSERT_FALSE (nerve_denoise_config_from_recipe_text ("[mix]\nspeed_max = 0.5\n", &c, &err));
  CU_ASSERT_TRUE (err && strstr (err->message, "speed_max"));
}

NERVE_TEST_MAIN ("denoise-noise", { "urban-like synthetic noise types", test_urban_types },
                 { "equaliser, speed change, reversal", test_augmentations },
                 { "mixer with noise augmentation", test_mixer_augmentation },
                 { "recipe keys of the augmentation", test_recipe_keys })

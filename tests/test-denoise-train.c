/* Denoise training (core/denoise-data.h, core/denoise-train.h) on synthetic data: the
 * mixer hits the drawn SNR and never clips, is a function of its seed, the held-out
 * rule drops the evaluation files, the noise colours have their slopes, the loss
 * gradients match finite differences in double, a tiny model learns (SI-SDR
 * improvement through the real denoiser goes up), a resumed run ends with the weights
 * of the uninterrupted one, and `nerve train` / `nerve finetune` run end to end. */
#include <glib/gstdio.h>
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

#define RATE 8000

/* Speech-like clips: a gliding harmonic tone (f0 90-250 Hz, harmonics falling as 1/k)
 * switched on and off in syllables of 100-250 ms. */
static NerveClipSet *
speech_like (int n, double seconds, guint64 seed)
{
  NerveClipSet *s = nerve_clip_set_new (RATE);
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (int c = 0; c < n; c++) {
    gsize len = (gsize) (seconds * RATE);
    float *x = g_new0 (float, len);
    double f0 = 90 + 160 * nerve_rng_uniform (&r), phase = 0;
    gsize pos = 0;
    while (pos < len) {
      gsize on = (gsize) ((0.1 + 0.15 * nerve_rng_uniform (&r)) * RATE);
      gsize off = (gsize) ((0.03 + 0.1 * nerve_rng_uniform (&r)) * RATE);
      double glide = (nerve_rng_uniform (&r) - 0.5) * 40 / (double) on;
      for (gsize i = 0; i < on && pos + i < len; i++) {
        double env = sin (G_PI * (double) i / (double) on), f = f0 + glide * (double) i;
        phase += 2 * G_PI * f / RATE;
        double v = 0;
        for (int k = 1; k <= 12 && k * f < 0.45 * RATE; k++)
          v += sin (k * phase) / k;
        x[pos + i] = (float) (0.3 * env * v);
      }
      pos += on + off;
    }
    g_autofree char *name = g_strdup_printf ("clip%02d.wav", c);
    nerve_clip_set_add (s, name, x, len, 1);
  }
  return s;
}

static NerveMixConfig
mix_config (void)
{
  NerveMixConfig c;
  nerve_mix_config_defaults (&c);
  c.snr_min = -5, c.snr_max = 15;
  c.rir_prob = 0;
  c.noise_only_prob = 0;
  return c;
}

static double
energy (const float *x, gsize n)
{
  double e = 0;
  for (gsize i = 0; i < n; i++)
    e += (double) x[i] * x[i];
  return e;
}

static void
test_mix_snr_and_level (void)
{
  g_autoptr (NerveClipSet) speech = speech_like (6, 1.5, 1);
  g_autoptr (NerveClipSet) noise = speech_like (3, 0.7, 2); /* anything: only levels matter here */
  NerveMixConfig c = mix_config ();
  g_autoptr (NerveMixer) m = nerve_mixer_new (&c, RATE, speech, noise, NULL, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  const gsize n = RATE; /* 1 s: shorter and longer clips than the segment */
  float *clean = g_new (float, n), *noisy = g_new (float, n), *diff = g_new (float, n);
  NerveRng r;
  nerve_rng_seed (&r, 5);
  double worst = 0;
  int synthetic = 0;
  for (int i = 0; i < 60; i++) {
    NerveMixInfo info;
    nerve_mixer_draw (m, &r, n, clean, noisy, &info);
    CU_ASSERT_TRUE (info.speech >= 0);
    CU_ASSERT_TRUE (info.snr_db >= c.snr_min && info.snr_db <= c.snr_max);
    synthetic += info.noise < 0;
    for (gsize k = 0; k < n; k++)
      diff[k] = noisy[k] - clean[k];
    const float *s = clean + info.speech_start, *d = diff + info.speech_start;
    double snr = 10 * log10 (energy (s, info.speech_len) / energy (d, info.speech_len));
    worst = MAX (worst, fabs (snr - info.snr_db));
    double level = 10 * log10 (energy (noisy, n) / (double) n), peak = 0;
    for (gsize k = 0; k < n; k++)
      peak = MAX (peak, fabs (noisy[k]));
    CU_ASSERT_TRUE (peak <= 0.99 + 1e-6);
    CU_ASSERT_DOUBLE_EQUAL (level, info.level_db, 0.01);
    /* the level is the drawn one unless a peak had to be brought under 0.99 */
    CU_ASSERT_TRUE (level <= c.loud_max + 0.01 && (level >= c.level_min - 0.01 || peak > 0.98));
  }
  printf ("  worst |measured - drawn SNR| = %.2g dB, %d/60 synthetic noises\n", worst, synthetic);
  CU_ASSERT_TRUE (worst < 0.01);
  CU_ASSERT_TRUE (synthetic > 5 && synthetic < 45); /* synth_prob 0.4 */
  g_free (clean);
  g_free (noisy);
  g_free (diff);
}

static void
test_mix_reverb_target (void)
{
  g_autoptr (NerveClipSet) speech = speech_like (4, 1.5, 1);
  g_autoptr (NerveClipSet) rir = nerve_clip_set_new (RATE);
  /* a delayed direct path then a decaying tail: the target keeps the first 50 ms */
  gsize hn = RATE / 2;
  float *h = g_new0 (float, hn);
  NerveRng r;
  nerve_rng_seed (&r, 3);
  h[40] = 1;
  for (gsize i = 41; i < hn; i++)
    h[i] = 0.03f * expf (-(float) i / 800) * nerve_rng_normal (&r); /* direct-to-reverberant ~ +4 dB */
  nerve_clip_set_add (rir, "rir.wav", h, hn, 1);
  NerveMixConfig c = mix_config ();
  c.rir_prob = 1;
  c.snr_min = c.snr_max = 100; /* practically no noise */
  g_autoptr (NerveMixer) m = nerve_mixer_new (&c, RATE, speech, NULL, rir, NULL);
  const gsize n = RATE;
  float *clean = g_new (float, n), *noisy = g_new (float, n);
  NerveMixInfo info;
  nerve_mixer_draw (m, &r, n, clean, noisy, &info);
  CU_ASSERT_EQUAL (info.rir, 0);
  /* aligned (the direct path moved to 0) and the target is the early part: SI-SDR of
   * the reverberant mixture against it is finite but far from perfect */
  double sdr = nerve_si_sdr (noisy, clean, n);
  printf ("  reverberant mixture vs early-reverb target: SI-SDR %.1f dB\n", sdr);
  CU_ASSERT_TRUE (sdr > 0 && sdr < 30);
  /* with the whole RIR as the target, the target is the (noise-free) mixture */
  c.rir_early_ms = 0;
  g_autoptr (NerveMixer) m2 = nerve_mixer_new (&c, RATE, speech, NULL, rir, NULL);
  nerve_mixer_draw (m2, &r, n, clean, noisy, &info);
  CU_ASSERT_TRUE (nerve_si_sdr (noisy, clean, n) > 60);
  g_free (clean);
  g_free (noisy);
}

static void
test_mix_determinism (void)
{
  g_autoptr (NerveClipSet) speech = speech_like (5, 1.0, 1);
  NerveMixConfig c = mix_config ();
  g_autoptr (NerveMixer) a = nerve_mixer_new (&c, RATE, speech, NULL, NULL, NULL);
  g_autoptr (NerveMixer) b = nerve_mixer_new (&c, RATE, speech, NULL, NULL, NULL);
  g_autoptr (NerveMixSet) s1 = nerve_mix_set_new (a, 12, 4000, 77);
  g_autoptr (NerveMixSet) s2 = nerve_mix_set_new (b, 12, 4000, 77);
  g_autoptr (NerveMixSet) s3 = nerve_mix_set_new (a, 12, 4000, 78);
  gsize bytes = (gsize) 12 * 4000 * sizeof (float);
  CU_ASSERT_EQUAL (memcmp (s1->noisy, s2->noisy, bytes), 0);
  CU_ASSERT_EQUAL (memcmp (s1->clean, s2->clean, bytes), 0);
  CU_ASSERT_NOT_EQUAL (memcmp (s1->noisy, s3->noisy, bytes), 0);
}

static void
write_wav (const char *dir, const char *name, const float *x, gsize n, int rate)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree char *sub = g_path_get_dirname (path);
  g_mkdir_with_parents (sub, 0755);
  g_autoptr (GError) err = NULL;
  if (!nerve_audio_write_wav (path, x, n, rate, FALSE, &err))
    fprintf (stderr, "  %s\n", err->message);
}

static void
test_heldout_rule (void)
{
  g_autofree char *file = nerve_test_path ("models/denoise/heldout.txt");
  g_autoptr (GError) err = NULL;
  g_auto (GStrv) g = nerve_heldout_load (file, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (g);
  const char *const *globs = (const char *const *) g;
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/speech/ljspeech/LJ002-0051.flac"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/speech/ljspeech/LJ002-0077.flac"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/speech/ljspeech/LJ002-0100.flac"));
  CU_ASSERT_FALSE (nerve_heldout_match (globs, "/d/speech/ljspeech/LJ002-0050.flac"));
  CU_ASSERT_FALSE (nerve_heldout_match (globs, "/d/speech/ljspeech/LJ001-0077.flac"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/speech/fsdd/3_george_4.wav"));
  CU_ASSERT_FALSE (nerve_heldout_match (globs, "/d/speech/fsdd/3_george_14.wav"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/noise/urbansound8k-fold1/7061-6-0-0.flac"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/d/noise/misc/noise5.flac"));
  CU_ASSERT_FALSE (nerve_heldout_match (globs, "/d/noise/misc/noise4.flac"));
  CU_ASSERT_TRUE (nerve_heldout_match (globs, "/usr/share/sonic-pi/samples/ambi_sauna.flac"));
  CU_ASSERT_FALSE (nerve_heldout_match (globs, "/usr/share/sonic-pi/samples/vinyl_hiss.flac"));

  /* the listing drops what the rule matches, and counts it */
  g_autofree char *dir = g_dir_make_tmp ("nerve-heldout-XXXXXX", NULL);
  const char *names[] = { "ljspeech/LJ002-0050.flac", "ljspeech/LJ002-0051.flac", "fsdd/1_theo_3.wav",
                          "fsdd/1_theo_30.wav", "fsdd/notes.txt" };
  for (int i = 0; i < 5; i++) { /* only names matter: nothing is read */
    g_autofree char *p = g_build_filename (dir, names[i], NULL), *sub = g_path_get_dirname (p);
    g_mkdir_with_parents (sub, 0755);
    g_file_set_contents (p, "", 0, NULL);
  }
  int dropped = -1;
  g_autoptr (GPtrArray) files = nerve_audio_list_files ((const char *const[]) { "ljspeech", "fsdd/*.wav", NULL }, dir,
                                                        globs, NULL, &dropped, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (files);
  CU_ASSERT_EQUAL (files->len, 2);
  CU_ASSERT_EQUAL (dropped, 2);
  for (guint i = 0; i < files->len; i++)
    CU_ASSERT_FALSE (nerve_heldout_match (globs, files->pdata[i]));
  CU_ASSERT_TRUE (g_str_has_suffix (files->pdata[0], "fsdd/1_theo_30.wav"));
  CU_ASSERT_TRUE (g_str_has_suffix (files->pdata[1], "ljspeech/LJ002-0050.flac"));
  /* a spec naming nothing is an error that names it */
  g_autoptr (GPtrArray) none = nerve_audio_list_files ((const char *const[]) { "nosuch", NULL }, dir, NULL, NULL,
                                                       NULL, &err);
  CU_ASSERT_PTR_NULL (none);
  CU_ASSERT_TRUE (err && strstr (err->message, "nosuch"));
  for (int i = 0; i < 5; i++) {
    g_autofree char *p = g_build_filename (dir, names[i], NULL);
    g_unlink (p);
  }
  g_autofree char *d1 = g_build_filename (dir, "ljspeech", NULL), *d2 = g_build_filename (dir, "fsdd", NULL);
  g_rmdir (d1);
  g_rmdir (d2);
  g_rmdir (dir);
}

static void
test_split_by_name (void)
{
  g_autoptr (NerveClipSet) s = speech_like (40, 0.1, 4);
  char *first_val = NULL;
  g_autoptr (NerveClipSet) v = nerve_clip_set_split (s, 0.25);
  CU_ASSERT_EQUAL (s->n + v->n, 40);
  CU_ASSERT_TRUE (v->n >= 3 && v->n <= 20);
  first_val = g_strdup (v->paths[0]);
  /* the same names split the same way whatever else is in the set */
  g_autoptr (NerveClipSet) s2 = speech_like (40, 0.1, 4);
  g_autoptr (NerveClipSet) v2 = nerve_clip_set_split (s2, 0.25);
  CU_ASSERT_STRING_EQUAL (v2->paths[0], first_val);
  for (int i = 0; i < s->n; i++)
    for (int k = 0; k < v->n; k++)
      CU_ASSERT_STRING_NOT_EQUAL (s->paths[i], v->paths[k]);
  g_free (first_val);
}

/* Power spectrum slope (dB per octave) between f1 and f2 by a least-squares fit over
 * log2(f) of a Welch estimate (1024-point Hann frames). */
static double
slope_db_per_octave (const float *x, gsize n, double f1, double f2)
{
  const int N = 1024;
  g_autoptr (NerveFft) fft = nerve_fft_new (N, NULL);
  float *frame = g_new (float, N), *spec = g_new (float, N + 2);
  double *psd = g_new0 (double, N / 2 + 1);
  for (gsize start = 0; start + N <= n; start += N / 2) {
    for (int i = 0; i < N; i++)
      frame[i] = x[start + i] * (0.5f - 0.5f * cosf (2 * (float) G_PI * (float) i / N));
    nerve_fft_forward (fft, frame, spec);
    for (int k = 0; k <= N / 2; k++)
      psd[k] += (double) spec[2 * k] * spec[2 * k] + (double) spec[2 * k + 1] * spec[2 * k + 1];
  }
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  int m = 0;
  for (int k = 1; k < N / 2; k++) {
    double f = (double) k * RATE / N;
    if (f < f1 || f > f2)
      continue;
    double lx = log2 (f), ly = 10 * log10 (psd[k]);
    sx += lx, sy += ly, sxx += lx * lx, sxy += lx * ly;
    m++;
  }
  g_free (frame);
  g_free (spec);
  g_free (psd);
  return (m * sxy - sx * sy) / (m * sxx - sx * sx);
}

static void
test_noise_colours (void)
{
  const gsize n = 1 << 17;
  float *x = g_new (float, n);
  NerveRng r;
  nerve_rng_seed (&r, 11);
  double slope[3];
  const NerveNoiseType types[3] = { NERVE_NOISE_WHITE, NERVE_NOISE_PINK, NERVE_NOISE_BROWN };
  for (int t = 0; t < 3; t++) {
    nerve_noise_synth (types[t], &r, RATE, NULL, x, n);
    CU_ASSERT_DOUBLE_EQUAL (energy (x, n) / (double) n, 1.0, 1e-3);
    slope[t] = slope_db_per_octave (x, n, 100, 3000);
  }
  printf ("  slopes 100 Hz-3 kHz: white %.2f, pink %.2f, brown %.2f dB/octave\n", slope[0], slope[1], slope[2]);
  CU_ASSERT_DOUBLE_EQUAL (slope[0], 0, 0.3);
  CU_ASSERT_DOUBLE_EQUAL (slope[1], -3.01, 0.4);
  CU_ASSERT_DOUBLE_EQUAL (slope[2], -6.02, 0.8);
  /* every type: unit RMS, finite; hum has its energy at multiples of 50 or 60 Hz */
  g_autoptr (NerveClipSet) speech = speech_like (4, 0.5, 1);
  for (int t = 0; t < NERVE_NOISE_N_TYPES; t++) {
    nerve_noise_synth ((NerveNoiseType) t, &r, RATE, speech, x, RATE);
    gboolean finite = TRUE;
    for (gsize i = 0; i < RATE; i++)
      finite = finite && isfinite (x[i]);
    CU_ASSERT_TRUE (finite);
    CU_ASSERT_DOUBLE_EQUAL (energy (x, RATE) / RATE, 1.0, 1e-3);
  }
  nerve_noise_synth (NERVE_NOISE_HUM, &r, RATE, NULL, x, RATE);
  /* Hann-windowed DFT at 1 Hz steps: near the harmonics of 50 or 60 Hz (+-0.3 Hz per
   * harmonic of drift, +-2 Hz of window) versus the bins between them */
  double on = 0, off = 0;
  for (int f = 40; f < 400; f++) {
    double re = 0, im = 0;
    for (gsize i = 0; i < RATE; i++) {
      double w = 0.5 - 0.5 * cos (2 * G_PI * (double) i / RATE);
      re += w * x[i] * cos (2 * G_PI * f * (double) i / RATE);
      im += w * x[i] * sin (2 * G_PI * f * (double) i / RATE);
    }
    gboolean near = FALSE;
    for (int k = 1; k * 50 < 420; k++)
      near = near || fabs (f - 50.0 * k) <= 2 + 0.3 * k || fabs (f - 60.0 * k) <= 2 + 0.3 * k;
    if (near)
      on += re * re + im * im;
    else
      off += re * re + im * im;
  }
  printf ("  hum: %.0f x more energy near the mains harmonics than between them\n", on / off);
  CU_ASSERT_TRUE (on > 10 * off);
  /* modulation changes the level slowly, up to the depth */
  for (gsize i = 0; i < n; i++)
    x[i] = 1;
  nerve_noise_modulate (&r, RATE, 12, x, n);
  float lo = 10, hi = 0, step = 0;
  for (gsize i = 0; i < n; i++) {
    lo = MIN (lo, x[i]), hi = MAX (hi, x[i]);
    if (i)
      step = MAX (step, fabsf (x[i] - x[i - 1]));
  }
  CU_ASSERT_TRUE (20 * log10f (hi / lo) <= 12.01f && hi > lo);
  CU_ASSERT_TRUE (step < 1e-3f);
  g_free (x);
}

/* ---- loss gradients in double ---- */

typedef struct {
  double *g, *x, *s, *y;
  int N, T, K, stride;
  int lengths[2];
  double c, alpha;
} LossCtx;

static double
spectral_loss (gpointer p)
{
  LossCtx *c = p;
  return nerve_spectral_mask_loss_f64 (NULL, c->g, c->x, c->s, c->lengths, c->N, c->T, c->K, c->stride, c->c,
                                       c->alpha, 1);
}

static double
bce_loss (gpointer p)
{
  LossCtx *c = p;
  return nerve_vad_bce_loss_f64 (NULL, c->g, c->y, c->lengths, c->N, c->T, c->stride, c->K, 1);
}

static void
test_loss_gradients (void)
{
  LossCtx c = { .N = 2, .T = 4, .K = 5, .stride = 6, .lengths = { 4, 3 }, .c = 0.3, .alpha = 0.3 };
  gsize ng = (gsize) c.N * c.T * c.stride, nx = (gsize) c.N * c.T * 2 * c.K;
  c.g = g_new (double, ng), c.x = g_new (double, nx), c.s = g_new (double, nx), c.y = g_new (double, c.N * c.T);
  double *an = g_new0 (double, ng);
  nerve_test_fill_f64 (c.g, ng, 1, 0.45);
  for (gsize i = 0; i < ng; i++)
    c.g[i] += 0.5; /* gains in (0.05, 0.95) */
  nerve_test_fill_f64 (c.x, nx, 2, 1);
  nerve_test_fill_f64 (c.s, nx, 3, 0.7);
  for (int i = 0; i < c.N * c.T; i++)
    c.y[i] = i % 3 == 0;
  for (int a = 0; a < 3; a++) {
    c.alpha = a * 0.5; /* magnitude only, mixed, complex only */
    memset (an, 0, ng * sizeof *an);
    double l = nerve_spectral_mask_loss_f64 (an, c.g, c.x, c.s, c.lengths, c.N, c.T, c.K, c.stride, c.c, c.alpha, 1);
    CU_ASSERT_TRUE (l > 0);
    nerve_fd_check ("spectral loss", c.g, ng, an, spectral_loss, &c, 1e-6, 1e-6);
    /* frames past a sample's length and the column past the bins get nothing */
    CU_ASSERT_EQUAL (an[(gsize) (1 * c.T + 3) * c.stride + 1], 0);
    CU_ASSERT_EQUAL (an[c.K], 0);
  }
  memset (an, 0, ng * sizeof *an);
  nerve_vad_bce_loss_f64 (an, c.g, c.y, c.lengths, c.N, c.T, c.stride, c.K, 1);
  nerve_fd_check ("vad bce", c.g, ng, an, bce_loss, &c, 1e-6, 1e-6);
  /* the float kernels agree with the double ones */
  float *gf = g_new (float, ng), *xf = g_new (float, nx), *sf = g_new (float, nx), *df = g_new0 (float, ng);
  for (gsize i = 0; i < ng; i++)
    gf[i] = (float) c.g[i];
  for (gsize i = 0; i < nx; i++)
    xf[i] = (float) c.x[i], sf[i] = (float) c.s[i];
  memset (an, 0, ng * sizeof *an);
  double ld = nerve_spectral_mask_loss_f64 (an, c.g, c.x, c.s, c.lengths, c.N, c.T, c.K, c.stride, 0.3, 0.3, 1);
  float lf = nerve_spectral_mask_loss (df, gf, xf, sf, c.lengths, c.N, c.T, c.K, c.stride, 0.3f, 0.3f, 1);
  CU_ASSERT_DOUBLE_EQUAL (lf, ld, 1e-5 * ld);
  double worst = 0;
  for (gsize i = 0; i < ng; i++)
    worst = MAX (worst, fabs (df[i] - an[i]) / MAX (1e-3, fabs (an[i])));
  CU_ASSERT_TRUE (worst < 1e-3);
  /* a perfect mask (clean = gain * noisy) has zero loss */
  for (gsize i = 0; i < nx; i++)
    c.s[i] = c.x[i] * c.g[(i / (2 * c.K)) * c.stride + (i % (2 * c.K)) / 2];
  CU_ASSERT_DOUBLE_EQUAL (spectral_loss (&c), 0, 1e-12);
  g_free (gf), g_free (xf), g_free (sf), g_free (df);
  g_free (c.g), g_free (c.x), g_free (c.s), g_free (c.y), g_free (an);
}

/* ---- the time-domain loss ---- */

typedef struct {
  double *g, *x, *s, *w, *work, *e;
  int N, T, frames, K, stride, size, hop;
  NerveWaveLoss kind;
} WaveCtx;

static double
wave_loss (gpointer p)
{
  WaveCtx *c = p;
  return nerve_mask_waveform_loss_f64 (NULL, c->work, c->g, c->x, c->s, c->w, NULL, c->N, c->T, c->frames, c->K,
                                       c->stride, c->size, c->hop, c->kind, 1, NULL);
}

static double
plain_wave_loss (gpointer p)
{
  WaveCtx *c = p;
  double l = 0;
  nerve_waveform_loss_f64 (NULL, c->e, c->s, (gsize) c->frames * c->hop, c->kind, 1, &l);
  return l;
}

static void
test_waveform_loss_gradients (void)
{
  const struct {
    int size, hop;
    NerveWindowType win;
  } shapes[] = { { 8, 4, NERVE_WINDOW_SQRT_HANN }, { 12, 3, NERVE_WINDOW_HANN }, { 10, 5, NERVE_WINDOW_VORBIS } };
  for (gsize sh = 0; sh < G_N_ELEMENTS (shapes); sh++)
    for (int kind = 0; kind < 2; kind++) {
      WaveCtx c = { .N = 3, .T = 7, .frames = 6, .size = shapes[sh].size, .hop = shapes[sh].hop,
                    .kind = kind ? NERVE_WAVE_LOSS_SNR : NERVE_WAVE_LOSS_SISDR };
      c.K = c.size / 2 + 1, c.stride = c.K + 1;
      gsize ng = (gsize) c.N * c.T * c.stride, nx = (gsize) c.N * c.T * 2 * c.K, len = (gsize) c.frames * c.hop;
      c.g = g_new (double, ng), c.x = g_new (double, nx), c.s = g_new0 (double, c.N * len);
      c.w = g_new (double, c.size), c.e = g_new (double, len);
      c.work = g_new (double, nerve_mask_waveform_work_size_f64 (c.frames, c.size, c.hop));
      nerve_test_fill_f64 (c.g, ng, 11 + sh, 0.45);
      for (gsize i = 0; i < ng; i++)
        c.g[i] += 0.5;
      nerve_test_fill_f64 (c.x, nx, 12 + sh, 1);
      nerve_test_fill_f64 (c.s, 2 * len, 13 + sh, 0.3); /* the third sample's target is silent */
      float wf[16];
      nerve_denoise_synthesis_window (shapes[sh].win, c.size, c.hop, wf);
      for (int i = 0; i < c.size; i++)
        c.w[i] = wf[i];
      double *an = g_new0 (double, ng);
      int counted = -1;
      double l = nerve_mask_waveform_loss_f64 (an, c.work, c.g, c.x, c.s, c.w, NULL, c.N, c.T, c.frames, c.K, c.stride,
                                               c.size, c.hop, c.kind, 1, &counted);
      CU_ASSERT_EQUAL (counted, 2);
      CU_ASSERT_TRUE (isfinite (l) && fabs (l) > 0.01);
      nerve_fd_check (kind ? "-SNR through the inverse STFT" : "-SI-SDR through the inverse STFT", c.g, ng, an,
                      wave_loss, &c, 1e-6, 1e-6);
      /* rows past `frames`, the VAD column and the silent sample get nothing */
      CU_ASSERT_EQUAL (an[(gsize) (c.T - 1) * c.stride + 1], 0);
      CU_ASSERT_EQUAL (an[c.K], 0);
      CU_ASSERT_EQUAL (an[(gsize) (2 * c.T + 1) * c.stride + 1], 0);
      /* and the plain waveform loss on its own */
      double *de = g_new0 (double, len), lv = 0;
      nerve_test_fill_f64 (c.e, len, 14 + sh, 0.5);
      CU_ASSERT_TRUE (nerve_waveform_loss_f64 (de, c.e, c.s, len, c.kind, 1, &lv));
      nerve_fd_check ("waveform loss", c.e, len, de, plain_wave_loss, &c, 1e-6, 1e-6);
      g_free (de), g_free (an);
      g_free (c.g), g_free (c.x), g_free (c.s), g_free (c.w), g_free (c.e), g_free (c.work);
    }
  /* SI-SDR ignores the scale, SNR does not; a silent reference is refused */
  double s[64], e[64], l1 = 0, l2 = 0;
  nerve_test_fill_f64 (s, 64, 1, 1);
  nerve_test_fill_f64 (e, 64, 2, 0.1);
  for (int i = 0; i < 64; i++)
    e[i] += s[i];
  nerve_waveform_loss_f64 (NULL, e, s, 64, NERVE_WAVE_LOSS_SISDR, 1, &l1);
  for (int i = 0; i < 64; i++)
    e[i] *= 3;
  nerve_waveform_loss_f64 (NULL, e, s, 64, NERVE_WAVE_LOSS_SISDR, 1, &l2);
  CU_ASSERT_DOUBLE_EQUAL (l1, l2, 1e-4); /* up to eps = 1e-8 <s,s> */
  CU_ASSERT_TRUE (l1 < -15);
  nerve_waveform_loss_f64 (NULL, e, s, 64, NERVE_WAVE_LOSS_SNR, 1, &l2);
  CU_ASSERT_TRUE (l2 > l1 + 10);
  memset (s, 0, sizeof s);
  CU_ASSERT_FALSE (nerve_waveform_loss_f64 (NULL, e, s, 64, NERVE_WAVE_LOSS_SNR, 1, &l2));
}

/* The float path (FFT) resynthesises exactly what the streaming STFT does, and its
 * gradient matches the definition's. */
static void
test_waveform_loss_matches_stft (void)
{
  const int size = 512, hop = 128, K = size / 2 + 1, frames = 40, N = 2, stride = K + 1;
  const gsize len = (gsize) frames * hop, lat = size - hop;
  g_autoptr (NerveStft) stft = nerve_stft_new (size, hop, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_SQRT_HANN, NULL);
  g_autoptr (NerveFft) fft = nerve_fft_new (size, NULL);
  float *x = g_new (float, N * len), *s = g_new (float, N * len), *spec = g_new (float, (gsize) N * frames * 2 * K);
  float *g = g_new (float, (gsize) N * frames * stride), *out = g_new (float, len), *m = g_new (float, 2 * K);
  float *w = g_new (float, size), *work = g_new (float, nerve_mask_waveform_work_size (frames, size, hop));
  float *d1 = g_new0 (float, (gsize) N * frames * stride), *d2 = g_new0 (float, (gsize) N * frames * stride);
  nerve_test_fill_f32 (x, N * len, 1, 0.3f);
  nerve_test_fill_f32 (s, N * len, 2, 0.3f);
  nerve_test_fill_f32 (g, (gsize) N * frames * stride, 3, 0.5f);
  for (gsize i = 0; i < (gsize) N * frames * stride; i++)
    g[i] += 0.5f;
  nerve_denoise_synthesis_window (NERVE_WINDOW_SQRT_HANN, size, hop, w);
  double want = 0;
  for (int n = 0; n < N; n++) {
    nerve_denoise_frames (stft, x + n * len, frames, spec + (gsize) n * frames * 2 * K, NULL);
    nerve_stft_reset (stft);
    for (int t = 0; t < frames; t++) {
      const float *sp = spec + ((gsize) n * frames + t) * 2 * K, *gt = g + ((gsize) n * frames + t) * stride;
      for (int k = 0; k < K; k++)
        m[2 * k] = gt[k] * sp[2 * k], m[2 * k + 1] = gt[k] * sp[2 * k + 1];
      nerve_stft_synthesize (stft, m, out + (gsize) t * hop);
    }
    float l = 0;
    CU_ASSERT_TRUE (nerve_waveform_loss (NULL, out + lat, s + n * len, len - lat, NERVE_WAVE_LOSS_SNR, 1, &l));
    want += l / N;
  }
  float got = nerve_mask_waveform_loss (d1, work, g, spec, s, w, fft, N, frames, frames, K, stride, size, hop,
                                        NERVE_WAVE_LOSS_SNR, 1, NULL);
  printf ("  -SNR of the streamed STFT output %.6f dB, of the batched resynthesis %.6f dB\n", want, (double) got);
  CU_ASSERT_DOUBLE_EQUAL (got, want, 1e-4);
  float ref = nerve_mask_waveform_loss (d2, work, g, spec, s, w, NULL, N, frames, frames, K, stride, size, hop,
                                        NERVE_WAVE_LOSS_SNR, 1, NULL);
  CU_ASSERT_DOUBLE_EQUAL (got, ref, 1e-4);
  double worst = 0, big = 0;
  for (gsize i = 0; i < (gsize) N * frames * stride; i++)
    big = MAX (big, fabs (d2[i]));
  for (gsize i = 0; i < (gsize) N * frames * stride; i++)
    worst = MAX (worst, fabs (d1[i] - d2[i]) / big);
  printf ("  FFT vs definition: largest gradient difference %.2g of the largest gradient\n", worst);
  CU_ASSERT_TRUE (worst < 1e-4 && big > 0);
  /* the reference inverse DFT is numpy's irfft, i.e. the FFT's inverse */
  float *a = g_new (float, size), *b = g_new (float, size);
  nerve_irdft_ref (a, spec + 10 * 2 * K, 1, size);
  nerve_fft_inverse (fft, spec + 10 * 2 * K, b);
  nerve_assert_close ("irdft reference vs FFT inverse", a, b, size, 1e-5);
  g_free (a), g_free (b);
  g_free (x), g_free (s), g_free (spec), g_free (g), g_free (out), g_free (m), g_free (w), g_free (work);
  g_free (d1), g_free (d2);
}

static void
test_vad_targets (void)
{
  enum { K = 5, T = 6 };
  float spec[T * 2 * K], vad[T];
  memset (spec, 0, sizeof spec);
  for (int k = 0; k < 2 * K; k++) {
    spec[1 * 2 * K + k] = 1;      /* loud */
    spec[2 * 2 * K + k] = 0.1f;   /* -20 dB: still voice at 30 dB */
    spec[3 * 2 * K + k] = 0.001f; /* -60 dB: not */
  }
  nerve_denoise_vad_targets (spec, T, K, 30, vad);
  const float want[T] = { 0, 1, 1, 0, 0, 0 };
  for (int t = 0; t < T; t++)
    CU_ASSERT_EQUAL (vad[t], want[t]);
  memset (spec, 0, sizeof spec);
  nerve_denoise_vad_targets (spec, T, K, 30, vad);
  for (int t = 0; t < T; t++)
    CU_ASSERT_EQUAL (vad[t], 0);
}

/* ---- training ---- */

static const char *tiny_arch = "{\"input\": [40, 65], \"layers\": ["
                               "{\"type\": \"dense\", \"name\": \"in\", \"units\": 32}, {\"type\": \"tanh\"},"
                               "{\"type\": \"gru\", \"name\": \"gru\", \"hidden\": 32},"
                               "{\"type\": \"dense\", \"name\": \"mask\", \"units\": 65},"
                               "{\"type\": \"dense\", \"name\": \"vad\", \"units\": 1, \"inputs\": [\"gru\"]},"
                               "{\"type\": \"concat\", \"inputs\": [\"mask\", \"vad\"]},"
                               "{\"type\": \"sigmoid\"}]}";

static NerveDenoiseTrainConfig
tiny_config (void)
{
  NerveDenoiseTrainConfig c;
  nerve_denoise_train_config_defaults (&c);
  c.rate = RATE;
  c.stft_size = 128;
  c.stft_hop = 64;
  c.segment_s = 0.32f; /* 40 frames */
  c.mix = mix_config ();
  c.mix.synth_prob = 1;
  c.mix.snr_min = -5, c.mix.snr_max = 5;
  c.steps_per_epoch = 25;
  c.val_mixtures = 6;
  c.val_seconds = 1;
  return c;
}

static NerveTrainConfig
tiny_train (const char *out, const char *ckpt)
{
  NerveTrainConfig t = { .epochs = 3, .batch = 8, .seed = 3, .clip_norm = 5, .out = out, .checkpoint = ckpt };
  nerve_optim_config_defaults (&t.optim, NERVE_OPTIM_ADAM);
  nerve_schedule_parse (&t.schedule, "constant", NULL);
  t.schedule.base_lr = 0.01f;
  return t;
}

typedef struct {
  double first, last;
  int epochs;
} Seen;

static void
record (const NerveDenoiseProgress *p, gpointer data)
{
  Seen *s = data;
  if (p->phase != NERVE_TRAIN_EPOCH_END)
    return;
  if (s->epochs++ == 0)
    s->first = p->val_sisdri;
  s->last = p->val_sisdri;
  printf ("  epoch %d: loss %.4f (wave %.2f dB, vad %.3f), val SI-SDRi %+.2f dB (inputs %.2f dB)\n", p->epoch, p->loss,
          p->wave_loss, p->vad_loss, p->val_sisdri, p->val_sisdr_in);
}

static NerveModel *
tiny_model (const NerveDenoiseTrainConfig *c)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (tiny_arch, &err);
  if (!m) {
    fprintf (stderr, "  %s\n", err->message);
    return NULL;
  }
  nerve_model_init_params (m, 2);
  nerve_denoise_set_meta (m, c);
  CU_ASSERT_TRUE (nerve_denoise_check_model (m, c, NULL));
  return m;
}

/* Trains a tiny model of config c on fixed speech-like clips from an untrained baseline
 * (epoch 0); the best weights end in the returned model, *val_out is the validation set. */
static NerveModel *
train_tiny (NerveDenoiseTrainConfig *c, Seen *seen, NerveMixSet **val_out)
{
  g_autoptr (NerveClipSet) speech = speech_like (12, 1.5, 21);
  g_autoptr (NerveClipSet) val_speech = speech_like (4, 1.5, 22);
  g_autoptr (NerveMixer) mix = nerve_mixer_new (&c->mix, RATE, speech, NULL, NULL, NULL);
  g_autoptr (NerveMixer) vmix = nerve_mixer_new (&c->mix, RATE, val_speech, NULL, NULL, NULL);
  g_autoptr (NerveMixSet) val = nerve_mix_set_new (vmix, c->val_mixtures, (gsize) (c->val_seconds * RATE), 5);
  g_autoptr (NerveModel) m = tiny_model (c);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_TRUE (nerve_denoise_fold_input_norm (m, c, mix, 2, 8, 9));
  NerveTrainConfig t = tiny_train (NULL, NULL);
  t.baseline_first = TRUE; /* epoch 0 = the untrained model */
  g_autoptr (GError) err = NULL;
  gboolean ok = nerve_denoise_train (m, c, &t, mix, val, record, seen, &err);
  if (!ok)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_TRUE_FATAL (ok);
  if (val_out)
    *val_out = g_steal_pointer (&val);
  return g_steal_pointer (&m);
}

static void
test_tiny_training_improves (void)
{
  NerveDenoiseTrainConfig c = tiny_config ();
  Seen seen = { 0 };
  g_autoptr (NerveMixSet) val = NULL;
  g_autoptr (NerveModel) m = train_tiny (&c, &seen, &val);
  CU_ASSERT_EQUAL (seen.epochs, 4);
  CU_ASSERT_TRUE (seen.last > seen.first + 2);
  /* m holds the best weights: validating it again gives the best value seen */
  double again = nerve_denoise_validate (m, val, NULL, NULL);
  CU_ASSERT_TRUE (again >= seen.last - 1e-6);
}

/* The time-domain loss alone trains the gains too (through the inverse STFT). */
static void
test_tiny_training_sisdr (void)
{
  NerveDenoiseTrainConfig c = tiny_config ();
  c.spectral_weight = 0;
  c.sisdr_weight = 0.05f;
  Seen seen = { 0 };
  g_autoptr (NerveModel) m = train_tiny (&c, &seen, NULL);
  CU_ASSERT_PTR_NOT_NULL (m);
  CU_ASSERT_TRUE (seen.last > seen.first + 2);
}

static void
test_resume_equals_uninterrupted (void)
{
  NerveDenoiseTrainConfig c = tiny_config ();
  c.steps_per_epoch = 6;
  g_autoptr (NerveClipSet) speech = speech_like (6, 1.0, 31);
  g_autoptr (NerveMixer) mix = nerve_mixer_new (&c.mix, RATE, speech, NULL, NULL, NULL);
  g_autoptr (NerveMixSet) val = nerve_mix_set_new (mix, 3, RATE / 2, 5);
  g_autofree char *dir = g_dir_make_tmp ("nerve-dtrain-XXXXXX", NULL);
  g_autofree char *out1 = g_build_filename (dir, "a.nerve", NULL), *out2 = g_build_filename (dir, "b.nerve", NULL);
  g_autofree char *ck1 = g_strconcat (out1, ".ckpt", NULL), *ck2 = g_strconcat (out2, ".ckpt", NULL);
  g_autoptr (NerveModel) a = tiny_model (&c), b = tiny_model (&c);
  NerveTrainConfig ta = tiny_train (out1, ck1), tb = tiny_train (out2, ck2);
  ta.patience = tb.patience = 0;
  CU_ASSERT_TRUE_FATAL (nerve_denoise_train (a, &c, &ta, mix, val, NULL, NULL, NULL));
  tb.stop_after = 2;
  CU_ASSERT_TRUE_FATAL (nerve_denoise_train (b, &c, &tb, mix, val, NULL, NULL, NULL));
  /* a fresh model resumed from the checkpoint finishes the third epoch */
  g_autoptr (NerveModel) b2 = tiny_model (&c);
  nerve_model_init_params (b2, 99); /* the checkpoint must overwrite these */
  tb.stop_after = 0;
  tb.resume = TRUE;
  CU_ASSERT_TRUE_FATAL (nerve_denoise_train (b2, &c, &tb, mix, val, NULL, NULL, NULL));
  CU_ASSERT_EQUAL (memcmp (a->arena, b2->arena, a->n_floats * sizeof (float)), 0);
  /* the checkpoints of both runs are the same bytes */
  g_autofree char *t1 = NULL, *t2 = NULL;
  gsize n1 = 0, n2 = 0;
  g_file_get_contents (ck1, &t1, &n1, NULL);
  g_file_get_contents (ck2, &t2, &n2, NULL);
  CU_ASSERT_TRUE (n1 > 0 && n1 == n2 && memcmp (t1, t2, n1) == 0);
  const char *files[] = { out1, out2, ck1, ck2 };
  for (int i = 0; i < 4; i++)
    g_unlink (files[i]);
  g_rmdir (dir);
}

static void
test_model_checks (void)
{
  NerveDenoiseTrainConfig c = tiny_config ();
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) wrong = nerve_model_new ("{\"input\": [40, 64], \"layers\": [{\"type\": \"dense\", \"units\": 64}]}", NULL);
  CU_ASSERT_FALSE (nerve_denoise_check_model (wrong, &c, &err));
  CU_ASSERT_TRUE (err && strstr (err->message, "[frames, 65]"));
  g_clear_error (&err);
  c.segment_s = 1; /* 125 frames > 40 */
  g_autoptr (NerveModel) m = nerve_model_new (tiny_arch, NULL);
  CU_ASSERT_FALSE (nerve_denoise_check_model (m, &c, &err));
  CU_ASSERT_TRUE (err && strstr (err->message, "segment"));
}

/* ---- the command line on a few synthetic files ---- */

static void
test_cli_train_and_finetune (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-dcli-XXXXXX", NULL);
  g_autoptr (NerveClipSet) speech = speech_like (6, 1.0, 41);
  g_autofree char *sdir = g_build_filename (dir, "speech", NULL), *ndir = g_build_filename (dir, "noise", NULL);
  for (int i = 0; i < speech->n; i++)
    write_wav (sdir, speech->paths[i], speech->x[i], speech->len[i], RATE);
  float *nz = g_new (float, RATE);
  NerveRng r;
  nerve_rng_seed (&r, 1);
  nerve_noise_synth (NERVE_NOISE_PINK, &r, RATE, NULL, nz, RATE);
  for (int i = 0; i < RATE; i++)
    nz[i] *= 0.1f;
  write_wav (ndir, "hiss.wav", nz, RATE, RATE);
  g_free (nz);
  g_autofree char *arch = g_build_filename (dir, "tiny.json", NULL), *recipe = g_build_filename (dir, "tiny.recipe", NULL);
  g_file_set_contents (arch, tiny_arch, -1, NULL);
  g_autofree char *text = g_strdup_printf (
    "[model]\narchitecture = tiny.json\ntask = denoise\n[audio]\nrate = %d\n[stft]\nsize = 128\nhop = 64\n"
    "window = sqrt-hann\n[data]\nspeech = speech\nnoise = noise\ntts = no-tts-here\nvalidation_fraction = 0.2\n"
    "licenses = synthetic test clips\n[mix]\nsegment = 0.32\nrir_prob = 0\n[validation]\nmixtures = 3\nseconds = 0.5\n"
    "[train]\nepochs = 2\nsteps_per_epoch = 3\nbatch = 4\n[optimizer]\nlr = 0.003\n", RATE);
  g_file_set_contents (recipe, text, -1, NULL);
  g_autofree char *out = g_build_filename (dir, "tiny.nerve", NULL), *ft = g_build_filename (dir, "ft.nerve", NULL);
  /* the TTS folder is missing: the message names the script that makes it */
  NerveRun run = nerve_test_run_cli ((const char *const[]) { "train", recipe, "--out", out, NULL });
  nerve_test_run_check (&run, 1, NULL, "make-tts.sh");
  nerve_test_run_clear (&run);
  g_auto (GStrv) parts = g_strsplit (text, "tts = no-tts-here\n", -1);
  g_autofree char *fixed = g_strjoinv ("", parts);
  g_file_set_contents (recipe, fixed, -1, NULL);
  run = nerve_test_run_cli ((const char *const[]) { "train", recipe, "--out", out, NULL });
  nerve_test_run_check (&run, 0, "val SI-SDRi", NULL);
  nerve_test_run_clear (&run);
  g_autoptr (NerveModel) m = nerve_model_load (out, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.task"), "denoise");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.denoise.frontend"), "mask");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.stft.window"), "sqrt-hann");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.denoise.vad"), "1");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.license"), "synthetic test clips");
  CU_ASSERT_TRUE (strstr (nerve_model_get_meta (m, "nerve.denoise.recipe"), "steps_per_epoch = 3") != NULL);
  CU_ASSERT_TRUE (strstr (nerve_model_get_meta (m, "nerve.data"), "speech: 6 clips") != NULL);
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, NULL);
  CU_ASSERT_PTR_NOT_NULL (d);
  /* finetune on the same folders: starts from the model's validation, keeps the best */
  run = nerve_test_run_cli ((const char *const[]) { "finetune", out, "--speech", sdir, "--noise", ndir, "--steps", "4",
                                                    "--eval-every", "2", "--batch", "2", "--out", ft, NULL });
  nerve_test_run_check (&run, 0, "start       val SI-SDRi", NULL);
  nerve_test_run_clear (&run);
  g_autoptr (NerveModel) f = nerve_model_load (ft, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (f, "nerve.finetuned_from"), "tiny.nerve");
  /* denoise folders for a model that is not a mask denoiser: a clear refusal */
  g_autoptr (NerveModel) cls = nerve_model_new ("{\"input\": [4], \"layers\": [{\"type\": \"dense\", \"units\": 2}]}", NULL);
  nerve_model_set_meta (cls, "nerve.task", "classify");
  g_autofree char *clsf = g_build_filename (dir, "cls.nerve", NULL);
  CU_ASSERT_TRUE (nerve_model_save (cls, clsf, NULL));
  run = nerve_test_run_cli ((const char *const[]) { "finetune", clsf, "--speech", sdir, "--noise", ndir, NULL });
  nerve_test_run_check (&run, 1, NULL, "\"mask\" denoise models");
  nerve_test_run_clear (&run);
  g_autofree char *cmd = g_strdup_printf ("rm -rf '%s'", dir);
  CU_ASSERT_EQUAL (system (cmd), 0);
}

static void
test_recipe_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-drecipe-XXXXXX", NULL);
  g_autofree char *arch = g_build_filename (dir, "a.json", NULL), *path = g_build_filename (dir, "r.recipe", NULL);
  g_file_set_contents (arch, tiny_arch, -1, NULL);
  const struct {
    const char *body, *needle;
  } cases[] = {
    { "[data]\nspeech = s\n[mix]\nsnr_mni = 3\n", "unknown key 'snr_mni'" },
    { "[data]\nspeech = s\nphrases = true\n", "unknown key 'phrases'" },
    { "[data]\nnoise = n\n", "[data] speech is required" },
    { "[data]\nspeech = s\n[mix]\nsnr_min = 10\nsnr_max = 0\n", "snr_min <= snr_max" },
    { "[data]\nspeech = a; b\nspeech_weights = 1\n", "speech_weights" },
    { "[data]\nspeech = s\n[stft]\nwindow = triangle\n", "window" },
    { "[data]\nspeech = s\n[loss]\nspectral_weight = 0\n", "all 0" },
    { "[data]\nspeech = s\n[loss]\nsisdr_weight = -1\n", "sisdr_weight" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *t = g_strdup_printf ("[model]\narchitecture = a.json\ntask = denoise\n%s", cases[i].body);
    g_file_set_contents (path, t, -1, NULL);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveRecipe) r = nerve_recipe_load (path, &err);
    CU_ASSERT_PTR_NULL (r);
    gboolean ok = err && strstr (err->message, cases[i].needle);
    CU_ASSERT_TRUE (ok);
    if (!ok)
      fprintf (stderr, "  case %zu: %s\n", i, err ? err->message : "(loaded)");
  }
  /* a good one, and the same groups read back from text (what finetune does) */
  const char *good = "[model]\narchitecture = a.json\ntask = denoise\n[data]\nspeech = s; t\nspeech_weights = 1; 0.5\n"
                     "tts = tts\n[mix]\nsnr_min = -3\n[loss]\ncompress = 0.5\nsisdr_weight = 0.02\nspectral_weight = 0.5\n"
                     "[train]\nsteps_per_epoch = 7\n";
  g_file_set_contents (path, good, -1, NULL);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRecipe) r = nerve_recipe_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r->denoise);
  CU_ASSERT_EQUAL (r->denoise->cfg.steps_per_epoch, 7);
  CU_ASSERT_DOUBLE_EQUAL (r->denoise->cfg.mix.snr_min, -3, 0);
  CU_ASSERT_DOUBLE_EQUAL (r->denoise->speech_weights[1], 0.5, 0);
  CU_ASSERT_TRUE (g_str_has_suffix (r->denoise->tts, "/tts") && g_path_is_absolute (r->denoise->tts));
  NerveDenoiseTrainConfig c;
  nerve_denoise_train_config_defaults (&c);
  CU_ASSERT_TRUE (nerve_denoise_config_from_recipe_text (good, &c, NULL));
  CU_ASSERT_DOUBLE_EQUAL (c.compress, 0.5, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (c.sisdr_weight, 0.02, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (c.spectral_weight, 0.5, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (c.snr_weight, 0, 0);
  g_unlink (arch);
  g_unlink (path);
  g_rmdir (dir);
}

NERVE_TEST_MAIN ("denoise-train", { "mix hits the drawn SNR and level, never clips", test_mix_snr_and_level },
                 { "reverberation: aligned early-reflection target", test_mix_reverb_target },
                 { "mixtures are a function of the seed", test_mix_determinism },
                 { "held-out rule drops the evaluation files", test_heldout_rule },
                 { "validation split by file name", test_split_by_name },
                 { "synthetic noise colours and types", test_noise_colours },
                 { "loss gradients vs finite differences (double)", test_loss_gradients },
                 { "VAD targets from clean frame energy", test_vad_targets },
                 { "time-domain loss gradients through the inverse STFT (double)", test_waveform_loss_gradients },
                 { "time-domain loss resynthesises like the streaming STFT", test_waveform_loss_matches_stft },
                 { "model shape checks", test_model_checks },
                 { "tiny training raises validation SI-SDRi", test_tiny_training_improves },
                 { "tiny training on -SI-SDR alone raises it too", test_tiny_training_sisdr },
                 { "resume equals uninterrupted", test_resume_equals_uninterrupted },
                 { "recipe errors and stored-recipe parsing", test_recipe_errors },
                 { "nerve train / nerve finetune end to end", test_cli_train_and_finetune })

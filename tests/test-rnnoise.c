/* The "rnnoise" denoiser front end: framing and latency with a pass-through network,
 * the pitch analysis on periodic signals, the attenuation floor, silence, the
 * framework around it, and end to end against ffmpeg's arnndn on the same 48 kHz
 * speech + noise (when ffmpeg and the shared data are there). */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <glib/gstdio.h>

#include "check.h"
#include "nerve.h"
#include "rnnoise-features.h"

#define RATE 48000
#define HOP 480

/* The committed tiny model, its gains forced to `gain` (and the VAD to `vad`) by
 * zeroing the output layers' weights; scaling "rnnoise" or "arnndn". */
static NerveModel *
tiny_model (float gain, float vad, const char *scaling)
{
  g_autofree char *path = nerve_test_path ("tests/fixtures/rnnoise-tiny.rnnn");
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_import_rnnoise (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_set_meta (m, "nerve.rnnoise.scaling", scaling);
  struct {
    const char *w, *b;
    float p;
  } heads[] = { { "denoise_output.weight", "denoise_output.bias", gain }, { "vad_output.weight", "vad_output.bias", vad } };
  for (int h = 0; h < 2; h++) {
    if (isnan (heads[h].p))
      continue;
    NerveParam *w = nerve_model_find_param (m, heads[h].w), *b = nerve_model_find_param (m, heads[h].b);
    memset (w->data, 0, sizeof (float) * nerve_shape_numel (&w->shape));
    float logit = heads[h].p >= 1 ? 40.0f : heads[h].p <= 0 ? -40.0f : logf (heads[h].p / (1 - heads[h].p));
    for (gsize i = 0; i < nerve_shape_numel (&b->shape); i++)
      b->data[i] = logit;
  }
  return m;
}

/* RNNoise's input high-pass, written again here: what a pass-through gives back. */
static void
highpass_ref (const float *in, float *out, gsize n)
{
  double m0 = 0, m1 = 0;
  for (gsize i = 0; i < n; i++) {
    double x = in[i], y = x + m0;
    m0 = m1 + (-2 * x + 1.99599 * y);
    m1 = x - 0.99600 * y;
    out[i] = (float) y;
  }
}

static double
snr_db (const float *ref, const float *x, gsize n)
{
  double s = 0, e = 0;
  for (gsize i = 0; i < n; i++) {
    s += (double) ref[i] * ref[i];
    e += ((double) x[i] - ref[i]) * ((double) x[i] - ref[i]);
  }
  return 10 * log10 ((s + 1e-30) / (e + 1e-30));
}

static double
si_sdr_db (const float *ref, const float *x, gsize n)
{
  double rr = 0, rx = 0;
  for (gsize i = 0; i < n; i++)
    rr += (double) ref[i] * ref[i], rx += (double) ref[i] * x[i];
  double a = rx / (rr + 1e-30), s = 0, e = 0;
  for (gsize i = 0; i < n; i++) {
    double t = a * ref[i], d = x[i] - t;
    s += t * t, e += d * d;
  }
  return 10 * log10 ((s + 1e-30) / (e + 1e-30));
}

/* A signal below 20 kHz: three tones and a chirp. */
static float *
tones (gsize n, float amp)
{
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++) {
    double t = (double) i / RATE;
    x[i] = amp * (float) (0.5 * sin (2 * G_PI * 440 * t) + 0.3 * sin (2 * G_PI * 3100 * t + 1) +
                          0.2 * sin (2 * G_PI * (200 + 3000 * t) * t));
  }
  return x;
}

/* With gains forced to 1 the front end is a delay by one hop of the high-passed
 * input (the pitch filter adds nothing when the gain leaves nothing to restore), at
 * both scalings, through the framework's aligned whole-signal call. */
static void
test_pass_through (void)
{
  const char *scalings[] = { "rnnoise", "arnndn" };
  for (int s = 0; s < 2; s++) {
    g_autoptr (NerveModel) m = tiny_model (1.0f, 0.75f, scalings[s]);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
    if (!d)
      fprintf (stderr, "  %s\n", err->message);
    CU_ASSERT_PTR_NOT_NULL_FATAL (d);
    CU_ASSERT_STRING_EQUAL (nerve_denoiser_frontend (d), "rnnoise");
    CU_ASSERT_EQUAL (nerve_denoiser_hop (d), HOP);
    CU_ASSERT_EQUAL (nerve_denoiser_latency (d), HOP);
    CU_ASSERT_EQUAL (nerve_denoiser_rate (d), RATE);
    const gsize n = 30 * HOP + 123;
    g_autofree float *x = tones (n, 0.3f), *hp = g_new (float, n), *y = g_new (float, n);
    g_autofree NerveDenoiseFrame *fr = g_new (NerveDenoiseFrame, n / HOP + 1);
    highpass_ref (x, hp, n);
    nerve_denoise_signal (d, x, n, y, fr);
    double snr = snr_db (hp + HOP, y + HOP, n - 2 * HOP); /* the first hop has no history */
    printf ("  %s: pass-through SNR %.1f dB\n", scalings[s], snr);
    CU_ASSERT (snr > 60);
    CU_ASSERT_DOUBLE_EQUAL (fr[10].vad, 0.75, 1e-5);
    CU_ASSERT (fr[10].snr_db > 60); /* nothing removed */
  }
}

/* Gains forced to 0: the output is what the attenuation floor lets through. */
static void
test_attenuation_floor (void)
{
  g_autoptr (NerveModel) m = tiny_model (0.0f, NAN, "rnnoise");
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  const gsize n = 40 * HOP;
  g_autofree float *x = tones (n, 0.3f), *y = g_new (float, n);
  double ein = 0;
  for (gsize i = 10 * HOP; i < n - HOP; i++)
    ein += (double) x[i] * x[i];
  const float limits[] = { 12, 20 };
  for (int k = 0; k < 2; k++) {
    nerve_denoiser_set_attenuation_limit (d, limits[k]);
    nerve_denoise_signal (d, x, n, y, NULL);
    double eout = 0;
    for (gsize i = 10 * HOP; i < n - HOP; i++)
      eout += (double) y[i] * y[i];
    double db = 10 * log10 (eout / ein);
    printf ("  limit %.0f dB: output %.2f dB\n", limits[k], db);
    CU_ASSERT (fabs (db + limits[k]) < 0.5);
  }
  nerve_denoiser_set_attenuation_limit (d, G_MAXFLOAT);
  nerve_denoise_signal (d, x, n, y, NULL);
  double eout = 0;
  for (gsize i = 10 * HOP; i < n - HOP; i++)
    eout += (double) y[i] * y[i];
  CU_ASSERT (10 * log10 (eout / ein) < -60);
}

/* Near-silence passes unchanged and reports no voice; the network does not run. */
static void
test_silence (void)
{
  g_autoptr (NerveModel) m = tiny_model (0.0f, 0.9f, "rnnoise");
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, NULL);
  const gsize n = 20 * HOP;
  g_autofree float *x = tones (n, 1e-9f), *y = g_new (float, n), *hp = g_new (float, n);
  g_autofree NerveDenoiseFrame *fr = g_new (NerveDenoiseFrame, 20);
  highpass_ref (x, hp, n);
  nerve_denoise_signal (d, x, n, y, fr);
  CU_ASSERT (snr_db (hp + HOP, y + HOP, n - 2 * HOP) > 60); /* gains 0 were not applied */
  for (int i = 0; i < 20; i++)
    CU_ASSERT_EQUAL (fr[i].vad, 0.0f);
}

/* Pulse trains and harmonic tones: the period found is the true one. */
static void
test_pitch_periods (void)
{
  static const int periods[] = { 96, 160, 218, 300, 441 };
  for (gsize p = 0; p < G_N_ELEMENTS (periods); p++) {
    NerveRnnoiseAnalysis a;
    memset (&a, 0, sizeof a);
    float x[HOP];
    int period = 0;
    for (int f = 0; f < 12; f++) {
      for (int i = 0; i < HOP; i++) {
        int t = f * HOP + i;
        double ph = 2 * G_PI * t / periods[p];
        x[i] = (float) (3000 * (sin (ph) + 0.6 * sin (2 * ph + 0.3) + 0.4 * sin (3 * ph + 1) + 0.2 * sin (4 * ph)));
      }
      period = nerve_rnnoise_pitch (&a, x);
    }
    printf ("  period %d: found %d (gain %.2f)\n", periods[p], period, a.last_gain);
    CU_ASSERT (abs (period - periods[p]) <= 1);
    CU_ASSERT (a.last_gain > 0.8f);
  }
}

/* Bands: a flat spectrum has band energies proportional to the band widths, and
 * interpolating per-band values and summing them back with the same triangles is
 * consistent. */
static void
test_bands (void)
{
  float X[2 * NERVE_RNN_BINS], E[NERVE_RNN_BANDS], g[NERVE_RNN_BANDS], gb[NERVE_RNN_BINS];
  for (int k = 0; k < NERVE_RNN_BINS; k++)
    X[2 * k] = 1, X[2 * k + 1] = 0;
  nerve_rnnoise_band_energy (X, E);
  static const int edge[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 12, 14, 16, 20, 24, 28, 34, 40, 48, 60, 78, 100 };
  for (int b = 1; b < NERVE_RNN_BANDS - 1; b++) /* half of each neighbouring band */
    CU_ASSERT_DOUBLE_EQUAL (E[b], 2.0 * (edge[b + 1] - edge[b - 1]), 1e-3);
  /* the first and last bands hold one half-triangle each, doubled */
  CU_ASSERT_DOUBLE_EQUAL (E[0], 5.0, 1e-3);
  CU_ASSERT_DOUBLE_EQUAL (E[NERVE_RNN_BANDS - 1], 87.0, 1e-3);
  for (int b = 0; b < NERVE_RNN_BANDS; b++)
    g[b] = 0.1f * (float) b;
  nerve_rnnoise_interp_band_gain (g, gb);
  for (int b = 0; b < NERVE_RNN_BANDS - 1; b++)
    CU_ASSERT_DOUBLE_EQUAL (gb[edge[b] * 4], g[b], 1e-6);
  CU_ASSERT_EQUAL (gb[400], 0.0f); /* nothing above 20 kHz */
  CU_ASSERT_EQUAL (gb[480], 0.0f);
  /* the DCT is orthonormal: energy is kept */
  float v[NERVE_RNN_BANDS], c[NERVE_RNN_BANDS];
  double ev = 0, ec = 0;
  nerve_test_fill_f32 (v, NERVE_RNN_BANDS, 7, 3);
  nerve_rnnoise_dct (v, c);
  for (int b = 0; b < NERVE_RNN_BANDS; b++)
    ev += (double) v[b] * v[b], ec += (double) c[b] * c[b];
  CU_ASSERT_DOUBLE_EQUAL (ev, ec, 1e-4 * ev);
}

static void
test_bad_models (void)
{
  g_autoptr (NerveModel) m = tiny_model (1.0f, NAN, "loud");
  g_autoptr (GError) err = NULL;
  CU_ASSERT_PTR_NULL (nerve_denoiser_new (m, &err));
  CU_ASSERT (err && strstr (err->message, "nerve.rnnoise.scaling is 'loud'"));
  g_clear_error (&err);
  nerve_model_set_meta (m, "nerve.rnnoise.scaling", "rnnoise");
  nerve_model_set_meta (m, "nerve.audio.rate", "16000");
  CU_ASSERT_PTR_NULL (nerve_denoiser_new (m, &err));
  CU_ASSERT (err && strstr (err->message, "48000"));
  g_clear_error (&err);
  /* a network of the wrong width */
  g_autoptr (NerveModel) w = nerve_model_new ("{\"input\": [10, 40], \"layers\": [{\"type\": \"dense\", \"units\": 23}]}", NULL);
  nerve_model_set_meta (w, "nerve.task", "denoise");
  nerve_model_set_meta (w, "nerve.denoise.frontend", "rnnoise");
  nerve_model_set_meta (w, "nerve.audio.rate", "48000");
  CU_ASSERT_PTR_NULL (nerve_denoiser_new (w, &err));
  CU_ASSERT (err && strstr (err->message, "takes 40 and gives 23"));
}

/* ---- against ffmpeg's arnndn ---- */

/* Reads a whole f32le file. */
static float *
read_f32 (const char *path, gsize *n)
{
  char *data = NULL;
  gsize len = 0;
  if (!g_file_get_contents (path, &data, &len, NULL))
    return NULL;
  *n = len / sizeof (float);
  return (float *) data;
}

static gboolean
run_ffmpeg (const char *const *argv)
{
  g_autofree char *errs = NULL;
  int status = 0;
  g_autoptr (GError) err = NULL;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL, NULL, NULL, NULL,
                     &errs, &status, &err) ||
      !g_spawn_check_wait_status (status, NULL)) {
    fprintf (stderr, "  ffmpeg failed: %s\n", err ? err->message : errs);
    return FALSE;
  }
  return TRUE;
}

/* Speech (an LJ Speech clip resampled to 48 kHz by ffmpeg) plus seeded noise at
 * snr dB: white noise and a low-passed rumble, in equal parts. */
static float *
noisy_speech (const char *dir, const char *tmp, const char *clip, double snr, float **clean, gsize *n)
{
  g_autofree char *flac = g_strdup_printf ("%s/speech/ljspeech/%s.flac", dir, clip);
  g_autofree char *raw = g_build_filename (tmp, "clean.f32", NULL);
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-y", "-i", flac, "-ar", "48000", "-ac", "1",
                         "-f", "f32le", raw, NULL };
  if (!run_ffmpeg (argv))
    return NULL;
  float *s = read_f32 (raw, n);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  NerveRng rng;
  nerve_rng_seed (&rng, 2024);
  float *x = g_new (float, *n), lp = 0;
  double es = 0, en = 0;
  for (gsize i = 0; i < *n; i++) {
    float w = nerve_rng_normal (&rng);
    lp = 0.995f * lp + 0.1f * nerve_rng_normal (&rng);
    x[i] = 0.5f * w + lp;
    es += (double) s[i] * s[i], en += (double) x[i] * x[i];
  }
  float k = (float) sqrt (es / en / pow (10, snr / 10));
  for (gsize i = 0; i < *n; i++)
    x[i] = s[i] + k * x[i];
  *clean = s;
  return x;
}

typedef struct {
  double snr_vs_ffmpeg;
  int lag;
  double sisdr_in, sisdr_ffmpeg, sisdr_nerve;
  double realtime; /* seconds of audio per CPU second of Nerve's processing */
} Compare;

/* This thread's CPU time: on a shared machine, wall time measures the neighbours. */
static double
cpu_seconds (void)
{
  struct timespec ts;
  clock_gettime (CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double) ts.tv_sec + 1e-9 * (double) ts.tv_nsec;
}

/* ffmpeg's arnndn with one model on x (n samples); its output, n - (n % 480) long. */
static float *
arnndn (const char *model_path, const char *tmp, const float *x, gsize n, gsize *nf)
{
  g_autofree char *in = g_build_filename (tmp, "noisy.f32", NULL), *out = g_build_filename (tmp, "arnndn.f32", NULL);
  CU_ASSERT_FATAL (g_file_set_contents (in, (const char *) x, (gssize) (n * sizeof (float)), NULL));
  g_autofree char *af = g_strdup_printf ("arnndn=m=%s", model_path);
  const char *argv[] = { "ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "f32le", "-ar", "48000", "-ac", "1",
                         "-i", in, "-af", af, "-f", "f32le", out, NULL };
  if (!run_ffmpeg (argv))
    return NULL;
  float *ff = read_f32 (out, nf);
  CU_ASSERT_FATAL (ff && *nf >= n - HOP);
  return ff;
}

/* ffmpeg's output ff against the front end's (scaling as given) on the same input. */
static void
compare_model (const char *model_path, const char *scaling, const float *ff, gsize nf, const float *x,
               const float *clean, gsize n, Compare *c)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_import_rnnoise (model_path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_set_meta (m, "nerve.rnnoise.scaling", scaling);
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  g_autofree float *y = g_new (float, n);
  double t0 = cpu_seconds ();
  nerve_denoise_signal (d, x, n, y, NULL); /* y[i] is the enhanced x[i] */
  c->realtime = (double) n / RATE / (cpu_seconds () - t0);
  /* alignment: the lag of ffmpeg's output that matches best */
  double best = -1;
  c->lag = 0;
  const gsize span = MIN (nf, n) - 2 * 960;
  for (int lag = -960; lag <= 960; lag += 1) {
    double xy = 0, yy = 0;
    for (gsize i = 960; i < span; i += 31)
      xy += (double) y[i] * ff[i + lag], yy += (double) ff[i + lag] * ff[i + lag];
    double r = xy / sqrt (yy + 1e-30);
    if (r > best)
      best = r, c->lag = lag;
  }
  /* compare where both exist: ffmpeg drops the last partial hop */
  const gsize m_n = MIN (n, nf - (gsize) HOP);
  c->snr_vs_ffmpeg = snr_db (ff + HOP, y, m_n);
  c->sisdr_in = si_sdr_db (clean, x, m_n);
  c->sisdr_ffmpeg = si_sdr_db (clean, ff + HOP, m_n);
  c->sisdr_nerve = si_sdr_db (clean, y, m_n);
}

/* By default one clip at 5 dB SNR, every model, both scalings; asserts agreement at
 * scaling "arnndn". NERVE_RNNOISE_CLIPS=n runs LJ001-0001.. n clips at 0, 5 and 10 dB
 * and prints mean SI-SDR per model (docs/models/rnnoise.md). */
static void
test_vs_ffmpeg (void)
{
  g_autofree char *ff = g_find_program_in_path ("ffmpeg");
  if (!ff) {
    nerve_test_skip ("ffmpeg not found");
    return;
  }
  g_autofree char *dir = nerve_test_data_path (NULL);
  if (!dir)
    return;
  g_autofree char *tmp = g_dir_make_tmp ("rnnoise-XXXXXX", NULL);
  const char *env = g_getenv ("NERVE_RNNOISE_CLIPS");
  const int clips = env ? CLAMP (atoi (env), 1, 100) : 1;
  static const double snrs[] = { 5, 0, 10 };
  const int n_snr = env ? 3 : 1;
  static const char *const models[] = { "bd", "cb", "lq", "mp", "sh" };
  double sum[5][4] = { { 0 } }, worst_snr = G_MAXDOUBLE, best_snr = 0; /* in, ffmpeg, arnndn, rnnoise */
  int runs = 0;
  for (int k = 0; k < clips; k++)
    for (int q = 0; q < n_snr; q++) {
      float *clean = NULL;
      gsize n = 0;
      g_autofree char *clip = g_strdup_printf ("LJ001-%04d", k + 1);
      g_autofree float *x = noisy_speech (dir, tmp, clip, snrs[q], &clean, &n);
      CU_ASSERT_PTR_NOT_NULL_FATAL (x);
      for (gsize i = 0; i < G_N_ELEMENTS (models); i++) {
        g_autofree char *path = g_strdup_printf ("%s/pretrained/rnnoise/%s.rnnn", dir, models[i]);
        gsize nf = 0;
        g_autofree float *ffout = arnndn (path, tmp, x, n, &nf);
        CU_ASSERT_PTR_NOT_NULL_FATAL (ffout);
        for (int s = 0; s < 2; s++) {
          Compare c = { 0 };
          const char *scaling = s ? "rnnoise" : "arnndn";
          compare_model (path, scaling, ffout, nf, x, clean, n, &c);
          if (!env)
            printf ("  %s %-7s: lag %d, SNR vs ffmpeg %.1f dB; SI-SDR in %.2f, ffmpeg %.2f, nerve %.2f dB; "
                    "%.0fx real time\n", models[i], scaling, c.lag, c.snr_vs_ffmpeg, c.sisdr_in, c.sisdr_ffmpeg,
                    c.sisdr_nerve, c.realtime);
          if (s == 0) {
            CU_ASSERT_EQUAL (c.lag, HOP);
            CU_ASSERT (c.snr_vs_ffmpeg > 30);
            worst_snr = MIN (worst_snr, c.snr_vs_ffmpeg);
            best_snr = MAX (best_snr, c.snr_vs_ffmpeg);
            sum[i][0] += c.sisdr_in;
            sum[i][1] += c.sisdr_ffmpeg;
          }
          sum[i][2 + s] += c.sisdr_nerve;
        }
      }
      runs++;
      g_free (clean);
    }
  printf ("  %d mixtures: Nerve (scaling arnndn) vs ffmpeg arnndn: SNR %.1f..%.1f dB\n", runs, worst_snr, best_snr);
  printf ("  mean SI-SDR (dB)   input  ffmpeg  nerve/arnndn  nerve/rnnoise\n");
  for (gsize i = 0; i < G_N_ELEMENTS (models); i++)
    printf ("  %-17s %6.2f  %6.2f  %12.2f  %13.2f\n", models[i], sum[i][0] / runs, sum[i][1] / runs, sum[i][2] / runs,
            sum[i][3] / runs);
  g_autofree char *a = g_build_filename (tmp, "clean.f32", NULL), *b = g_build_filename (tmp, "noisy.f32", NULL),
                  *c = g_build_filename (tmp, "arnndn.f32", NULL);
  g_unlink (a), g_unlink (b), g_unlink (c);
  g_rmdir (tmp);
}

NERVE_TEST_MAIN ("rnnoise",
                 { "pass-through: one hop of delay, both scalings", test_pass_through },
                 { "attenuation floor", test_attenuation_floor },
                 { "silence passes, no voice", test_silence },
                 { "pitch periods of periodic signals", test_pitch_periods },
                 { "bands, interpolation, DCT", test_bands },
                 { "bad models give clear errors", test_bad_models },
                 { "end to end vs ffmpeg arnndn", test_vs_ffmpeg })

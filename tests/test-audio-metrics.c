/* Speech-enhancement metrics: STOI against pystoi (tests/gen/stoi.py), SI-SDR and SNR
 * on cases with known answers, delay estimation (FFT path against the direct loop),
 * and the `nerve score` command. */
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <math.h>
#include <string.h>

#include "audio-metrics.h"
#include "audiofile.h"
#include "check.h"

/* ---- the signal recipe of tests/gen/stoi.py, mirrored line for line ---- */

typedef struct {
  guint64 s;
} Rng;

static guint64
rng_u64 (Rng *r)
{
  guint64 z = (r->s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double
rng_uniform (Rng *r)
{
  return (double) (rng_u64 (r) >> 11) * (1.0 / 9007199254740992.0);
}

static void
rng_noise (Rng *r, double *x, gsize n)
{
  for (gsize i = 0; i < n; i++)
    x[i] = 2.0 * rng_uniform (r) - 1.0;
}

static double *
speech (guint64 seed, int fs, gsize n)
{
  Rng rng = { seed };
  double *x = g_new0 (double, n);
  gsize t0 = (gsize) (0.1 * fs);
  int syl = 0;
  for (;;) {
    gsize dur = (gsize) ((0.12 + 0.18 * rng_uniform (&rng)) * fs);
    if (t0 + dur > n - (gsize) (0.05 * fs))
      break;
    double f0 = 90.0 + 130.0 * rng_uniform (&rng);
    double fm[3];
    fm[0] = 300.0 + 500.0 * rng_uniform (&rng);
    fm[1] = 900.0 + 1500.0 * rng_uniform (&rng);
    fm[2] = 2200.0 + 1000.0 * rng_uniform (&rng);
    double amp = 0.3 + 0.7 * rng_uniform (&rng);
    gboolean fricative = rng_uniform (&rng) < 0.3;
    double *phase = g_new (double, dur), *v = g_new0 (double, dur);
    for (gsize i = 0; i < dur; i++) {
      double di = (double) i;
      phase[i] = 2.0 * G_PI * (f0 * di / fs + 0.15 * f0 * di * di / (2.0 * (double) dur * fs));
    }
    for (int k = 1; k * f0 * 1.15 < 0.45 * fs; k++) {
      double a = 0.0;
      for (int j = 0; j < 3; j++) {
        double d = (k * f0 - fm[j]) / (80.0 + 0.1 * fm[j]);
        a += 1.0 / (1.0 + d * d);
      }
      a /= sqrt ((double) k);
      for (gsize i = 0; i < dur; i++)
        v[i] += a * sin (k * phase[i]);
    }
    for (gsize i = 0; i < dur; i++) {
      double env = sin (G_PI * (double) i / (double) dur);
      x[t0 + i] += amp * (env * env) * v[i];
    }
    g_free (phase);
    g_free (v);
    if (fricative) {
      gsize nb = (gsize) (0.04 * fs);
      double *w = g_new (double, nb + 1);
      rng_noise (&rng, w, nb + 1);
      for (gsize i = 0; i < nb; i++)
        x[t0 + i] += (0.3 * amp) * sin (G_PI * (double) i / (double) nb) * (w[i + 1] - 0.95 * w[i]);
      g_free (w);
    }
    syl++;
    double gap = syl % 4 == 0 ? 0.35 : 0.03 + 0.12 * rng_uniform (&rng);
    t0 += dur + (gsize) (gap * fs);
  }
  double peak = 0;
  for (gsize i = 0; i < n; i++)
    peak = MAX (peak, fabs (x[i]));
  for (gsize i = 0; i < n; i++)
    x[i] *= 0.5 / peak;
  return x;
}

static void
add_noise (double *y, const double *x, const double *noise, gsize n, double snr_db)
{
  double xx = 0, nn = 0;
  for (gsize i = 0; i < n; i++)
    xx += x[i] * x[i], nn += noise[i] * noise[i];
  double g = sqrt (xx / (nn * pow (10.0, snr_db / 10.0)));
  for (gsize i = 0; i < n; i++)
    y[i] = x[i] + g * noise[i];
}

static void
lowpass (double *x, gsize n, double a)
{
  for (int pass = 0; pass < 2; pass++) {
    double prev = 0.0;
    for (gsize t = 0; t < n; t++)
      x[t] = prev = prev + a * (x[t] - prev);
  }
}

static void
degrade (double *y, const double *x, gsize n, const char *kind, double p, int fs, guint64 seed)
{
  g_autofree double *noise = g_new (double, n);
  if (!strcmp (kind, "noise") || !strcmp (kind, "noisy-lowpass")) {
    Rng r = { seed };
    rng_noise (&r, noise, n);
    add_noise (y, x, noise, n, !strcmp (kind, "noise") ? p : 5.0);
    if (!strcmp (kind, "noisy-lowpass"))
      lowpass (y, n, p);
  } else if (!strcmp (kind, "talker")) {
    g_autofree double *other = speech (seed, fs, n);
    add_noise (y, x, other, n, p);
  } else if (!strcmp (kind, "lowpass")) {
    memcpy (y, x, n * sizeof (double));
    lowpass (y, n, p);
  } else if (!strcmp (kind, "clip")) {
    double peak = 0;
    for (gsize i = 0; i < n; i++)
      peak = MAX (peak, fabs (x[i]));
    double c = p * peak;
    for (gsize i = 0; i < n; i++)
      y[i] = MIN (MAX (x[i], -c), c);
  } else if (!strcmp (kind, "shift")) {
    gsize s = (gsize) p;
    for (gsize i = 0; i < n; i++)
      y[i] = i < s ? 0.0 : x[i - s];
  } else if (!strcmp (kind, "scale")) {
    for (gsize i = 0; i < n; i++)
      y[i] = p * x[i];
  } else {
    g_assert_not_reached ();
  }
}

static float *
to_float (const double *x, gsize n)
{
  float *f = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    f[i] = (float) x[i];
  return f;
}

static double
dotf (const float *a, const float *b, gsize n)
{
  double s = 0;
  for (gsize i = 0; i < n; i++)
    s += (double) a[i] * b[i];
  return s;
}

static gboolean
rel_close (double a, double b, double tol)
{
  return fabs (a - b) <= tol * MAX (1.0, fabs (b));
}

/* ---- STOI ---- */

/* tests/fixtures/stoi.json: {"cases": {name: {"config": {rate, n, kind, param, seed,
 * floor, stoi, xx, yy, xy}}}}. Read here directly: the kind is a string. */
static JsonParser *
load_stoi_fixture (void)
{
  g_autofree char *path = nerve_test_path ("tests/fixtures/stoi.json");
  g_autoptr (GError) err = NULL;
  JsonParser *p = json_parser_new ();
  if (!json_parser_load_from_file (p, path, &err)) {
    fprintf (stderr, "  %s: %s\n", path, err->message);
    CU_FAIL ("stoi fixture missing: run tests/gen/stoi.py");
    g_object_unref (p);
    return NULL;
  }
  return p;
}

/* Builds one fixture case's clean and processed signals as float. */
static gsize
stoi_case (JsonObject *cfg, float **x, float **y)
{
  int fs = (int) json_object_get_int_member (cfg, "rate");
  gsize n = (gsize) json_object_get_int_member (cfg, "n");
  guint64 seed = (guint64) json_object_get_int_member (cfg, "seed");
  g_autofree double *xd = speech (1000 + (guint64) fs / 1000, fs, n), *yd = g_new (double, n);
  if (!json_object_get_null_member (cfg, "floor")) {
    Rng r = { seed + 500 };
    rng_noise (&r, yd, n);
    add_noise (xd, xd, yd, n, json_object_get_double_member (cfg, "floor"));
  }
  *x = to_float (xd, n);
  for (gsize i = 0; i < n; i++)
    xd[i] = (*x)[i]; /* degrade the float signal, as the generator does */
  degrade (yd, xd, n, json_object_get_string_member (cfg, "kind"), json_object_get_double_member (cfg, "param"),
           fs, seed);
  *y = to_float (yd, n);
  return n;
}

static void
test_stoi_pystoi (void)
{
  g_autoptr (JsonParser) p = load_stoi_fixture ();
  if (!p)
    return;
  JsonObject *cases = json_object_get_object_member (json_node_get_object (json_parser_get_root (p)), "cases");
  g_autoptr (GList) names = json_object_get_members (cases);
  /* the reference's algorithm, resampler included: only the float FFT differs (~4e-9) */
  const double tol[2] = { 1e-6, 1e-6 };
  double worst[2] = { 0, 0 };
  int count[2] = { 0, 0 };
  for (GList *l = names; l; l = l->next) {
    const char *name = l->data;
    JsonObject *cfg = json_object_get_object_member (json_object_get_object_member (cases, name), "config");
    g_autofree float *x = NULL, *y = NULL;
    gsize n = stoi_case (cfg, &x, &y);
    /* the C recipe must make the generator's samples */
    gboolean same = rel_close (dotf (x, x, n), json_object_get_double_member (cfg, "xx"), 1e-6) &&
                    rel_close (dotf (y, y, n), json_object_get_double_member (cfg, "yy"), 1e-6) &&
                    rel_close (dotf (x, y, n), json_object_get_double_member (cfg, "xy"), 1e-6);
    if (!same)
      fprintf (stderr, "  %s: the C signal recipe differs from tests/gen/stoi.py\n", name);
    CU_ASSERT_TRUE (same);
    int fs = (int) json_object_get_int_member (cfg, "rate"), r = fs == 10000 ? 0 : 1;
    g_autoptr (GError) err = NULL;
    double d = nerve_stoi (x, y, n, fs, &err), want = json_object_get_double_member (cfg, "stoi");
    CU_ASSERT_PTR_NULL (err);
    double diff = fabs (d - want);
    if (!(diff <= tol[r]))
      fprintf (stderr, "  %s: STOI %.6f, pystoi %.6f\n", name, d, want);
    CU_ASSERT_TRUE (diff <= tol[r]);
    worst[r] = MAX (worst[r], diff);
    count[r]++;
  }
  CU_ASSERT_TRUE (count[0] >= 8 && count[1] >= 5);
  fprintf (stderr, "  STOI vs pystoi: %d cases at 10 kHz max |diff| %.2e (tol %.0e), %d at 16 kHz max %.2e (tol %.0e)\n",
           count[0], worst[0], tol[0], count[1], worst[1], tol[1]);
}

/* Too little speech is an error, not a number; silence around speech is dropped. */
static void
test_stoi_short_and_silence (void)
{
  const int fs = 10000;
  g_autofree double *xd = speech (5, fs, 25000);
  g_autofree float *x = to_float (xd, 25000);
  g_autoptr (GError) err = NULL;
  double d = nerve_stoi (x, x, 3000, fs, &err);
  CU_ASSERT_TRUE (isnan (d));
  CU_ASSERT_TRUE (err && strstr (err->message, "at least 30 frames"));
  g_clear_error (&err);
  CU_ASSERT_TRUE (isnan (nerve_stoi (x, x, 100, fs, &err)));
  CU_ASSERT_PTR_NOT_NULL (err);
  g_clear_error (&err);
  CU_ASSERT_TRUE (isnan (nerve_stoi (x, x, 25000, 0, &err)));
  CU_ASSERT_PTR_NOT_NULL (err);
  g_clear_error (&err);

  /* identical signals: 1; padding both with 1 s of digital silence changes nothing */
  CU_ASSERT_DOUBLE_EQUAL (nerve_stoi (x, x, 25000, fs, NULL), 1.0, 1e-9);
  g_autofree float *y = to_float (xd, 25000);
  for (gsize i = 0; i < 25000; i++)
    y[i] += (float) (0.05 * sin (0.37 * (double) i));
  double plain = nerve_stoi (x, y, 25000, fs, NULL);
  /* 80 hops of zeros: the same frames, plus silent ones that must all be dropped */
  g_autofree float *xp = g_new0 (float, 35240), *yp = g_new0 (float, 35240);
  memcpy (xp + 10240, x, 25000 * sizeof (float));
  memcpy (yp + 10240, y, 25000 * sizeof (float));
  double padded = nerve_stoi (xp, yp, 35240, fs, NULL);
  CU_ASSERT_TRUE (plain > 0.5 && plain < 0.999);
  CU_ASSERT_DOUBLE_EQUAL (padded, plain, 1e-12);
}

/* ---- SI-SDR, SNR ---- */

/* A clean signal and a noise exactly orthogonal to it (in double) scaled to snr_db. */
static void
orthogonal_pair (gsize n, double snr_db, double **s, double **e)
{
  *s = speech (11, 16000, n);
  double *noise = g_new (double, n);
  Rng r = { 99 };
  rng_noise (&r, noise, n);
  double ms = 0, mn = 0;
  for (gsize i = 0; i < n; i++)
    ms += (*s)[i], mn += noise[i];
  ms /= (double) n, mn /= (double) n;
  for (gsize i = 0; i < n; i++)
    (*s)[i] -= ms, noise[i] -= mn; /* zero mean: SI-SDR removes means, SNR must agree */
  double ns = 0, ss = 0;
  for (gsize i = 0; i < n; i++)
    ns += noise[i] * (*s)[i], ss += (*s)[i] * (*s)[i];
  double nn = 0;
  for (gsize i = 0; i < n; i++) {
    noise[i] -= ns / ss * (*s)[i];
    nn += noise[i] * noise[i];
  }
  double g = sqrt (ss / (nn * pow (10.0, snr_db / 10)));
  for (gsize i = 0; i < n; i++)
    noise[i] *= g;
  *e = noise;
}

static void
test_si_sdr_snr (void)
{
  const gsize n = 32000;
  const double snrs[] = { -5, 0, 7.5, 20 };
  for (gsize k = 0; k < G_N_ELEMENTS (snrs); k++) {
    g_autofree double *sd = NULL, *nd = NULL;
    orthogonal_pair (n, snrs[k], &sd, &nd);
    g_autofree float *s = to_float (sd, n), *e = g_new (float, n), *e2 = g_new (float, n);
    for (gsize i = 0; i < n; i++)
      e[i] = (float) (sd[i] + nd[i]);
    /* noise orthogonal to the reference: both metrics are the constructed SNR */
    CU_ASSERT_DOUBLE_EQUAL (nerve_si_sdr (e, s, n), snrs[k], 1e-3);
    CU_ASSERT_DOUBLE_EQUAL (nerve_snr (e, s, n), snrs[k], 1e-3);
    /* a scaled estimate: SI-SDR unchanged, SNR as 10 log10 |s|^2 / ((1-g)^2 |s|^2 + g^2 |n|^2) */
    const double g = 0.3;
    for (gsize i = 0; i < n; i++)
      e2[i] = (float) (g * (sd[i] + nd[i]));
    double nn_ss = pow (10.0, -snrs[k] / 10);
    CU_ASSERT_DOUBLE_EQUAL (nerve_si_sdr (e2, s, n), nerve_si_sdr (e, s, n), 1e-4);
    CU_ASSERT_DOUBLE_EQUAL (nerve_snr (e2, s, n), -10 * log10 ((1 - g) * (1 - g) + g * g * nn_ss), 1e-3);
    /* an offset: SI-SDR ignores the means, SNR counts the offset as error */
    for (gsize i = 0; i < n; i++)
      e2[i] = e[i] + 0.25f;
    CU_ASSERT_DOUBLE_EQUAL (nerve_si_sdr (e2, s, n), snrs[k], 1e-3);
    CU_ASSERT_TRUE (nerve_snr (e2, s, n) < snrs[k] - 0.1);
  }
  /* limits: a perfect (scaled) copy is +inf, the negated copy too for SI-SDR; an
   * estimate orthogonal to the reference is -inf; no reference is NaN */
  g_autofree double *sd = NULL, *nd = NULL;
  orthogonal_pair (n, 0, &sd, &nd);
  g_autofree float *s = to_float (sd, n), *z = g_new0 (float, n), *sc = g_new (float, n);
  CU_ASSERT_TRUE (isinf (nerve_si_sdr (s, s, n)) && nerve_si_sdr (s, s, n) > 0);
  CU_ASSERT_TRUE (isinf (nerve_snr (s, s, n)) && nerve_snr (s, s, n) > 0);
  for (gsize i = 0; i < n; i++)
    sc[i] = s[i] * 0.5f; /* exact in float */
  CU_ASSERT_TRUE (isinf (nerve_si_sdr (sc, s, n)));
  CU_ASSERT_DOUBLE_EQUAL (nerve_snr (sc, s, n), -10 * log10 (0.25), 1e-9);
  CU_ASSERT_TRUE (isinf (nerve_si_sdr (z, s, n)) && nerve_si_sdr (z, s, n) < 0);
  CU_ASSERT_DOUBLE_EQUAL (nerve_snr (z, s, n), 0.0, 1e-12);
  CU_ASSERT_TRUE (isnan (nerve_si_sdr (s, z, n)));
}

/* ---- delay ---- */

static int
delay_naive (const float *d, const float *r, gsize n, int max_lag)
{
  int best = 0;
  double bv = -INFINITY;
  for (int lag = 0; lag <= max_lag && (gsize) lag < n; lag++) {
    double v = 0;
    for (gsize t = 0; t + (gsize) lag < n; t++)
      v += (double) d[t + (gsize) lag] * r[t];
    if (v > bv)
      bv = v, best = lag;
  }
  return best;
}

static void
test_delay (void)
{
  const int fs = 16000;
  const gsize n = 48000;
  g_autofree double *sd = speech (21, fs, n), *noise = g_new (double, n), *yd = g_new (double, n);
  Rng r = { 5 };
  rng_noise (&r, noise, n);
  g_autofree float *s = to_float (sd, n), *y = g_new (float, n);
  const int delays[] = { 0, 1, 37, 480, 1599 };
  for (gsize k = 0; k < G_N_ELEMENTS (delays); k++) {
    int D = delays[k];
    /* the clean signal delayed by D, in noise at 0 dB */
    for (gsize i = 0; i < n; i++)
      yd[i] = i < (gsize) D ? 0.0 : sd[i - (gsize) D];
    add_noise (yd, yd, noise, n, 0.0);
    for (gsize i = 0; i < n; i++)
      y[i] = (float) yd[i];
    /* 48000 x 1601 lags takes the FFT path, 8000 x 201 the direct one */
    CU_ASSERT_EQUAL (nerve_audio_delay (y, s, n, 1600), D);
    CU_ASSERT_EQUAL (nerve_audio_delay (y, s, n, 1600), delay_naive (y, s, n, 1600));
    if (D <= 200)
      CU_ASSERT_EQUAL (nerve_audio_delay (y, s, 8000, 200), D);
    /* the search is bounded: a delay beyond max_lag is never returned */
    CU_ASSERT_TRUE (nerve_audio_delay (y, s, n, 20) <= 20);
  }
  /* white noise against itself shifted: any lag, including the FFT's last ones */
  g_autofree float *w = to_float (noise, n), *wd = g_new0 (float, n);
  memcpy (wd + 2999, w, (n - 2999) * sizeof (float));
  CU_ASSERT_EQUAL (nerve_audio_delay (wd, w, n, 2999), 2999);
  CU_ASSERT_EQUAL (nerve_audio_delay (wd, w, n, 5000), 2999);
  /* tiny inputs */
  CU_ASSERT_EQUAL (nerve_audio_delay (w, w, 1, 10), 0);
  CU_ASSERT_EQUAL (nerve_audio_delay (w, w, 5, 10), 0);
}

/* ---- nerve score ---- */

static double
json_double (JsonObject *o, const char *key)
{
  return o && json_object_has_member (o, key) ? json_object_get_double_member (o, key) : NAN;
}

static JsonObject *
run_json (const char *const *args, JsonParser *p)
{
  NerveRun r = nerve_test_run_cli (args);
  gboolean ok = nerve_test_run_check (&r, 0, "{", NULL) && json_parser_load_from_data (p, r.out, -1, NULL);
  nerve_test_run_clear (&r);
  CU_ASSERT_TRUE (ok);
  return ok ? json_node_get_object (json_parser_get_root (p)) : NULL;
}

static void
expect_run (const char *const *args, int status, const char *out_has, const char *err_has)
{
  NerveRun r = nerve_test_run_cli (args);
  CU_ASSERT_TRUE (nerve_test_run_check (&r, status, out_has, err_has));
  nerve_test_run_clear (&r);
}

static void
test_cli_score (void)
{
  const int fs = 16000, D = 160;
  const gsize n = 48000;
  g_autofree char *dir = g_dir_make_tmp ("nerve-score-XXXXXX", NULL);
  g_autofree double *sd = speech (31, fs, n), *noise = g_new (double, n), *ed = g_new (double, n),
                    *nd = g_new (double, n), *e2d = g_new (double, n);
  Rng rng = { 77 };
  rng_noise (&rng, noise, n);
  /* estimate: the clean signal delayed by D in noise at 15 dB (5 dB for est2); noisy: at 0 dB */
  g_autofree double *delayed = g_new0 (double, n);
  memcpy (delayed + D, sd, (n - D) * sizeof (double));
  add_noise (ed, delayed, noise, n, 15.0);
  add_noise (e2d, delayed, noise, n, 5.0);
  add_noise (nd, sd, noise, n, 0.0);
  g_autofree float *s = to_float (sd, n), *e = to_float (ed, n), *e2 = to_float (e2d, n), *nz = to_float (nd, n);
  const char *names[] = { "clean.wav", "est.wav", "est2.wav", "noisy.wav", "short.wav" };
  const float *sig[] = { s, e, e2, nz, s };
  char *path[5];
  for (int i = 0; i < 5; i++) {
    path[i] = g_build_filename (dir, names[i], NULL);
    g_autoptr (GError) err = NULL;
    CU_ASSERT_TRUE (nerve_audio_write_wav (path[i], sig[i], i == 4 ? 2000 : n, fs, TRUE, &err));
  }
  /* what the command must find: the lag, the common length, the library's values */
  const gsize m = n - D;
  g_autoptr (JsonParser) p = json_parser_new ();
  JsonObject *o = run_json ((const char *[]) { "score", "--json", path[0], path[1], path[3], NULL }, p);
  if (o) {
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "delay"), D);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "noisy_delay"), 0);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "samples"), (gint64) m);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "rate"), fs);
    double si = nerve_si_sdr (e + D, s, m), nsi = nerve_si_sdr (nz, s, m);
    double st = nerve_stoi (s, e + D, m, fs, NULL), nst = nerve_stoi (s, nz, m, fs, NULL);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "si_sdr"), si, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "si_sdr"), 15.0, 0.2);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "snr"), nerve_snr (e + D, s, m), 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "stoi"), st, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "noisy_si_sdr"), nsi, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "si_sdr_improvement"), si - nsi, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (o, "stoi_improvement"), st - nst, 1e-9);
    CU_ASSERT_TRUE (st > nst);
  }
  /* --max-delay 0: no alignment, a much worse score */
  o = run_json ((const char *[]) { "score", "--json", "--max-delay", "0", path[0], path[1], NULL }, p);
  CU_ASSERT_TRUE (o && json_object_get_int_member (o, "delay") == 0 && json_double (o, "si_sdr") < 0);
  CU_ASSERT_TRUE (o && !json_object_has_member (o, "si_sdr_improvement"));
  /* scored at 8 kHz: both resampled, the delay halves */
  o = run_json ((const char *[]) { "score", "--json", "--rate", "8000", path[0], path[1], NULL }, p);
  CU_ASSERT_TRUE (o && json_object_get_int_member (o, "delay") == D / 2 && json_object_get_int_member (o, "rate") == 8000);
  expect_run ((const char *[]) { "score", path[0], path[1], path[3], NULL }, 0, "improvement", NULL);
  expect_run ((const char *[]) { "score", path[0], path[1], NULL }, 0, "STOI", NULL);

  /* --list: two groups, relative paths, a comment, a line without noisy/group */
  g_autofree char *list = g_build_filename (dir, "list.tsv", NULL);
  g_file_set_contents (list,
                       "# clean\testimate\tnoisy\tgroup\n"
                       "clean.wav\test.wav\tnoisy.wav\tsys\n"
                       "clean.wav\test2.wav\tnoisy.wav\tsys\r\n"
                       "\n"
                       "clean.wav\tnoisy.wav\tnoisy.wav\tunprocessed\n",
                       -1, NULL);
  o = run_json ((const char *[]) { "score", "--json", "--list", list, NULL }, p);
  if (o) {
    JsonObject *g = json_object_get_object_member (o, "groups");
    JsonObject *sys = json_object_get_object_member (g, "sys"), *un = json_object_get_object_member (g, "unprocessed");
    JsonObject *all = json_object_get_object_member (o, "all");
    CU_ASSERT_EQUAL (json_object_get_size (g), 2);
    CU_ASSERT_EQUAL (json_object_get_int_member (sys, "n"), 2);
    CU_ASSERT_EQUAL (json_object_get_int_member (all, "n"), 3);
    double si2 = nerve_si_sdr (e2 + D, s, m);
    CU_ASSERT_DOUBLE_EQUAL (json_double (sys, "si_sdr"), (nerve_si_sdr (e + D, s, m) + si2) / 2, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (sys, "delay_ms"), 1000.0 * D / fs, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL (json_double (un, "si_sdr_improvement"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL (json_double (un, "stoi_improvement"), 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL (json_double (un, "si_sdr"), nerve_si_sdr (nz, s, n), 1e-9);
  }
  expect_run ((const char *[]) { "score", "--list", list, NULL }, 0, "unprocessed", NULL);

  /* failures: missing file, bad list line, too short for STOI, wrong arguments */
  g_autofree char *missing = g_build_filename (dir, "missing.wav", NULL);
  expect_run ((const char *[]) { "score", path[0], missing, NULL }, 1, NULL, "nerve score: ");
  g_file_set_contents (list, "clean.wav\test.wav\nclean.wav\n", -1, NULL);
  expect_run ((const char *[]) { "score", "--list", list, NULL }, 1, NULL, "list.tsv:2:");
  expect_run ((const char *[]) { "score", path[4], path[4], NULL }, 1, NULL, "at least 30 frames");
  expect_run ((const char *[]) { "score", path[0], NULL }, 2, NULL, "CLEAN ESTIMATE");
  expect_run ((const char *[]) { "score", "--list", list, path[0], NULL }, 2, NULL, NULL);
  for (int i = 0; i < 5; i++) {
    g_unlink (path[i]);
    g_free (path[i]);
  }
  g_unlink (list);
  g_rmdir (dir);
}

NERVE_TEST_MAIN ("audio-metrics",
                 { "stoi against pystoi", test_stoi_pystoi },
                 { "stoi short input and silence", test_stoi_short_and_silence },
                 { "si-sdr and snr on constructed cases", test_si_sdr_snr },
                 { "delay estimation", test_delay },
                 { "nerve score", test_cli_score })

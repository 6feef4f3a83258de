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
 * stoi, xx, yy, xy}}}}. Read here directly: the kind is a string. */
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
  g_autofree double *xd = speech (1000 + (guint64) fs / 1000, fs, n), *yd = g_new (double, n);
  *x = to_float (xd, n);
  for (gsize i = 0; i < n; i++)
    xd[i] = (*x)[i]; /* degrade the float signal, as the generator does */
  degrade (yd, xd, n, json_object_get_string_member (cfg, "kind"), json_object_get_double_member (cfg, "param"),
           fs, (guint64) json_object_get_int_member (cfg, "seed"));
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
  /* 10 kHz runs exactly the reference's algorithm (float FFT the only difference);
   * 16 kHz goes through nerve_resample, not pystoi's Octave-compatible polyphase filter */
  const double tol[2] = { 1e-4, 2e-3 };
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
  CU_ASSERT_TRUE (count[0] >= 8 && count[1] >= 3);
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

NERVE_TEST_MAIN ("audio-metrics",
                 { "stoi against pystoi", test_stoi_pystoi },
                 { "stoi short input and silence", test_stoi_short_and_silence })

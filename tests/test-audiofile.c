/* Audio files: WAV round trips (16-bit, float), stereo averaged to mono, atomic writes,
 * errors on missing/corrupt files; the resampler: output length, a tone's amplitude and
 * phase after conversion, passband flatness, stopband/aliasing attenuation. */
#include <glib/gstdio.h>
#include <math.h>
#include <sndfile.h>
#include <string.h>

#include "audiofile.h"
#include "check.h"
#include "error.h"

static char *
tmp_dir (void)
{
  char *d = g_dir_make_tmp ("nerve-audio-XXXXXX", NULL);
  CU_ASSERT_FATAL (d != NULL);
  return d;
}

static void
rm_dir (const char *d)
{
  GDir *dir = g_dir_open (d, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name (dir))) {
    g_autofree char *p = g_build_filename (d, name, NULL);
    g_unlink (p);
  }
  if (dir)
    g_dir_close (dir);
  g_rmdir (d);
}

static int
count_files (const char *d)
{
  GDir *dir = g_dir_open (d, 0, NULL);
  int n = 0;
  while (dir && g_dir_read_name (dir))
    n++;
  if (dir)
    g_dir_close (dir);
  return n;
}

static void
test_wav_round_trip (void)
{
  g_autofree char *d = tmp_dir ();
  g_autofree char *p16 = g_build_filename (d, "a16.wav", NULL), *pf = g_build_filename (d, "af.wav", NULL);
  const gsize n = 1000;
  float *x = g_new (float, n);
  nerve_test_fill_f32 (x, n, 7, 0.9f);
  x[0] = 1.5f, x[1] = -2.0f, x[2] = 1.0f, x[3] = -1.0f; /* clipped in 16 bit */
  g_autoptr (GError) err = NULL;
  CU_ASSERT (nerve_audio_write_wav (p16, x, n, 16000, FALSE, &err));
  CU_ASSERT (nerve_audio_write_wav (pf, x, n, 22050, TRUE, &err));
  CU_ASSERT_PTR_NULL (err);
  CU_ASSERT_EQUAL (count_files (d), 2); /* no temporary left behind */

  int rate = 0;
  gsize m = 0;
  float *y = nerve_audio_read (p16, &rate, &m, &err);
  CU_ASSERT_FATAL (y != NULL);
  CU_ASSERT_EQUAL (rate, 16000);
  CU_ASSERT_EQUAL (m, n);
  CU_ASSERT_DOUBLE_EQUAL (y[0], 32767.0 / 32768, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL (y[1], -1.0, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL (y[2], 32767.0 / 32768, 1e-9);
  CU_ASSERT_DOUBLE_EQUAL (y[3], -1.0, 1e-9);
  double e = 0;
  for (gsize i = 4; i < n; i++)
    e = fmax (e, fabs (y[i] - x[i]));
  CU_ASSERT (e <= 0.5 / 32768 + 1e-9); /* rounding only */
  CU_ASSERT (e > 0);                   /* it really was quantised */
  g_free (y);

  y = nerve_audio_read (pf, &rate, &m, &err);
  CU_ASSERT_FATAL (y != NULL);
  CU_ASSERT_EQUAL (rate, 22050);
  CU_ASSERT_EQUAL (m, n);
  CU_ASSERT (memcmp (x, y, n * sizeof (float)) == 0); /* float is exact, unclipped */
  g_free (y);

  /* overwriting an existing file replaces it */
  CU_ASSERT (nerve_audio_write_wav (pf, x, 10, 8000, TRUE, NULL));
  y = nerve_audio_read (pf, &rate, &m, NULL);
  CU_ASSERT (y && m == 10 && rate == 8000);
  g_free (y);
  CU_ASSERT_EQUAL (count_files (d), 2);

  /* an empty file reads as zero samples, not as an error */
  CU_ASSERT (nerve_audio_write_wav (pf, NULL, 0, 8000, FALSE, NULL));
  y = nerve_audio_read (pf, &rate, &m, &err);
  CU_ASSERT (y != NULL && m == 0);
  g_free (y);
  g_free (x);
  rm_dir (d);
}

static void
test_stereo_is_averaged (void)
{
  g_autofree char *d = tmp_dir ();
  g_autofree char *p = g_build_filename (d, "st.wav", NULL);
  const int n = 300;
  float lr[600];
  nerve_test_fill_f32 (lr, 600, 9, 0.7f);
  SF_INFO info = { .samplerate = 48000, .channels = 2, .format = SF_FORMAT_WAV | SF_FORMAT_FLOAT };
  SNDFILE *sf = sf_open (p, SFM_WRITE, &info);
  CU_ASSERT_FATAL (sf != NULL);
  CU_ASSERT_EQUAL (sf_writef_float (sf, lr, n), n);
  sf_close (sf);
  int rate = 0;
  gsize m = 0;
  g_autoptr (GError) err = NULL;
  float *y = nerve_audio_read (p, &rate, &m, &err);
  CU_ASSERT_FATAL (y != NULL);
  CU_ASSERT_EQUAL (m, (gsize) n);
  CU_ASSERT_EQUAL (rate, 48000);
  double e = 0;
  for (int i = 0; i < n; i++)
    e = fmax (e, fabs (y[i] - 0.5 * ((double) lr[2 * i] + lr[2 * i + 1])));
  CU_ASSERT (e < 1e-7);
  g_free (y);
  rm_dir (d);
}

static void
expect_read_error (const char *path, int code, const char *needle)
{
  g_autoptr (GError) err = NULL;
  int rate = 0;
  gsize m = 0;
  float *y = nerve_audio_read (path, &rate, &m, &err);
  CU_ASSERT_PTR_NULL (y);
  CU_ASSERT_FATAL (err != NULL);
  if (!g_error_matches (err, NERVE_ERROR, code) || !strstr (err->message, path) || (needle && !strstr (err->message, needle))) {
    fprintf (stderr, "\n  unexpected error for %s: %s\n", path, err->message);
    CU_FAIL ("read error");
  }
  g_free (y);
}

static void
test_read_errors (void)
{
  g_autofree char *d = tmp_dir ();
  g_autofree char *missing = g_build_filename (d, "missing.wav", NULL);
  expect_read_error (missing, NERVE_ERROR_IO, "No such file");

  g_autofree char *garbage = g_build_filename (d, "garbage.wav", NULL);
  char junk[4096];
  for (gsize i = 0; i < sizeof junk; i++)
    junk[i] = (char) (i * 2654435761u >> 13);
  CU_ASSERT (g_file_set_contents (garbage, junk, sizeof junk, NULL));
  expect_read_error (garbage, NERVE_ERROR_FORMAT, "cannot read audio");

  /* a valid WAV cut inside its header */
  g_autofree char *good = g_build_filename (d, "good.wav", NULL), *cut = g_build_filename (d, "cut.wav", NULL);
  float x[100] = { 0 };
  CU_ASSERT (nerve_audio_write_wav (good, x, 100, 16000, FALSE, NULL));
  char *bytes = NULL;
  gsize len = 0;
  CU_ASSERT (g_file_get_contents (good, &bytes, &len, NULL));
  CU_ASSERT (g_file_set_contents (cut, bytes, 20, NULL));
  expect_read_error (cut, NERVE_ERROR_FORMAT, NULL);
  /* a header claiming 0 channels */
  bytes[22] = 0, bytes[23] = 0;
  CU_ASSERT (g_file_set_contents (cut, bytes, (gssize) len, NULL));
  expect_read_error (cut, NERVE_ERROR_FORMAT, NULL);
  g_free (bytes);
  g_autofree char *empty = g_build_filename (d, "empty.wav", NULL);
  CU_ASSERT (g_file_set_contents (empty, "", 0, NULL));
  expect_read_error (empty, NERVE_ERROR_FORMAT, NULL);

  /* writing into a missing directory fails and names the path */
  g_autofree char *nodir = g_build_filename (d, "no", "such", "dir.wav", NULL);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_FALSE (nerve_audio_write_wav (nodir, x, 100, 16000, FALSE, &err));
  CU_ASSERT (err && g_error_matches (err, NERVE_ERROR, NERVE_ERROR_IO) && strstr (err->message, nodir));
  rm_dir (d);
}

/* Least-squares fit of y[j], j in [a, b), to A sin(w j + ph): returns A, *ph, and the
 * residual's rms */
static double
fit_tone (const float *y, gsize a, gsize b, double w, double *ph, double *rms)
{
  double ss = 0, cc = 0, sc = 0, ys = 0, yc = 0;
  for (gsize j = a; j < b; j++) {
    double s = sin (w * j), c = cos (w * j);
    ss += s * s, cc += c * c, sc += s * c, ys += y[j] * s, yc += y[j] * c;
  }
  double det = ss * cc - sc * sc, p = (ys * cc - yc * sc) / det, q = (yc * ss - ys * sc) / det;
  double r = 0;
  for (gsize j = a; j < b; j++) {
    double e = y[j] - p * sin (w * j) - q * cos (w * j);
    r += e * e;
  }
  *rms = sqrt (r / (double) (b - a));
  *ph = atan2 (q, p);
  return hypot (p, q);
}

static float *
tone (gsize n, double f, int rate, double ph)
{
  float *x = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    x[i] = (float) (0.5 * sin (2 * G_PI * f * (double) i / rate + ph));
  return x;
}

typedef struct {
  int from, to;
} Rates;

static const Rates pairs[] = { { 8000, 16000 }, { 16000, 8000 },  { 16000, 48000 },
                               { 48000, 16000 }, { 44100, 16000 }, { 16000, 44100 },
                               { 16000, 22050 }, { 44101, 16000 } /* co-prime: interpolated rows */ };

static void
test_resample_length (void)
{
  const gsize ns[] = { 0, 1, 2, 3, 441, 1000, 16001 };
  for (gsize p = 0; p < G_N_ELEMENTS (pairs); p++)
    for (gsize i = 0; i < G_N_ELEMENTS (ns); i++) {
      float *x = g_new0 (float, MAX (ns[i], 1));
      gsize m = 12345;
      float *y = nerve_resample (x, ns[i], pairs[p].from, pairs[p].to, &m);
      CU_ASSERT (y != NULL);
      gsize want = (gsize) ceil ((double) ns[i] * pairs[p].to / pairs[p].from - 1e-9);
      CU_ASSERT_EQUAL (m, want);
      g_free (x), g_free (y);
    }
  /* same rate: a copy */
  float x[5] = { 1, 2, 3, 4, 5 };
  gsize m = 0;
  float *y = nerve_resample (x, 5, 16000, 16000, &m);
  CU_ASSERT (m == 5 && memcmp (x, y, sizeof x) == 0);
  g_free (y);
}

/* a tone in the passband keeps amplitude and phase: y[j] ~ x(j / to) */
static void
test_resample_tone (void)
{
  double worst_gain = 0, worst_ph = 0, worst_rms = 0;
  for (gsize p = 0; p < G_N_ELEMENTS (pairs); p++) {
    int from = pairs[p].from, to = pairs[p].to, low = MIN (from, to);
    const double fr[] = { 0.02, 0.3, 0.85 }; /* of the lower Nyquist */
    for (gsize k = 0; k < G_N_ELEMENTS (fr); k++) {
      double f = fr[k] * low / 2, ph0 = 0.7;
      gsize n = (gsize) from / 2, m = 0; /* 0.5 s */
      float *x = tone (n, f, from, ph0);
      float *y = nerve_resample (x, n, from, to, &m);
      gsize edge = m / 5; /* away from the zero-padded ends */
      double ph, rms, A = fit_tone (y, edge, m - edge, 2 * G_PI * f / to, &ph, &rms);
      double dph = remainder (ph - ph0, 2 * G_PI);
      if (fabs (A / 0.5 - 1) > 1e-3 || fabs (dph) > 1e-3 || rms > 1e-3 * 0.5)
        fprintf (stderr, "\n  %d -> %d, %.0f Hz: gain %.6f phase %.2g rad residual %.2g\n", from, to, f, A / 0.5, dph,
                 rms / 0.5);
      worst_gain = fmax (worst_gain, fabs (A / 0.5 - 1)), worst_ph = fmax (worst_ph, fabs (dph));
      worst_rms = fmax (worst_rms, rms / 0.5);
      CU_ASSERT_DOUBLE_EQUAL (A / 0.5, 1.0, 1e-3);
      CU_ASSERT_DOUBLE_EQUAL (dph, 0.0, 1e-3);
      CU_ASSERT (rms <= 1e-3 * 0.5);
      g_free (x), g_free (y);
    }
  }
  printf ("\n  passband: worst |gain - 1| %.2g, phase %.2g rad, residual %.2g of the amplitude ", worst_gain, worst_ph,
          worst_rms);
}

/* tones above the output's Nyquist (or, upsampling, images above the input's) are gone */
static void
test_resample_stopband (void)
{
  const struct {
    int from, to;
    double f;
  } cases[] = {
    { 16000, 8000, 4050 }, { 16000, 8000, 4500 },  { 16000, 8000, 5000 }, { 16000, 8000, 6000 },
    { 16000, 8000, 7900 }, { 48000, 16000, 8100 }, { 48000, 16000, 10000 }, { 48000, 16000, 20000 },
    { 44100, 16000, 9000 }, { 44100, 16000, 15000 }, { 44101, 16000, 12000 },
  };
  double worst = -1000;
  for (gsize c = 0; c < G_N_ELEMENTS (cases); c++) {
    gsize n = (gsize) cases[c].from / 2, m = 0;
    float *x = tone (n, cases[c].f, cases[c].from, 0.3);
    float *y = nerve_resample (x, n, cases[c].from, cases[c].to, &m);
    double r = 0;
    gsize edge = m / 5;
    for (gsize j = edge; j < m - edge; j++)
      r += (double) y[j] * y[j];
    double db = 20 * log10 (sqrt (r / (double) (m - 2 * edge)) / (0.5 / sqrt (2)));
    if (db > -60)
      fprintf (stderr, "\n  %d -> %d, %.0f Hz: %.1f dB\n", cases[c].from, cases[c].to, cases[c].f, db);
    worst = fmax (worst, db);
    CU_ASSERT (db <= -60);
    g_free (x), g_free (y);
  }
  printf ("\n  stopband: worst %.1f dB ", worst);
  /* upsampling 8k -> 16k: a 3 kHz tone must not leave an image at 5 kHz */
  gsize n = 4000, m = 0;
  float *x = tone (n, 3000, 8000, 0);
  float *y = nerve_resample (x, n, 8000, 16000, &m);
  double ph, rms, A = fit_tone (y, m / 5, m - m / 5, 2 * G_PI * 3000 / 16000, &ph, &rms);
  CU_ASSERT_DOUBLE_EQUAL (A, 0.5, 1e-3);
  CU_ASSERT (20 * log10 (rms / (0.5 / sqrt (2))) <= -60);
  g_free (x), g_free (y);
}

static void
test_read_at (void)
{
  g_autofree char *d = tmp_dir ();
  g_autofree char *p = g_build_filename (d, "t.wav", NULL);
  gsize n = 4801, m = 0, m2 = 0;
  float *x = tone (n, 440, 48000, 0);
  CU_ASSERT (nerve_audio_write_wav (p, x, n, 48000, TRUE, NULL));
  g_autoptr (GError) err = NULL;
  float *y = nerve_audio_read_at (p, 16000, &m, &err);
  CU_ASSERT_FATAL (y != NULL);
  float *ref = nerve_resample (x, n, 48000, 16000, &m2);
  CU_ASSERT_EQUAL (m, 1601);
  CU_ASSERT (m == m2 && memcmp (y, ref, m * sizeof (float)) == 0);
  g_free (y), g_free (ref);
  y = nerve_audio_read_at (p, 48000, &m, &err); /* same rate: as read */
  CU_ASSERT (y && m == n && memcmp (x, y, n * sizeof (float)) == 0);
  g_free (y);
  CU_ASSERT_PTR_NULL (nerve_audio_read_at (p, 0, &m, &err));
  CU_ASSERT (err && strstr (err->message, "0 Hz"));
  g_free (x);
  rm_dir (d);
}

NERVE_TEST_MAIN ("audiofile", { "wav round trip", test_wav_round_trip }, { "stereo averaged", test_stereo_is_averaged },
                 { "read errors", test_read_errors }, { "resample length", test_resample_length },
                 { "resample tone", test_resample_tone }, { "resample stopband", test_resample_stopband },
                 { "read_at", test_read_at })

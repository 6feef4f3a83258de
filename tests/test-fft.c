/* Real FFT against numpy.fft fixtures (tests/gen/fft.py) and a double-precision naive
 * DFT, round trip, Parseval, plan reuse and the length check. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "fft.h"

static const int sizes[] = { 2,  3,  4,  5,  6,  7,  8,  9,  10,  11,  12,  15,  16,  18,  25,  27,  30, 32,
                             49, 60, 64, 97, 100, 121, 125, 127, 128, 200, 254, 256, 400, 480, 512, 960, 1024 };

/* X[k] = sum_j x[j] exp(-2 pi i jk/n), k = 0..n/2, in double */
static void
naive_rfft (double *X, const float *x, int n)
{
  for (int k = 0; k <= n / 2; k++) {
    double re = 0, im = 0;
    for (int j = 0; j < n; j++) {
      double t = -2 * G_PI * (double) ((gint64) j * k % n) / n;
      re += x[j] * cos (t), im += x[j] * sin (t);
    }
    X[2 * k] = re, X[2 * k + 1] = im;
  }
}

/* x[j] = (1/n) sum over the full Hermitian spectrum, imaginary parts of bins 0 and n/2 dropped */
static void
naive_irfft (double *x, const float *X, int n)
{
  for (int j = 0; j < n; j++) {
    double s = X[0];
    for (int k = 1; k < (n + 1) / 2; k++) {
      double t = 2 * G_PI * (double) ((gint64) j * k % n) / n;
      s += 2 * (X[2 * k] * cos (t) - X[2 * k + 1] * sin (t));
    }
    if (n % 2 == 0)
      s += X[n] * ((j % 2) ? -1 : 1);
    x[j] = s / n;
  }
}

static double
max_abs_diff (const float *a, const double *b, int n)
{
  double m = 0;
  for (int i = 0; i < n; i++)
    m = fmax (m, fabs (a[i] - b[i]));
  return m;
}

static void
test_fft_matches_numpy (void)
{
  NerveFixture *fx = nerve_fixture_load ("fft");
  if (!fx)
    return;
  int ncases = 0;
  for (const char *const *c = nerve_fixture_cases (fx); *c; c++, ncases++) {
    int n = nerve_fixture_int (fx, *c, "n", 0);
    gsize nx, nX, nY, ny;
    float *x = nerve_fixture_tensor (fx, *c, "x", &nx), *X = nerve_fixture_tensor (fx, *c, "X", &nX);
    float *Y = nerve_fixture_tensor (fx, *c, "Y", &nY), *y = nerve_fixture_tensor (fx, *c, "y", &ny);
    g_autoptr (NerveFft) f = nerve_fft_new (n, NULL);
    CU_ASSERT_FATAL (f != NULL);
    CU_ASSERT_EQUAL (nX, 2 * (gsize) nerve_fft_bins (f));
    CU_ASSERT_EQUAL (nx, (gsize) n);
    float *out = g_new (float, nX), *back = g_new (float, n);
    nerve_fft_forward (f, x, out);
    g_autofree char *w1 = g_strdup_printf ("rfft n=%d vs numpy", n);
    nerve_assert_close (w1, out, X, nX, 2e-5);
    nerve_fft_inverse (f, Y, back);
    g_autofree char *w2 = g_strdup_printf ("irfft n=%d vs numpy", n);
    nerve_assert_close (w2, back, y, ny, 2e-6);
    g_free (out), g_free (back);
    nerve_free_floats (x), nerve_free_floats (X), nerve_free_floats (Y), nerve_free_floats (y);
  }
  CU_ASSERT (ncases >= 10);
  nerve_fixture_free (fx);
}

/* Every size against the naive DFT both ways, plus round trip and Parseval. Errors are
 * measured relative to the signal's scale: |X - ref| <= tol * sqrt(n) (inputs in [-1,1]). */
static void
test_fft_matches_naive_dft (void)
{
  for (gsize s = 0; s < G_N_ELEMENTS (sizes); s++) {
    int n = sizes[s], bins = n / 2 + 1;
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveFft) f = nerve_fft_new (n, &err);
    CU_ASSERT_FATAL (f != NULL);
    CU_ASSERT_EQUAL (nerve_fft_size (f), n);
    CU_ASSERT_EQUAL (nerve_fft_bins (f), bins);
    float *x = g_new (float, n), *x0 = g_new (float, n), *X = g_new (float, 2 * bins), *y = g_new (float, n);
    double *ref = g_new (double, MAX (n, 2 * bins));
    nerve_test_fill_f32 (x, n, 100 + s, 1);
    memcpy (x0, x, sizeof (float) * n);

    nerve_fft_forward (f, x, X);
    CU_ASSERT (memcmp (x, x0, sizeof (float) * n) == 0); /* input untouched */
    naive_rfft (ref, x, n);
    double ef = max_abs_diff (X, ref, 2 * bins) / sqrt (n);
    if (ef > 2e-6)
      fprintf (stderr, "\n  n=%d forward error %.3g\n", n, ef);
    CU_ASSERT (ef <= 2e-6);
    /* imaginary parts of bins 0 and n/2 are exactly zero */
    CU_ASSERT_EQUAL (X[1], 0.0f);
    if (n % 2 == 0)
      CU_ASSERT_EQUAL (X[2 * bins - 1], 0.0f);

    /* Parseval: sum x^2 = (|X0|^2 + 2 sum |Xk|^2 (+ |X_n/2|^2 for even n)) / n */
    double ex = 0, eX = 0;
    for (int i = 0; i < n; i++)
      ex += (double) x[i] * x[i];
    for (int k = 0; k < bins; k++) {
      double p = (double) X[2 * k] * X[2 * k] + (double) X[2 * k + 1] * X[2 * k + 1];
      eX += (k == 0 || (n % 2 == 0 && k == n / 2)) ? p : 2 * p;
    }
    CU_ASSERT_DOUBLE_EQUAL (eX / n / ex, 1.0, 1e-5);

    /* round trip */
    nerve_fft_inverse (f, X, y);
    double er = 0;
    for (int i = 0; i < n; i++)
      er = fmax (er, fabs (y[i] - x[i]));
    if (er > 2e-6)
      fprintf (stderr, "\n  n=%d round trip error %.3g\n", n, er);
    CU_ASSERT (er <= 2e-6);

    /* inverse of a random spectrum; garbage in the ignored imaginary parts */
    nerve_test_fill_f32 (X, 2 * bins, 200 + s, 1);
    X[1] = 7;
    if (n % 2 == 0)
      X[2 * bins - 1] = -3;
    naive_irfft (ref, X, n);
    nerve_fft_inverse (f, X, y);
    double ei = max_abs_diff (y, ref, n) * sqrt (n);
    if (ei > 2e-6)
      fprintf (stderr, "\n  n=%d inverse error %.3g\n", n, ei);
    CU_ASSERT (ei <= 2e-6);

    /* plan reuse gives bit-identical results */
    float *y2 = g_new (float, n);
    nerve_fft_inverse (f, X, y2);
    CU_ASSERT (memcmp (y, y2, sizeof (float) * n) == 0);
    g_free (x), g_free (x0), g_free (X), g_free (y), g_free (y2), g_free (ref);
  }
}

/* A cosine at bin k is a single line of height n/2 (n for bins 0 and n/2). */
static void
test_fft_pure_tones (void)
{
  const int n = 960, ks[] = { 0, 1, 7, 100, 479, 480 };
  g_autoptr (NerveFft) f = nerve_fft_new (n, NULL);
  float x[960], X[2 * 481];
  for (gsize t = 0; t < G_N_ELEMENTS (ks); t++) {
    int k = ks[t];
    for (int i = 0; i < n; i++)
      x[i] = (float) cos (2 * G_PI * (double) ((gint64) i * k % n) / n);
    nerve_fft_forward (f, x, X);
    double peak = (k == 0 || k == n / 2) ? n : n / 2.0, other = 0;
    for (int b = 0; b <= n / 2; b++)
      if (b != k)
        other = fmax (other, hypot (X[2 * b], X[2 * b + 1]));
    CU_ASSERT_DOUBLE_EQUAL (X[2 * k], peak, 1e-3);
    CU_ASSERT_DOUBLE_EQUAL (X[2 * k + 1], 0, 1e-3);
    CU_ASSERT (other < 1e-3);
  }
}

static void
test_fft_rejects_short_lengths (void)
{
  const int bad[] = { 1, 0, -4 };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    NerveFft *f = nerve_fft_new (bad[i], &err);
    CU_ASSERT_PTR_NULL (f);
    CU_ASSERT_FATAL (err != NULL);
    CU_ASSERT (g_error_matches (err, NERVE_ERROR, NERVE_ERROR_INVALID));
    g_autofree char *want = g_strdup_printf ("FFT length %d", bad[i]);
    CU_ASSERT (strstr (err->message, want) != NULL);
    CU_ASSERT (strstr (err->message, "2 <= n") != NULL);
  }
}

NERVE_TEST_MAIN ("fft", { "matches numpy", test_fft_matches_numpy }, { "matches naive DFT", test_fft_matches_naive_dft },
                 { "pure tones", test_fft_pure_tones }, { "rejects n < 2", test_fft_rejects_short_lengths })

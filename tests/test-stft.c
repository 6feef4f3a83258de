/* STFT: windows, framing against a plain FFT of the last `size` samples, identity
 * reconstruction delayed by size - hop for every accepted window pair, refusal of pairs
 * that do not overlap-add to a constant. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "error.h"
#include "stft.h"

static void
test_window_shapes (void)
{
  const int n = 512;
  float r[512], h[512], sh[512], v[960];
  nerve_window_fill (NERVE_WINDOW_RECT, r, n);
  nerve_window_fill (NERVE_WINDOW_HANN, h, n);
  nerve_window_fill (NERVE_WINDOW_SQRT_HANN, sh, n);
  nerve_window_fill (NERVE_WINDOW_VORBIS, v, 960);
  /* periodic Hann: h[0] = 0, h[n/2] = 1, h[i] = h[n-i], h[i] + h[i+n/2] = 1 */
  CU_ASSERT_DOUBLE_EQUAL (h[0], 0, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (h[n / 2], 1, 1e-7);
  CU_ASSERT_DOUBLE_EQUAL (h[1], 0.5 - 0.5 * cos (2 * G_PI / n), 1e-7);
  double e_sym = 0, e_cola = 0, e_sqrt = 0, e_rect = 0;
  for (int i = 1; i < n; i++)
    e_sym = fmax (e_sym, fabs (h[i] - h[n - i]));
  for (int i = 0; i < n / 2; i++)
    e_cola = fmax (e_cola, fabs (h[i] + h[i + n / 2] - 1));
  for (int i = 0; i < n; i++) {
    e_sqrt = fmax (e_sqrt, fabs ((double) sh[i] * sh[i] - h[i]));
    e_rect = fmax (e_rect, fabs (r[i] - 1));
    CU_ASSERT (sh[i] >= 0);
  }
  CU_ASSERT (e_sym < 1e-6 && e_cola < 1e-6 && e_sqrt < 1e-6 && e_rect == 0);
  /* Vorbis as RNNoise builds it for FRAME_SIZE 480: half_window[i] =
   * sin(.5 pi sin(.5 pi (i+.5)/480)^2), mirrored; power complementary at 50 % */
  double e_rn = 0, e_pc = 0;
  for (int i = 0; i < 480; i++) {
    double s = sin (0.5 * G_PI * (i + 0.5) / 480), ref = sin (0.5 * G_PI * s * s);
    e_rn = fmax (e_rn, fmax (fabs (v[i] - ref), fabs (v[959 - i] - ref)));
    e_pc = fmax (e_pc, fabs ((double) v[i] * v[i] + (double) v[i + 480] * v[i + 480] - 1));
  }
  CU_ASSERT (e_rn < 1e-6);
  CU_ASSERT (e_pc < 1e-6);
}

static void
test_window_names (void)
{
  const NerveWindowType all[] = { NERVE_WINDOW_RECT, NERVE_WINDOW_HANN, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_VORBIS };
  for (gsize i = 0; i < G_N_ELEMENTS (all); i++) {
    NerveWindowType t = (NerveWindowType) -1;
    CU_ASSERT (nerve_window_from_name (nerve_window_name (all[i]), &t, NULL));
    CU_ASSERT_EQUAL (t, all[i]);
  }
  CU_ASSERT_STRING_EQUAL (nerve_window_name (NERVE_WINDOW_SQRT_HANN), "sqrt-hann");
  const char *bad[] = { "hamming", "Hann", "", NULL };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autoptr (GError) err = NULL;
    CU_ASSERT_FALSE (nerve_window_from_name (bad[i], NULL, &err));
    CU_ASSERT_FATAL (err != NULL);
    CU_ASSERT (g_error_matches (err, NERVE_ERROR, NERVE_ERROR_INVALID));
    CU_ASSERT (strstr (err->message, "rect, hann, sqrt-hann, vorbis") != NULL);
    if (bad[i])
      CU_ASSERT (strstr (err->message, bad[i]) != NULL);
  }
}

/* Frame t is the FFT of the windowed last `size` samples (zeros before the start). */
static void
test_stft_frames (void)
{
  const int size = 400, T = 7;
  g_autoptr (NerveStft) a = nerve_stft_new (size, 80, NERVE_WINDOW_HANN, NERVE_WINDOW_RECT, NULL);
  CU_ASSERT_FATAL (a != NULL);
  CU_ASSERT_EQUAL (nerve_stft_bins (a), 201);
  CU_ASSERT_EQUAL (nerve_stft_size (a), 400);
  CU_ASSERT_EQUAL (nerve_stft_hop (a), 80);
  CU_ASSERT_EQUAL (nerve_stft_latency (a), 320);
  g_autoptr (NerveFft) f = nerve_fft_new (size, NULL);
  float x[80 * 7], w[400], frame[400], spec[402], ref[402], first[402];
  nerve_test_fill_f32 (x, 80 * T, 5, 1);
  nerve_window_fill (NERVE_WINDOW_HANN, w, size);
  for (int t = 0; t < T; t++) {
    nerve_stft_analyze (a, x + 80 * t, spec);
    int end = 80 * (t + 1);
    for (int i = 0; i < size; i++) {
      int j = end - size + i;
      frame[i] = j >= 0 ? x[j] * w[i] : 0;
    }
    nerve_fft_forward (f, frame, ref);
    nerve_assert_close ("stft frame vs fft of last size samples", spec, ref, 402, 1e-6);
    if (t == 0)
      memcpy (first, spec, sizeof first);
  }
  /* reset: the same signal gives the same frames again */
  nerve_stft_reset (a);
  nerve_stft_analyze (a, x, spec);
  CU_ASSERT (memcmp (spec, first, sizeof first) == 0);
}

typedef struct {
  int size, hop;
  NerveWindowType a, s;
} Pair;

/* analyze -> synthesize reproduces the input delayed by size - hop */
static void
test_stft_identity (void)
{
  const Pair ok[] = {
    { 512, 256, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_SQRT_HANN }, /* sum 1 */
    { 512, 128, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_SQRT_HANN }, /* Hann at 75 %: sum 2 */
    { 512, 256, NERVE_WINDOW_HANN, NERVE_WINDOW_RECT },           /* sum 1 */
    { 512, 128, NERVE_WINDOW_RECT, NERVE_WINDOW_HANN },           /* sum 2 */
    { 512, 128, NERVE_WINDOW_RECT, NERVE_WINDOW_RECT },           /* DTLN: 4 frames, scale 1/4 */
    { 960, 480, NERVE_WINDOW_VORBIS, NERVE_WINDOW_VORBIS },       /* RNNoise: sum 1 */
    { 960, 240, NERVE_WINDOW_VORBIS, NERVE_WINDOW_VORBIS },       /* sum 2 */
    { 512, 128, NERVE_WINDOW_HANN, NERVE_WINDOW_HANN },           /* Hann^2 at 75 %: sum 1.5 */
    { 30, 10, NERVE_WINDOW_RECT, NERVE_WINDOW_RECT },
    { 64, 64, NERVE_WINDOW_RECT, NERVE_WINDOW_RECT }, /* no overlap */
  };
  for (gsize p = 0; p < G_N_ELEMENTS (ok); p++) {
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveStft) s = nerve_stft_new (ok[p].size, ok[p].hop, ok[p].a, ok[p].s, &err);
    if (!s)
      fprintf (stderr, "\n  %s\n", err->message);
    CU_ASSERT_FATAL (s != NULL);
    int hop = ok[p].hop, lat = nerve_stft_latency (s), T = ok[p].size / hop + 12, n = T * hop;
    float *x = g_new (float, n), *y = g_new (float, n), *spec = g_new (float, 2 * nerve_stft_bins (s));
    for (int pass = 0; pass < 2; pass++) {
      nerve_test_fill_f32 (x, n, 10 + p + pass, 1);
      for (int t = 0; t < T; t++) {
        nerve_stft_analyze (s, x + t * hop, spec);
        nerve_stft_synthesize (s, spec, y + t * hop);
      }
      double err_max = 0;
      for (int i = 0; i < n; i++)
        err_max = fmax (err_max, fabs (y[i] - (i >= lat ? x[i - lat] : 0)));
      if (err_max > 1e-5)
        fprintf (stderr, "\n  %s/%s %d/%d: error %.3g\n", nerve_window_name (ok[p].a), nerve_window_name (ok[p].s),
                 ok[p].size, hop, err_max);
      CU_ASSERT (err_max <= 1e-5);
      nerve_stft_reset (s); /* the second pass starts clean */
    }
    g_free (x), g_free (y), g_free (spec);
  }
}

static void
test_stft_refuses_non_cola (void)
{
  const Pair bad[] = {
    { 960, 480, NERVE_WINDOW_VORBIS, NERVE_WINDOW_RECT },
    { 512, 256, NERVE_WINDOW_HANN, NERVE_WINDOW_HANN },
    { 512, 256, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_RECT },
    { 512, 200, NERVE_WINDOW_RECT, NERVE_WINDOW_RECT },
    { 512, 384, NERVE_WINDOW_SQRT_HANN, NERVE_WINDOW_SQRT_HANN },
    { 400, 160, NERVE_WINDOW_HANN, NERVE_WINDOW_RECT },
  };
  for (gsize p = 0; p < G_N_ELEMENTS (bad); p++) {
    g_autoptr (GError) err = NULL;
    NerveStft *s = nerve_stft_new (bad[p].size, bad[p].hop, bad[p].a, bad[p].s, &err);
    CU_ASSERT_PTR_NULL (s);
    CU_ASSERT_FATAL (err != NULL);
    CU_ASSERT (g_error_matches (err, NERVE_ERROR, NERVE_ERROR_INVALID));
    g_autofree char *what = g_strdup_printf ("STFT size %d, hop %d: analysis window '%s' times synthesis window '%s'",
                                             bad[p].size, bad[p].hop, nerve_window_name (bad[p].a),
                                             nerve_window_name (bad[p].s));
    CU_ASSERT (strstr (err->message, what) != NULL);
    CU_ASSERT (strstr (err->message, "overlap-add") != NULL);
  }
  const int dims[][2] = { { 1, 1 }, { 512, 0 }, { 512, 513 }, { 512, -1 } };
  for (gsize i = 0; i < G_N_ELEMENTS (dims); i++) {
    g_autoptr (GError) err = NULL;
    CU_ASSERT_PTR_NULL (nerve_stft_new (dims[i][0], dims[i][1], NERVE_WINDOW_RECT, NERVE_WINDOW_RECT, &err));
    CU_ASSERT (err && strstr (err->message, "1 <= hop <= size") != NULL);
  }
}

NERVE_TEST_MAIN ("stft", { "window shapes", test_window_shapes }, { "window names", test_window_names },
                 { "frames", test_stft_frames }, { "identity reconstruction", test_stft_identity },
                 { "refuses non-COLA pairs", test_stft_refuses_non_cola })

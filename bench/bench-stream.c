/* µs per frame of a streaming denoiser-sized model (batch 1, one thread):
 *   build/bench/bench-stream [FRAMES (default 2000)]
 * Rows: RNN 257 -> H -> H (two layers), dense H -> 257, sigmoid, for GRU and LSTM.
 * Columns, all over the same frames and weights in the same run:
 *   stream      nerve_stream_step, state carried (what nervedenoise runs per 8 ms hop)
 *   runner T=1  nerve_runner_forward_seq on a [1,1,257] model per frame (the peer: the
 *               same arithmetic through the batch runner, no state carried)
 *   runner T=N  one forward_seq over all frames, per frame (offline processing)
 *   gemv        only the cblas_sgemv calls a step makes: the floor for batch 1 */
#include <stdio.h>
#include <stdlib.h>

#include "nerve.h"

#include <cblas.h> /* after nerve.h: it may define I (complex.h), a parameter name there */

#define BINS 257
#define REPS 7

static double
median (double *v, int n)
{
  for (int i = 0; i < n; i++)
    for (int j = i + 1; j < n; j++)
      if (v[j] < v[i]) {
        double t = v[i];
        v[i] = v[j], v[j] = t;
      }
  return v[n / 2];
}

static NerveModel *
make (const char *cell, int H, int T)
{
  g_autofree char *json = g_strdup_printf (
    "{\"input\": [%d, %d], \"layers\": [{\"type\": \"%s\", \"hidden\": %d, \"layers\": 2},"
    "{\"type\": \"dense\", \"units\": %d}, {\"type\": \"sigmoid\"}]}", T, BINS, cell, H, BINS);
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (!m) {
    fprintf (stderr, "bench-stream: %s\n", err->message);
    exit (1);
  }
  nerve_model_init_params (m, 1); /* same seed, same shapes: same weights at any T */
  return m;
}

static void
row (const char *cell, int H, int N, const float *x)
{
  g_autoptr (NerveModel) mN = make (cell, H, N);
  g_autoptr (NerveModel) m1 = make (cell, H, 1);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveStream) s = nerve_stream_new (mN, &err);
  g_autoptr (NerveRunner) r1 = nerve_runner_new (m1, 1, 0, &err);
  g_autoptr (NerveRunner) rN = nerve_runner_new (mN, 1, 0, &err);
  if (!s || !r1 || !rN) {
    fprintf (stderr, "bench-stream: %s\n", err->message);
    exit (1);
  }
  const int G = (g_str_equal (cell, "lstm") ? 4 : 3) * H;
  float *gx = nerve_alloc_floats ((gsize) MAX (G, BINS)), *gy = nerve_alloc_floats ((gsize) MAX (G, BINS));
  const float *W[5] = { mN->layers[0]->params[0].data, mN->layers[0]->params[1].data,
                        mN->layers[0]->params[4].data, mN->layers[0]->params[5].data,
                        mN->layers[1]->params[0].data };
  const int rows[5] = { G, G, G, G, BINS }, cols[5] = { BINS, H, H, H, H };

  double t_stream[REPS], t_r1[REPS], t_rN[REPS], t_gemv[REPS];
  volatile float sink = 0;
  for (int rep = -1; rep < REPS; rep++) { /* rep -1 warms up */
    gint64 t0 = g_get_monotonic_time ();
    nerve_stream_reset (s);
    for (int t = 0; t < N; t++)
      sink += nerve_stream_step (s, x + (gsize) t * BINS)[0];
    gint64 t1 = g_get_monotonic_time ();
    for (int t = 0; t < N; t++)
      sink += nerve_runner_forward_seq (r1, x + (gsize) t * BINS, NULL, 1, FALSE, NULL)[0];
    gint64 t2 = g_get_monotonic_time ();
    sink += nerve_runner_forward_seq (rN, x, NULL, 1, FALSE, NULL)[0];
    gint64 t3 = g_get_monotonic_time ();
    for (int t = 0; t < N; t++)
      for (int k = 0; k < 5; k++) {
        const float *v = k == 0 ? x + (gsize) t * BINS : gx;
        cblas_sgemv (CblasRowMajor, CblasNoTrans, rows[k], cols[k], 1, W[k], cols[k], v, 1, 0, gy, 1);
      }
    gint64 t4 = g_get_monotonic_time ();
    if (rep >= 0) {
      t_stream[rep] = (double) (t1 - t0) / N;
      t_r1[rep] = (double) (t2 - t1) / N;
      t_rN[rep] = (double) (t3 - t2) / N;
      t_gemv[rep] = (double) (t4 - t3) / N;
    }
  }
  double a = median (t_stream, REPS), b = median (t_r1, REPS), c = median (t_rN, REPS),
         d = median (t_gemv, REPS);
  printf ("%-4s 257-%d-%d-257 | %8.2f | %8.2f (%.2fx) | %8.2f (%.2fx) | %6.2f (%.2fx) | %6.0fx\n", cell,
          H, H, a, b, b / a, c, c / a, d, a / d, 8000.0 / a);
  nerve_free_floats (gx);
  nerve_free_floats (gy);
  (void) sink;
}

int
main (int argc, char **argv)
{
  int N = argc > 1 ? atoi (argv[1]) : 2000;
  if (N < 1 || N > 1000000) {
    fprintf (stderr, "usage: bench-stream [FRAMES]\n");
    return 2;
  }
  nerve_set_threads (1);
  float *x = nerve_alloc_floats ((gsize) N * BINS);
  for (gsize i = 0; i < (gsize) N * BINS; i++)
    x[i] = (float) ((i * 2654435761u) % 1000) / 500.0f - 1.0f;
  printf ("µs per frame, median of %d runs of %d frames, one thread; (ratio) = column / stream,\n"
          "gemv (ratio) = stream / gemv; real time = 8 ms hop / stream\n", REPS, N);
  printf ("model             |   stream | runner T=1 (ratio) | runner T=N (ratio) | gemv (ratio) | real time\n");
  row ("gru", 128, N, x);
  row ("lstm", 128, N, x);
  row ("gru", 256, N, x);
  nerve_free_floats (x);
  return 0;
}

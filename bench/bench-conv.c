/* bench-conv: conv2d forward/backward speed on typical layer shapes, against a raw
 * nerve_gemm (OpenBLAS sgemm) of the same GEMM shapes measured in the same run.
 *
 *   build/bench/bench-conv [--threads N] [--reps N]
 *
 * The "gemm" columns time the GEMMs of an im2col implementation of the layer: one
 * [O/g, C/g*k*k] x [C/g*k*k, samples*OH*OW] product per group and chunk of samples,
 * as conv2d's im2col path runs them. "conv/gemm" is conv2d forward's speed over that
 * GEMM speed (GEMM time / forward time): the share of the bare GEMM speed conv2d keeps (goal >= 0.7, i.e. im2col,
 * bias and layout moves cost under 30%). Above 1 means conv2d beats the GEMM: 3x3
 * stride-1 layers with >= 8 channels run Winograd F(2x2,3x3) (2.25x fewer flops;
 * their GFLOP/s count the direct convolution's flops), depthwise layers direct loops.
 * Backward computes dW and db, and dx except for a network's first layer (marked
 * "in"), which needs no input gradient. bench-conv-torch.py times PyTorch on the
 * same shapes the same way. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve.h"

/* after nerve.h: OpenBLAS pulls in complex.h, whose macro I would clash with it */
#include <cblas.h>
#undef I

typedef struct {
  const char *name;
  int N, C, H, W, O, k, stride, pad, groups;
  gboolean first; /* no dx */
} Shape;

static const Shape shapes[] = {
  { "fmnist c1 1->32 28x28", 64, 1, 28, 28, 32, 3, 1, 1, 1, TRUE },
  { "fmnist c2 32->64 14x14", 64, 32, 14, 14, 64, 3, 1, 1, 1, FALSE },
  { "fmnist c3 64->64 7x7", 64, 64, 7, 7, 64, 3, 1, 1, 1, FALSE },
  { "resnet 64->64 56x56", 8, 64, 56, 56, 64, 3, 1, 1, 1, FALSE },
  { "1x1 64->128 28x28", 16, 64, 28, 28, 128, 1, 1, 0, 1, FALSE },
  { "stride 2 64->128 28x28", 16, 64, 28, 28, 128, 3, 2, 1, 1, FALSE },
  { "depthwise 128 28x28", 16, 128, 28, 28, 128, 3, 1, 1, 128, FALSE },
};

/* With one thread, the process's CPU time: the build machine is shared, and wall
 * time would count the time other jobs hold the core. */
static clockid_t clock_id = CLOCK_MONOTONIC;

static double
now (void)
{
  struct timespec t;
  clock_gettime (clock_id, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* Fastest of reps runs, after one warm-up: on a shared machine the minimum is the
 * stable statistic (interference only ever adds time). */
#define TIME_MEDIAN(reps, out, body)                                                               \
  do {                                                                                             \
    double _t[256];                                                                                \
    int _n = (reps) < 256 ? (reps) : 256;                                                          \
    body;                                                                                          \
    for (int _r = 0; _r < _n; _r++) {                                                              \
      double _s = now ();                                                                          \
      body;                                                                                        \
      _t[_r] = now () - _s;                                                                        \
    }                                                                                              \
    qsort (_t, _n, sizeof (double), cmp_double);                                                   \
    (out) = _t[0];                                                                            \
  } while (0)

/* The GEMMs conv2d's fast path runs for this shape (or would run, for direct loops). */
static void
run_gemms (const NerveConv2dGeom *g, int N, const float *A, const float *B, float *Cm)
{
  const int ohw = g->OH * g->OW, Og = g->O / g->groups, Kg = g->C / g->groups * g->kh * g->kw;
  const int nb = nerve_conv2d_chunk (g, N);
  for (int n0 = 0; n0 < N; n0 += nb) {
    int m = MIN (nb, N - n0), ld = m * ohw;
    for (int gr = 0; gr < g->groups; gr++)
      nerve_gemm (FALSE, FALSE, Og, ld, Kg, 1, A + (gsize) gr * Og * Kg, Kg, B, ld, 0,
                  Cm + (gsize) gr * Og * ld, ld);
  }
}

int
main (int argc, char **argv)
{
  int threads = 1, reps = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp (argv[i], "--threads") && i + 1 < argc)
      threads = atoi (argv[++i]);
    else if (!strcmp (argv[i], "--reps") && i + 1 < argc)
      reps = atoi (argv[++i]);
    else {
      fprintf (stderr, "usage: %s [--threads N] [--reps N]\n", argv[0]);
      return 2;
    }
  }
  nerve_set_threads (threads);
  if (threads == 1)
    clock_id = CLOCK_PROCESS_CPUTIME_ID;
  printf ("bench-conv: OpenBLAS %s, core %s, %d thread(s); fastest of runs, %s time\n\n",
          openblas_get_config (), openblas_get_corename (), nerve_get_threads (),
          threads == 1 ? "CPU" : "wall");
  printf ("%-26s %5s | %8s %7s | %8s %7s | %8s | %8s %7s\n", "layer", "batch", "fwd ms", "GFLOP/s",
          "gemm ms", "GFLOP/s", "conv/gemm", "bwd ms", "GFLOP/s");
  double total_fwd = 0, total_bwd = 0;
  for (gsize s = 0; s < G_N_ELEMENTS (shapes); s++) {
    const Shape *sh = &shapes[s];
    NerveConv2dGeom g = nerve_conv2d_geom (sh->C, sh->H, sh->W, sh->O, sh->k, sh->k, sh->stride, sh->stride,
                                           sh->pad, sh->pad, 1, 1, sh->groups);
    const int N = sh->N, Kg = sh->C / sh->groups * sh->k * sh->k;
    const gsize nx = (gsize) N * sh->C * sh->H * sh->W, ny = (gsize) N * sh->O * g.OH * g.OW;
    const gsize nw = (gsize) sh->O * Kg, nb = (gsize) nerve_conv2d_chunk (&g, N) * g.OH * g.OW;
    const double flops = 2.0 * (double) ny * Kg;
    float *x = nerve_alloc_floats (nx), *y = nerve_alloc_floats (ny), *w = nerve_alloc_floats (nw);
    float *b = nerve_alloc_floats (sh->O), *dx = nerve_alloc_floats (nx), *dw = nerve_alloc_floats (nw);
    float *db = nerve_alloc_floats (sh->O);
    float *work = nerve_alloc_floats (MAX (nerve_conv2d_work_size (&g, N), 1));
    float *gb = nerve_alloc_floats ((gsize) sh->C * sh->k * sh->k * nb), *gc = nerve_alloc_floats (sh->O * nb);
    for (gsize i = 0; i < nx; i++)
      x[i] = (float) (i % 17) * 0.01f;
    for (gsize i = 0; i < nw; i++)
      w[i] = (float) (i % 13) * 0.01f;
    int r = reps > 0 ? reps : (int) CLAMP (1e9 / flops, 10, 200);
    double tf, tg, tb;
    TIME_MEDIAN (r, tf, nerve_conv2d_forward (y, work, x, w, b, &g, N));
    TIME_MEDIAN (r, tg, run_gemms (&g, N, w, gb, gc));
    TIME_MEDIAN (r, tb, nerve_conv2d_backward (sh->first ? NULL : dx, dw, db, work, y, x, w, &g, N));
    double bflops = flops * (sh->first ? 1 : 2);
    printf ("%-26s %5d | %8.3f %7.1f | %8.3f %7.1f | %8.2f | %8.3f %7.1f%s\n", sh->name, N, tf * 1e3,
            flops / tf * 1e-9, tg * 1e3, flops / tg * 1e-9, tg / tf, tb * 1e3, bflops / tb * 1e-9,
            sh->first ? " in" : "");
    if (s < 3) {
      total_fwd += tf;
      total_bwd += tb;
    }
    float *all[] = { x, y, w, b, dx, dw, db, work, gb, gc };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  printf ("\nFashion-MNIST CNN convs (first three rows), batch 64: forward %.2f ms, backward %.2f ms, "
          "total %.2f ms\n", total_fwd * 1e3, total_bwd * 1e3, (total_fwd + total_bwd) * 1e3);
  return 0;
}

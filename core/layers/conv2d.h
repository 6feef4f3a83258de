/* 2-D convolution, NCHW like PyTorch: per-sample input [C, H, W], weight
 * [O, C/groups, kh, kw], bias [O], output [O, OH, OW].
 *
 * The fast kernels run im2col + one GEMM per group over a chunk of samples (small
 * feature maps are batched side by side so the GEMM gets wide enough), skip im2col
 * for 1x1 stride-1 convolutions, and use direct loops when each group has a single
 * input channel (depthwise, or a 1-channel input). They need `work` scratch of
 * nerve_conv2d_work_size() floats; its content is not kept between calls.
 * The _ref kernels are the naive loops the tests compare them with. */
#pragma once
#include <glib.h>

#include "im2col.h"

G_BEGIN_DECLS

/* Feature maps smaller than this many pixels are batched into one GEMM. */
#define NERVE_CONV2D_GEMM_COLS 1024

/* Single input channel per group: direct loops, no GEMM, no scratch. */
static inline gboolean
nerve_conv2d_is_direct (const NerveConv2dGeom *g)
{
  return g->C == g->groups;
}

/* Samples per GEMM for a batch of N. */
static inline int
nerve_conv2d_chunk (const NerveConv2dGeom *g, int N)
{
  int ohw = g->OH * g->OW;
  int nb = ohw > 0 ? (NERVE_CONV2D_GEMM_COLS + ohw - 1) / ohw : 1;
  return nb > N ? (N > 0 ? N : 1) : nb;
}

/* Scratch for any of the fast kernels below at batch N, in floats (or doubles). */
static inline gsize
nerve_conv2d_work_size (const NerveConv2dGeom *g, int N)
{
  if (nerve_conv2d_is_direct (g))
    return 0;
  int nb = nerve_conv2d_chunk (g, N);
  gsize cols = (gsize) nb * g->OH * g->OW;
  return cols * ((gsize) g->C * g->kh * g->kw + (nb > 1 ? (gsize) g->O : 0));
}

/* y[N,O,OH,OW] = conv(x[N,C,H,W], w) + b (b may be NULL). */
void nerve_conv2d_forward (float *y, float *work, const float *x, const float *w, const float *b,
                           const NerveConv2dGeom *g, int N);
/* y += conv(x, w), no bias (conv_transpose2d's input gradient). */
void nerve_conv2d_forward_add (float *y, float *work, const float *x, const float *w,
                               const NerveConv2dGeom *g, int N);
/* dx += convᵀ(dy, w); dw += dy ⋆ x; db += Σ dy. Any of dx, dw, db may be NULL
 * (x is then only read for dw, and may be NULL without it). */
void nerve_conv2d_backward (float *dx, float *dw, float *db, float *work, const float *dy,
                            const float *x, const float *w, const NerveConv2dGeom *g, int N);
void nerve_conv2d_forward_ref (float *y, const float *x, const float *w, const float *b,
                               const NerveConv2dGeom *g, int N);
void nerve_conv2d_backward_ref (float *dx, float *dw, float *db, const float *dy, const float *x,
                                const float *w, const NerveConv2dGeom *g, int N);

void nerve_conv2d_forward_f64 (double *y, double *work, const double *x, const double *w,
                               const double *b, const NerveConv2dGeom *g, int N);
void nerve_conv2d_forward_add_f64 (double *y, double *work, const double *x, const double *w,
                                   const NerveConv2dGeom *g, int N);
void nerve_conv2d_backward_f64 (double *dx, double *dw, double *db, double *work, const double *dy,
                                const double *x, const double *w, const NerveConv2dGeom *g, int N);
void nerve_conv2d_forward_ref_f64 (double *y, const double *x, const double *w, const double *b,
                                   const NerveConv2dGeom *g, int N);
void nerve_conv2d_backward_ref_f64 (double *dx, double *dw, double *db, const double *dy,
                                    const double *x, const double *w, const NerveConv2dGeom *g, int N);

G_END_DECLS

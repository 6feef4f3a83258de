/* 2-D convolution, NCHW like PyTorch: per-sample input [C, H, W], weight
 * [O, C/groups, kh, kw], bias [O], output [O, OH, OW].
 *
 * 3x3 stride-1 convolutions without groups or dilation run Winograd F(2x2,3x3)
 * (winograd.h). The other fast kernels run im2col + one GEMM per group over a chunk of samples (small
 * feature maps are batched side by side so the GEMM gets wide enough), skip im2col
 * for 1x1 stride-1 convolutions, and use direct loops when each group has a single
 * input channel and fewer than 8 outputs (depthwise) and both strides are equal. They need `work` scratch of
 * nerve_conv2d_work_size() floats; its content is not kept between calls.
 * The _ref kernels are the naive loops the tests compare them with. */
#pragma once
#include <glib.h>

#include "im2col.h"
#include "winograd.h"

G_BEGIN_DECLS

/* Feature maps smaller than this many pixels are batched into one GEMM. */
#define NERVE_CONV2D_GEMM_COLS 512

/* Single input channel and few outputs per group (depthwise), one stride: direct
 * loops. (A 1-channel first layer with many filters is faster as a K=9 GEMM.) */
static inline gboolean
nerve_conv2d_is_direct (const NerveConv2dGeom *g)
{
  return g->C == g->groups && g->sh == g->sw && g->O / g->groups < 8;
}

/* The direct loops' layout: each input plane zero-padded to [Hp, Wp], outputs
 * computed in blocks of 16 into a "wide" [OH, OWp] map. At stride 1, OWp = Wp and
 * output p reads flat index p + tap offset, so blocks run across rows; at larger
 * strides OWp is OW rounded up to 16 and blocks stay within a row. L is the wide
 * size (a multiple of 64 at stride 1) and *plane the padded plane's, big enough for
 * every read of the last block. */
static inline void
nerve_conv2d_direct_layout (const NerveConv2dGeom *g, int *Wp, int *OWp, int *L, gsize *plane)
{
  int s = g->sh;
  int Hp = MAX (g->ph + g->H, (g->OH - 1) * s + (g->kh - 1) * g->dh + 1);
  *Wp = MAX (g->pw + g->W, (g->OW - 1) * s + (g->kw - 1) * g->dw + 1);
  *OWp = s == 1 ? *Wp : (g->OW + 15) / 16 * 16;
  *L = s == 1 ? (g->OH * *OWp + 63) / 64 * 64 : g->OH * *OWp;
  gsize taps = (gsize) (g->kh - 1) * g->dh * *Wp + (gsize) (g->kw - 1) * g->dw;
  gsize last = s == 1 ? (gsize) (*L - 1) + taps
                      : (gsize) (g->OH - 1) * s * *Wp + (gsize) (*OWp - 1) * s + taps;
  *plane = MAX ((gsize) Hp * *Wp, last + 1);
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
  if (nerve_conv2d_is_direct (g)) {
    int Wp, OWp, L;
    gsize plane;
    nerve_conv2d_direct_layout (g, &Wp, &OWp, &L, &plane);
    return 2 * plane + 4 * (gsize) L;
  }
  if (nerve_winograd_applies (g))
    return nerve_winograd_work_size (g, N);
  int nb = nerve_conv2d_chunk (g, N);
  gsize cols = (gsize) nb * g->OH * g->OW;
  return cols * ((gsize) g->C * g->kh * g->kw + (nb > 1 ? (gsize) g->O : 0)) + nerve_im2col_pad_size (g);
}

/* y[N,O,OH,OW] = conv(x[N,C,H,W], w) + b (b may be NULL). */
void nerve_conv2d_forward (float *y, float *work, const float *x, const float *w, const float *b,
                           const NerveConv2dGeom *g, int N);
/* y += conv(x, w), no bias (conv_transpose2d's input gradient). */
/* Like forward; weights_unchanged: work holds what an earlier call with the same w
 * derived from it (inference runners pass TRUE after their first call). */
void nerve_conv2d_forward_cached (float *y, float *work, const float *x, const float *w, const float *b,
                                  const NerveConv2dGeom *g, int N, gboolean weights_unchanged);
void nerve_conv2d_forward_cached_f64 (double *y, double *work, const double *x, const double *w,
                                      const double *b, const NerveConv2dGeom *g, int N,
                                      gboolean weights_unchanged);
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

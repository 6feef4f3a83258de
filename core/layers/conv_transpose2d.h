/* Transposed 2-D convolution (PyTorch's ConvTranspose2d), NCHW: per-sample input
 * [C, H, W], weight [C, O/groups, kh, kw], bias [O], output [O, OH, OW] with
 * OH = (H-1)*sh - 2*ph + dh*(kh-1) + oph + 1.
 *
 * The geometry describes the transposed convolution itself (C/H/W its input,
 * O/OH/OW its output). It is the adjoint of a conv2d from [O, OH, OW] to [C, H, W]
 * (nerve_conv_transpose2d_adjoint), so the forward runs conv2d's input gradient
 * (GEMM + col2im) and the backward runs conv2d's forward and weight gradient. */
#pragma once
#include <glib.h>

#include "conv2d.h"

G_BEGIN_DECLS

static inline NerveConv2dGeom
nerve_conv_transpose2d_geom (int C, int H, int W, int O, int kh, int kw, int sh, int sw, int ph,
                             int pw, int oph, int opw, int dh, int dw, int groups)
{
  NerveConv2dGeom g = { C, H, W, O, 0, 0, kh, kw, sh, sw, ph, pw, dh, dw, groups };
  g.OH = (H - 1) * sh - 2 * ph + dh * (kh - 1) + oph + 1;
  g.OW = (W - 1) * sw - 2 * pw + dw * (kw - 1) + opw + 1;
  return g;
}

/* The conv2d whose input gradient this transposed convolution computes. */
static inline NerveConv2dGeom
nerve_conv_transpose2d_adjoint (const NerveConv2dGeom *t)
{
  NerveConv2dGeom g = *t;
  g.C = t->O, g.H = t->OH, g.W = t->OW;
  g.O = t->C, g.OH = t->H, g.OW = t->W;
  return g;
}

static inline gsize
nerve_conv_transpose2d_work_size (const NerveConv2dGeom *t, int N)
{
  NerveConv2dGeom a = nerve_conv_transpose2d_adjoint (t);
  return nerve_conv2d_work_size (&a, N);
}

/* y[N,O,OH,OW] = convᵀ(x[N,C,H,W], w) + b (b may be NULL). */
void nerve_conv_transpose2d_forward (float *y, float *work, const float *x, const float *w,
                                     const float *b, const NerveConv2dGeom *t, int N);
/* dx += conv(dy, w); dw += x ⋆ dy; db += Σ dy. Any of dx, dw, db may be NULL. */
void nerve_conv_transpose2d_backward (float *dx, float *dw, float *db, float *work, const float *dy,
                                      const float *x, const float *w, const NerveConv2dGeom *t, int N);
void nerve_conv_transpose2d_forward_ref (float *y, const float *x, const float *w, const float *b,
                                         const NerveConv2dGeom *t, int N);
void nerve_conv_transpose2d_backward_ref (float *dx, float *dw, float *db, const float *dy,
                                          const float *x, const float *w, const NerveConv2dGeom *t, int N);

void nerve_conv_transpose2d_forward_f64 (double *y, double *work, const double *x, const double *w,
                                         const double *b, const NerveConv2dGeom *t, int N);
void nerve_conv_transpose2d_backward_f64 (double *dx, double *dw, double *db, double *work,
                                          const double *dy, const double *x, const double *w,
                                          const NerveConv2dGeom *t, int N);
void nerve_conv_transpose2d_forward_ref_f64 (double *y, const double *x, const double *w,
                                             const double *b, const NerveConv2dGeom *t, int N);
void nerve_conv_transpose2d_backward_ref_f64 (double *dx, double *dw, double *db, const double *dy,
                                              const double *x, const double *w,
                                              const NerveConv2dGeom *t, int N);

G_END_DECLS

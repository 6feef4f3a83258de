/* 1-D convolution, CHANNELS-LAST: per-sample input [T, C] -> output [TO, O], so it
 * composes with dense, RNN and attention layers, which all treat the last dimension
 * as features (PyTorch's Conv1d is [C, T]: transpose to compare). The weight keeps
 * PyTorch's layout [O, C/groups, k]; bias [O].
 * TO = floor((T + pad_left + pad_right - dilation*(k-1) - 1) / stride) + 1; the
 * geometry holds the left padding and TO (see im2col.h).
 *
 * Fast kernels: im2row + one GEMM per group over chunks of output frames (frames of
 * all samples are contiguous rows), no im2row at all for k=1 stride 1 without padding.
 * Streaming: a causal stride-1 convolution (pad = dilation*(k-1) on the left only)
 * can run one frame at a time with nerve_conv1d_step, keeping the last
 * dilation*(k-1) input frames as state. */
#pragma once
#include <glib.h>

#include "im2col.h"

G_BEGIN_DECLS

/* Output frames per GEMM: ~1 MiB of im2row columns, at least 256 rows. */
static inline int
nerve_conv1d_chunk_rows (const NerveConv1dGeom *g, int N)
{
  gsize total = (gsize) N * g->TO;
  gsize rows = MAX ((gsize) 256, (gsize) (262144 / ((gsize) g->C * g->k)));
  return (int) MIN (rows, MAX (total, (gsize) 1));
}

static inline gboolean
nerve_conv1d_is_pointwise (const NerveConv1dGeom *g)
{
  return g->k == 1 && g->stride == 1 && g->pad == 0 && g->TO == g->T;
}

static inline gsize
nerve_conv1d_work_size (const NerveConv1dGeom *g, int N)
{
  if (nerve_conv1d_is_pointwise (g))
    return 0;
  return (gsize) nerve_conv1d_chunk_rows (g, N) * g->C * g->k;
}

/* Frames of state a causal stride-1 convolution carries between steps. */
static inline int
nerve_conv1d_state_frames (const NerveConv1dGeom *g)
{
  return g->dilation * (g->k - 1);
}

/* y[N,TO,O] = conv(x[N,T,C], w) + b (b may be NULL). */
void nerve_conv1d_forward (float *y, float *work, const float *x, const float *w, const float *b,
                           const NerveConv1dGeom *g, int N);
/* dx += convᵀ(dy, w); dw += dy ⋆ x; db += Σ dy. Any of dx, dw, db may be NULL. */
void nerve_conv1d_backward (float *dx, float *dw, float *db, float *work, const float *dy,
                            const float *x, const float *w, const NerveConv1dGeom *g, int N);
/* One frame of a causal stride-1 convolution: y[O] from x[C] and state
 * [dilation*(k-1), C] (the previous input frames, oldest first, zeros at the start),
 * then state shifts in x. Equal to frame t of nerve_conv1d_forward. */
void nerve_conv1d_step (float *y, float *state, const float *x, const float *w, const float *b,
                        const NerveConv1dGeom *g);
void nerve_conv1d_forward_ref (float *y, const float *x, const float *w, const float *b,
                               const NerveConv1dGeom *g, int N);
void nerve_conv1d_backward_ref (float *dx, float *dw, float *db, const float *dy, const float *x,
                                const float *w, const NerveConv1dGeom *g, int N);

void nerve_conv1d_forward_f64 (double *y, double *work, const double *x, const double *w,
                               const double *b, const NerveConv1dGeom *g, int N);
void nerve_conv1d_backward_f64 (double *dx, double *dw, double *db, double *work, const double *dy,
                                const double *x, const double *w, const NerveConv1dGeom *g, int N);
void nerve_conv1d_step_f64 (double *y, double *state, const double *x, const double *w,
                            const double *b, const NerveConv1dGeom *g);
void nerve_conv1d_forward_ref_f64 (double *y, const double *x, const double *w, const double *b,
                                   const NerveConv1dGeom *g, int N);
void nerve_conv1d_backward_ref_f64 (double *dx, double *dw, double *db, const double *dy,
                                    const double *x, const double *w, const NerveConv1dGeom *g, int N);

G_END_DECLS

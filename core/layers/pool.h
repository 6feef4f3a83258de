/* Pooling: 2-D max/average pooling over [C,H,W] planes, global pooling over whole
 * planes, and pooling over the valid time steps of sequences [T,F]. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Window geometry of a 2-D pooling over H×W planes (PyTorch's floor mode). */
typedef struct {
  int H, W;   /* input plane */
  int kh, kw; /* window */
  int sh, sw; /* stride */
  int ph, pw; /* zero padding on each side; at most half the window */
  int Ho, Wo; /* output plane: (H + 2ph - kh) / sh + 1, likewise for W */
} NervePool2d;

NervePool2d nerve_pool2d_make (int H, int W, int kh, int kw, int sh, int sw, int ph, int pw);

typedef enum {
  NERVE_TIME_POOL_MAX,
  NERVE_TIME_POOL_MEAN,
} NerveTimePool;

/* Max pooling over P = N·C planes. y[P,Ho,Wo]; idx[P,Ho,Wo] gets the in-plane
 * position (h·W + w) of each maximum (the first one on ties, like PyTorch), which
 * backward scatters through. A fast path serves 2×2 windows with stride 2. */
void nerve_maxpool2d_forward (float *y, int *idx, const float *x, int P, const NervePool2d *g);
/* The plain loop the fast path is checked against. */
void nerve_maxpool2d_forward_ref (float *y, int *idx, const float *x, int P, const NervePool2d *g);
/* dx[P,H,W] += dy routed to the maxima. */
void nerve_maxpool2d_backward (float *dx, const float *dy, const int *idx, int P, const NervePool2d *g);
/* Average pooling, padding counted in the divisor (count_include_pad, PyTorch's default). */
void nerve_avgpool2d_forward (float *y, const float *x, int P, const NervePool2d *g);
void nerve_avgpool2d_backward (float *dx, const float *dy, int P, const NervePool2d *g);

/* Global pooling of P planes of S elements: y[P]. Max stores the position in idx[P]. */
void nerve_global_avgpool_forward (float *y, const float *x, int P, int S);
void nerve_global_avgpool_backward (float *dx, const float *dy, int P, int S);
void nerve_global_maxpool_forward (float *y, int *idx, const float *x, int P, int S);
void nerve_global_maxpool_backward (float *dx, const float *dy, const int *idx, int P, int S);

/* Pooling of x[N,T,F] over the first lengths[n] steps (NULL: all T; clamped to
 * [0,T]) into y[N,F]. Max stores the step of each maximum in idx[N,F] (-1 when a
 * sample has no valid step; its output is then 0); idx is unused for MEAN. */
void nerve_time_pool_forward (float *y, int *idx, const float *x, const int *lengths, int N, int T,
                              int F, NerveTimePool mode);
void nerve_time_pool_backward (float *dx, const float *dy, const int *idx, const int *lengths, int N,
                               int T, int F, NerveTimePool mode);

void nerve_maxpool2d_forward_f64 (double *y, int *idx, const double *x, int P, const NervePool2d *g);
void nerve_maxpool2d_forward_ref_f64 (double *y, int *idx, const double *x, int P, const NervePool2d *g);
void nerve_maxpool2d_backward_f64 (double *dx, const double *dy, const int *idx, int P, const NervePool2d *g);
void nerve_avgpool2d_forward_f64 (double *y, const double *x, int P, const NervePool2d *g);
void nerve_avgpool2d_backward_f64 (double *dx, const double *dy, int P, const NervePool2d *g);
void nerve_global_avgpool_forward_f64 (double *y, const double *x, int P, int S);
void nerve_global_avgpool_backward_f64 (double *dx, const double *dy, int P, int S);
void nerve_global_maxpool_forward_f64 (double *y, int *idx, const double *x, int P, int S);
void nerve_global_maxpool_backward_f64 (double *dx, const double *dy, const int *idx, int P, int S);
void nerve_time_pool_forward_f64 (double *y, int *idx, const double *x, const int *lengths, int N, int T,
                                  int F, NerveTimePool mode);
void nerve_time_pool_backward_f64 (double *dx, const double *dy, const int *idx, const int *lengths, int N,
                                   int T, int F, NerveTimePool mode);

G_END_DECLS

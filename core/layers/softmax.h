/* Softmax and log-softmax over the last dimension, stable for large logits (the
 * row maximum is subtracted before exponentiating). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* y[R,D] = softmax(x) per row; y may alias x. */
void nerve_softmax_forward (float *y, const float *x, int R, int D);
/* dx[R,D] += y · (dy - Σ dy·y), from the forward's output y. */
void nerve_softmax_backward (float *dx, const float *dy, const float *y, int R, int D);
/* y[R,D] = x - max - log Σ exp(x - max) per row (y must not alias x). */
void nerve_log_softmax_forward (float *y, const float *x, int R, int D);
/* dx[R,D] += dy - exp(y) · Σ dy, from the forward's output y. */
void nerve_log_softmax_backward (float *dx, const float *dy, const float *y, int R, int D);

void nerve_softmax_forward_f64 (double *y, const double *x, int R, int D);
void nerve_softmax_backward_f64 (double *dx, const double *dy, const double *y, int R, int D);
void nerve_log_softmax_forward_f64 (double *y, const double *x, int R, int D);
void nerve_log_softmax_backward_f64 (double *dx, const double *dy, const double *y, int R, int D);

G_END_DECLS

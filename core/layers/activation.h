#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NERVE_ACT_RELU,
  NERVE_ACT_LEAKY_RELU,
  NERVE_ACT_SIGMOID,
  NERVE_ACT_TANH,
  NERVE_ACT_GELU, /* exact, erf-based (PyTorch's default) */
} NerveActivation;

/* y[n] = f(x[n]); slope only for leaky ReLU. y may alias x. */
void nerve_activation_forward (float *y, const float *x, gsize n, NerveActivation act, float slope);
/* dx[n] += dy[n] f'(x[n]); needs the forward's x and y (y for sigmoid/tanh). */
void nerve_activation_backward (float *dx, const float *dy, const float *x, const float *y, gsize n,
                                NerveActivation act, float slope);
void nerve_activation_forward_f64 (double *y, const double *x, gsize n, NerveActivation act, double slope);
void nerve_activation_backward_f64 (double *dx, const double *dy, const double *x, const double *y,
                                    gsize n, NerveActivation act, double slope);

G_END_DECLS

/* Inverted dropout: training zeroes each element with probability p and scales the
 * rest by 1/(1-p), so evaluation is the identity. */
#pragma once
#include <glib.h>

#include "../rng.h"

G_BEGIN_DECLS

/* mask[n] = 0 with probability p, else 1/(1-p) (all 0 when p >= 1). */
void nerve_dropout_mask (float *mask, gsize n, float p, NerveRng *rng);
/* y[n] = x[n] · mask[n] */
void nerve_dropout_forward (float *y, const float *mask, const float *x, gsize n);
/* dx[n] += dy[n] · mask[n] */
void nerve_dropout_backward (float *dx, const float *dy, const float *mask, gsize n);

void nerve_dropout_mask_f64 (double *mask, gsize n, double p, NerveRng *rng);
void nerve_dropout_forward_f64 (double *y, const double *mask, const double *x, gsize n);
void nerve_dropout_backward_f64 (double *dx, const double *dy, const double *mask, gsize n);

G_END_DECLS

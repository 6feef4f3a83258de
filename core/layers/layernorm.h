/* Layer normalisation over the last dimension with an element-wise affine
 * (PyTorch's nn.LayerNorm(D)). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* y[R,D] = (x - mean) · invstd · weight + bias per row; mean/invstd[R] are cached
 * for backward (biased variance, as PyTorch). */
void nerve_layernorm_forward (float *y, float *mean, float *invstd, const float *x, const float *weight,
                              const float *bias, int R, int D, float eps);
/* dx[R,D] (may be NULL), dweight[D], dbias[D] (may be NULL) += gradients. */
void nerve_layernorm_backward (float *dx, float *dweight, float *dbias, const float *dy, const float *x,
                               const float *mean, const float *invstd, const float *weight, int R, int D);

void nerve_layernorm_forward_f64 (double *y, double *mean, double *invstd, const double *x,
                                  const double *weight, const double *bias, int R, int D, double eps);
void nerve_layernorm_backward_f64 (double *dx, double *dweight, double *dbias, const double *dy,
                                   const double *x, const double *mean, const double *invstd,
                                   const double *weight, int R, int D);

G_END_DECLS

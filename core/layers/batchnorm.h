/* Batch normalisation per channel, PyTorch's BatchNorm1d/2d. The kernels see the
 * batch as x[N,C,S]: C channels, S positions per channel and sample (H·W for
 * images, 1 for features; a sequence [T,F] is passed as N·T samples of C = F). */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Training: normalise with the batch mean and biased variance over N·S values per
 * channel; when running_mean/running_var are not NULL, update them as
 * r = (1 - momentum) r + momentum · stat, with the unbiased variance (as PyTorch).
 * Eval: normalise with the running statistics (which must be given).
 * y = (x - mean) · invstd · weight + bias. mean/invstd[C] are the cache backward uses. */
void nerve_batchnorm_forward (float *y, float *mean, float *invstd, float *running_mean,
                              float *running_var, const float *x, const float *weight,
                              const float *bias, int N, int C, int S, gboolean training,
                              float momentum, float eps);
/* dx[N,C,S] (may be NULL), dweight[C], dbias[C] (may be NULL) += gradients. training
 * must match the forward (eval treats the statistics as constants). work is [2C]
 * scratch. */
void nerve_batchnorm_backward (float *dx, float *dweight, float *dbias, float *work, const float *dy,
                               const float *x, const float *mean, const float *invstd,
                               const float *weight, int N, int C, int S, gboolean training);

void nerve_batchnorm_forward_f64 (double *y, double *mean, double *invstd, double *running_mean,
                                  double *running_var, const double *x, const double *weight,
                                  const double *bias, int N, int C, int S, gboolean training,
                                  double momentum, double eps);
void nerve_batchnorm_backward_f64 (double *dx, double *dweight, double *dbias, double *work,
                                   const double *dy, const double *x, const double *mean,
                                   const double *invstd, const double *weight, int N, int C, int S,
                                   gboolean training);

G_END_DECLS

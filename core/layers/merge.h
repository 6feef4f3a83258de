/* Layers that combine or re-view tensors: element-wise sum of several inputs
 * (residual connections), concatenation along an axis, flatten and reshape. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* y[n] = Σ_i x[i][n] over k >= 1 inputs. */
void nerve_add_forward (float *y, const float *const *x, int k, gsize n);
/* dx[i][n] += dy[n] for each of the k inputs whose dx[i] is not NULL. */
void nerve_add_backward (float *const *dx, const float *dy, int k, gsize n);
/* Concatenation of k inputs x[i][outer, inner[i]] into y[outer, Σ inner]: outer is
 * the product of the dimensions before the axis (batch included), inner[i] that of
 * the axis and the dimensions after it. */
void nerve_concat_forward (float *y, const float *const *x, const gsize *inner, int k, gsize outer);
/* dx[i] += its slice of dy; NULL entries are skipped. */
void nerve_concat_backward (float *const *dx, const float *dy, const gsize *inner, int k, gsize outer);

void nerve_add_forward_f64 (double *y, const double *const *x, int k, gsize n);
void nerve_add_backward_f64 (double *const *dx, const double *dy, int k, gsize n);
void nerve_concat_forward_f64 (double *y, const double *const *x, const gsize *inner, int k, gsize outer);
void nerve_concat_backward_f64 (double *const *dx, const double *dy, const gsize *inner, int k, gsize outer);

G_END_DECLS

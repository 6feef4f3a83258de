#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* y[N,O] = x[N,I] · w[O,I]ᵀ + b[O]   (PyTorch nn.Linear layout) */
void nerve_dense_forward (float *y, const float *x, const float *w, const float *b, int N, int I, int O);
/* dx[N,I] += dy·w; dw[O,I] += dyᵀ·x; db[O] += Σ dy. dx/db may be NULL. */
void nerve_dense_backward (float *dx, float *dw, float *db, const float *dy, const float *x,
                           const float *w, int N, int I, int O);
void nerve_dense_forward_f64 (double *y, const double *x, const double *w, const double *b, int N, int I, int O);
void nerve_dense_backward_f64 (double *dx, double *dw, double *db, const double *dy, const double *x,
                               const double *w, int N, int I, int O);

G_END_DECLS

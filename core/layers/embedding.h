#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Token ids arrive as floats holding exact integers. An id that is not finite, not an
 * integer or outside [0, vocab) is hostile input: it maps to a zero vector and gets no
 * gradient. So does padding_idx (-1 = none), whose row is thus zero as in PyTorch. */

/* y[N,dim] = w[ids[n]] */
void nerve_embedding_forward (float *y, const float *ids, const float *w, int N, int vocab, int dim,
                              int padding_idx);
/* dw[ids[n]] += dy[n] (scatter-add; ids have no gradient) */
void nerve_embedding_backward (float *dw, const float *dy, const float *ids, int N, int vocab, int dim,
                               int padding_idx);
void nerve_embedding_forward_f64 (double *y, const double *ids, const double *w, int N, int vocab,
                                  int dim, int padding_idx);
void nerve_embedding_backward_f64 (double *dw, const double *dy, const double *ids, int N, int vocab,
                                   int dim, int padding_idx);

G_END_DECLS

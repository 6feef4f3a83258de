/* GRU layer kernels (gate order r, z, n; conventions in rnn-common.h).
 * Layer config keys besides the shared ones (hidden, layers, bidirectional,
 * return_sequences): "reset_after" (true = PyTorch's cell; false = r applied to h
 * before W_hn, the original cell of RNNoise) and "activation" ("tanh", "relu",
 * "sigmoid": the candidate's nonlinearity). */
#pragma once
#include "rnn-common.h"

G_BEGIN_DECLS

/* out [N,T,H*dirs] or [N,H*dirs]; cache nerve_rnn_cache_size (NERVE_RNN_GRU, s);
 * x [N,T,F]; lengths [N] or NULL; params 4 per (layer, direction). */
void nerve_gru_forward (float *out, float *cache, const float *x, const int *lengths,
                        const float *const *params, const NerveRnnShape *s);
/* Backpropagation through time after nerve_gru_forward with the same cache: ADDS into
 * dx [N,T,F] (may be NULL) and grads (4 per layer and direction, as params). */
void nerve_gru_backward (float *dx, float *const *grads, float *cache, const float *dout,
                         const int *lengths, const float *const *params, const NerveRnnShape *s);
/* Naive per-sample loops with libm maths, to check the optimized forward. */
void nerve_gru_forward_ref (float *out, float *cache, const float *x, const int *lengths,
                            const float *const *params, const NerveRnnShape *s);
/* One time step of one layer and direction for B streams: h [B,H] is read and
 * replaced; scratch [B,9H]; x [B,F]. No allocation. */
void nerve_gru_step (float *h, float *scratch, const float *x, const float *w_ih, const float *w_hh,
                     const float *b_ih, const float *b_hh, int B, int F, int H);
/* The same for the variants of NerveRnnShape (reset_before, act). */
void nerve_gru_step_variant (float *h, float *scratch, const float *x, const float *w_ih, const float *w_hh,
                             const float *b_ih, const float *b_hh, int B, int F, int H, gboolean reset_before,
                             NerveRnnActivation act);

void nerve_gru_forward_f64 (double *out, double *cache, const double *x, const int *lengths,
                            const double *const *params, const NerveRnnShape *s);
void nerve_gru_backward_f64 (double *dx, double *const *grads, double *cache, const double *dout,
                             const int *lengths, const double *const *params, const NerveRnnShape *s);
void nerve_gru_forward_ref_f64 (double *out, double *cache, const double *x, const int *lengths,
                                const double *const *params, const NerveRnnShape *s);
void nerve_gru_step_f64 (double *h, double *scratch, const double *x, const double *w_ih,
                         const double *w_hh, const double *b_ih, const double *b_hh, int B, int F, int H);
void nerve_gru_step_variant_f64 (double *h, double *scratch, const double *x, const double *w_ih,
                                 const double *w_hh, const double *b_ih, const double *b_hh, int B, int F, int H,
                                 gboolean reset_before, NerveRnnActivation act);

G_END_DECLS

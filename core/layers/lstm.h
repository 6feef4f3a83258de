/* LSTM layer kernels (gate order i, f, g, o; conventions in rnn-common.h). */
#pragma once
#include "rnn-common.h"

G_BEGIN_DECLS

/* out [N,T,H*dirs] or [N,H*dirs]; cache nerve_rnn_cache_size (NERVE_RNN_LSTM, s);
 * x [N,T,F]; lengths [N] or NULL; params 4 per (layer, direction). */
void nerve_lstm_forward (float *out, float *cache, const float *x, const int *lengths,
                         const float *const *params, const NerveRnnShape *s);
/* Backpropagation through time after nerve_lstm_forward with the same cache: ADDS into
 * dx [N,T,F] (may be NULL) and grads (4 per layer and direction, as params). */
void nerve_lstm_backward (float *dx, float *const *grads, float *cache, const float *dout,
                          const int *lengths, const float *const *params, const NerveRnnShape *s);
/* Naive per-sample loops with libm maths, to check the optimized forward. */
void nerve_lstm_forward_ref (float *out, float *cache, const float *x, const int *lengths,
                             const float *const *params, const NerveRnnShape *s);
/* One time step of one layer and direction for B streams: h, c [B,H] are read and
 * replaced; scratch [B,7H]; x [B,F]. No allocation. */
void nerve_lstm_step (float *h, float *c, float *scratch, const float *x, const float *w_ih,
                      const float *w_hh, const float *b_ih, const float *b_hh, int B, int F, int H);

void nerve_lstm_forward_f64 (double *out, double *cache, const double *x, const int *lengths,
                             const double *const *params, const NerveRnnShape *s);
void nerve_lstm_backward_f64 (double *dx, double *const *grads, double *cache, const double *dout,
                              const int *lengths, const double *const *params, const NerveRnnShape *s);
void nerve_lstm_forward_ref_f64 (double *out, double *cache, const double *x, const int *lengths,
                                 const double *const *params, const NerveRnnShape *s);
void nerve_lstm_step_f64 (double *h, double *c, double *scratch, const double *x, const double *w_ih,
                          const double *w_hh, const double *b_ih, const double *b_hh, int B, int F, int H);

G_END_DECLS

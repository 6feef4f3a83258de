/* Recurrent layers (LSTM, GRU): the conventions both follow, their shape description
 * and cache sizing. The cell kernels are in lstm.h and gru.h.
 *
 * Gates, layouts and names are PyTorch's, so nn.LSTM / nn.GRU state dicts map 1:1:
 *   LSTM  W_ih [4H,F]  W_hh [4H,H]  b_ih [4H]  b_hh [4H]   row blocks i, f, g, o
 *         i = σ(W_ii x + b_ii + W_hi h + b_hi)     f = σ(W_if x + b_if + W_hf h + b_hf)
 *         g = tanh(W_ig x + b_ig + W_hg h + b_hg)  o = σ(W_io x + b_io + W_ho h + b_ho)
 *         c' = f*c + i*g      h' = o*tanh(c')
 *   GRU   W_ih [3H,F]  W_hh [3H,H]  b_ih [3H]  b_hh [3H]   row blocks r, z, n
 *         r = σ(W_ir x + b_ir + W_hr h + b_hr)     z = σ(W_iz x + b_iz + W_hz h + b_hz)
 *         n = tanh(W_in x + b_in + r*(W_hn h + b_hn))      h' = (1-z)*n + z*h
 * Model-file keys: "<layer>.weight_ih_l{k}", "weight_hh_l{k}", "bias_ih_l{k}",
 * "bias_hh_l{k}", and the same with "_reverse" for the backward direction. Layer k > 0
 * reads the previous layer's [T, H*dirs] output.
 *
 * Kernels take the parameters as an array of 4 pointers per (layer k, direction d), at
 * index (k*dirs + d)*4: w_ih, w_hh, b_ih, b_hh — PyTorch's state-dict order.
 *
 * Sequences are batch-first [N,T,F]. Variable lengths follow PyTorch's packed
 * sequences: with lengths (NULL = all T), steps t >= lengths[n] output zeros and leave
 * the state alone; the reverse direction starts at lengths[n]-1 from a zero state.
 * Without sequence output a layer gives [N, H*dirs]: the forward direction's output at
 * the last valid step next to the reverse direction's output at t=0 (PyTorch's h_n).
 * Initial states are zero. Dropout between stacked layers is not implemented. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NERVE_RNN_LSTM,
  NERVE_RNN_GRU,
} NerveRnnCell;

/* The GRU candidate's nonlinearity (LSTM ignores it). */
typedef enum {
  NERVE_RNN_ACT_TANH = 0,
  NERVE_RNN_ACT_RELU,
  NERVE_RNN_ACT_SIGMOID,
} NerveRnnActivation;

typedef struct {
  int batch, time, in, hidden; /* N, T, F, H */
  int layers, dirs;            /* dirs: 1, or 2 when bidirectional */
  gboolean seq_out;            /* output [N,T,H*dirs] rather than [N,H*dirs] */
  /* GRU variant; zero = PyTorch's cell. reset_before: the original (Cho et al. 2014)
   * cell that RNNoise and Keras' reset_after=False use,
   *   n = act(W_in x + b_in + W_hn (r*h) + b_hn)
   * instead of r*(W_hn h + b_hn). act: the candidate's nonlinearity (tanh). */
  gboolean reset_before;
  NerveRnnActivation act;
} NerveRnnShape;

#define NERVE_RNN_MAX_LAYERS 16

/* Floats (or doubles for the _f64 kernels) of cache that forward and backward need. */
gsize nerve_rnn_cache_size (NerveRnnCell cell, const NerveRnnShape *s);
/* Elements of one sample's output: T*H*dirs or H*dirs. */
gsize nerve_rnn_out_size (const NerveRnnShape *s);

/* The whole stack, used by nerve_lstm_* and nerve_gru_*; see there. */
void nerve_rnn_forward (NerveRnnCell cell, float *out, float *cache, const float *x, const int *lengths,
                        const float *const *params, const NerveRnnShape *s);
void nerve_rnn_backward (NerveRnnCell cell, float *dx, float *const *grads, float *cache, const float *dout,
                         const int *lengths, const float *const *params, const NerveRnnShape *s);
void nerve_rnn_forward_ref (NerveRnnCell cell, float *out, float *cache, const float *x, const int *lengths,
                            const float *const *params, const NerveRnnShape *s);
void nerve_rnn_forward_f64 (NerveRnnCell cell, double *out, double *cache, const double *x, const int *lengths,
                            const double *const *params, const NerveRnnShape *s);
void nerve_rnn_backward_f64 (NerveRnnCell cell, double *dx, double *const *grads, double *cache,
                             const double *dout, const int *lengths, const double *const *params,
                             const NerveRnnShape *s);
void nerve_rnn_forward_ref_f64 (NerveRnnCell cell, double *out, double *cache, const double *x,
                                const int *lengths, const double *const *params, const NerveRnnShape *s);

G_END_DECLS

#ifdef NERVE_RNN_INTERNAL
/* Shared by lstm.c, gru.c and rnn-common.c only (they include real.h first). */
#include "../layer.h"

/* Per (layer, direction) cache. Slots of h and c: T+1 states indexed by time, the
 * initial (zero) state at slot 0 going forward and at slot T in reverse, so the state
 * before step t is slot t + rev and the one after it slot t + !rev. */
typedef struct {
  nreal *act;  /* [T,N,G*H] input projections, then gate activations */
  nreal *aux;  /* [T,N,H] LSTM: tanh(c'); GRU: W_hn h + b_hn (reset_before: r*h) */
  nreal *c;    /* [T+1,N,H] LSTM cell states */
  nreal *h;    /* [T+1,N,H] hidden states */
  nreal *work; /* GRU: [N,3H] per-step scratch */
} RnnDir;

/* Backward scratch (gate gradients w.r.t. pre-activations) and carried state grads. */
typedef struct {
  nreal *dgi; /* [T,N,G*H] input side */
  nreal *dgh; /* [T,N,G*H] hidden side (LSTM: same as dgi) */
  nreal *dh;  /* [N,H] */
  nreal *dc;  /* [N,H] LSTM; GRU reset_before: scratch for W_hnᵀ dn */
} RnnGrad;

/* One direction of one layer over a time-major input x [T,N,In]; writes its output
 * columns of y (row stride ys, zero at masked steps). */
void NK (nerve_lstm_dir_forward) (nreal *y, int ys, const RnnDir *c, const nreal *x, int In,
                                  const int *len, const nreal *const *p, int T, int N, int H, gboolean rev);
void NK (nerve_gru_dir_forward) (nreal *y, int ys, const RnnDir *c, const nreal *x, int In,
                                 const int *len, const nreal *const *p, int T, int N, int H, gboolean rev,
                                 gboolean reset_before, NerveRnnActivation act);
/* dy: this direction's columns of the output gradient (row stride ys). ADDS into the
 * four grads of g and into dx [T,N,In] when not NULL. */
void NK (nerve_lstm_dir_backward) (nreal *dx, nreal *const *g, const RnnGrad *s, const nreal *dy, int ys,
                                   const RnnDir *c, const nreal *x, int In, const int *len,
                                   const nreal *const *p, int T, int N, int H, gboolean rev);
void NK (nerve_gru_dir_backward) (nreal *dx, nreal *const *g, const RnnGrad *s, const nreal *dy, int ys,
                                  const RnnDir *c, const nreal *x, int In, const int *len,
                                  const nreal *const *p, int T, int N, int H, gboolean rev,
                                  gboolean reset_before, NerveRnnActivation act);
/* Per-step products for a few rows: C[M,N] = A[M,K]·W[N,K]ᵀ + beta*C (nt) and
 * C[M,K] = A[M,N]·W[N,K] + beta*C (nn). Up to 3 rows they go row by row through
 * GEMV: GEMM would repack all of W on every call (5x slower at M=1). */
void NK (nerve_rnn_gemm_nt) (int M, int N, int K, const nreal *A, int lda, const nreal *W, nreal beta,
                             nreal *C, int ldc);
void NK (nerve_rnn_gemm_nn) (int M, int N, int K, const nreal *A, int lda, const nreal *W, nreal beta,
                             nreal *C, int ldc);
/* After the time loop: dW_ih += dgiᵀ·x, dW_hh += dghᵀ·h_prev, biases, dx += dgi·W_ih. */
void NK (nerve_rnn_param_grads) (nreal *dx, nreal *const *g, const nreal *dgi, const nreal *dgh,
                                 const nreal *hprev, const nreal *x, int In, const nreal *const *p,
                                 int rows, int H, int G);
/* Naive one-sample step with libm maths for the reference forward: h, c [H] in/out;
 * work [6H]. */
void NK (nerve_lstm_cell_ref) (nreal *h, nreal *c, nreal *work, const nreal *x, int In,
                               const nreal *const *p, int H);
void NK (nerve_gru_cell_ref) (nreal *h, nreal *work, const nreal *x, int In, const nreal *const *p, int H,
                              gboolean reset_before, NerveRnnActivation act);

/* Gate nonlinearities. The float build uses a branch-free exp (Cephes polynomial,
 * ~1 ulp) that GCC vectorizes; libm's expf/tanhf are scalar calls and would cost
 * more than the recurrent GEMMs. The double build (FD tests) uses libm.
 * GCC only vectorizes the clamp and float->int conversion without trapping maths
 * (clang's default already); nothing here relies on FP exceptions. */
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif
#ifdef NERVE_F64
static inline double
rnn_sigmoid (double x)
{
  return 1 / (1 + exp (-x));
}

static inline double
rnn_tanh (double x)
{
  return tanh (x);
}
#else
static inline float
rnn_exp (float x)
{
  x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
  float k = floorf (x * 1.44269504f + 0.5f);
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float y = 1.9875691500e-4f;
  y = y * r + 1.3981999507e-3f;
  y = y * r + 8.3334519073e-3f;
  y = y * r + 4.1665795894e-2f;
  y = y * r + 1.6666665459e-1f;
  y = y * r + 5.0000001201e-1f;
  y = y * r * r + r + 1.0f;
  union {
    gint32 i;
    float f;
  } scale = { .i = ((gint32) k + 127) << 23 };
  return y * scale.f;
}

static inline float
rnn_sigmoid (float x)
{
  return 1.0f / (1.0f + rnn_exp (-x));
}

static inline float
rnn_tanh (float x)
{
  return 1.0f - 2.0f / (1.0f + rnn_exp (2.0f * x));
}
#endif

#ifndef NERVE_F64
/* The layer classes "lstm" and "gru" share everything but their cell. */
typedef struct {
  NerveLayer parent;
  NerveRnnCell cell;
  NerveRnnShape shape; /* batch set per call */
} NerveRnnLayer;

gboolean nerve_rnn_class_configure (NerveLayer *l, NerveCfg *cfg, GError **error);
gsize nerve_rnn_class_cache_size (const NerveLayer *l, int batch);
void nerve_rnn_class_forward (NerveLayer *l, NerveLayerIO *io);
void nerve_rnn_class_backward (NerveLayer *l, NerveLayerIO *io);
gsize nerve_rnn_class_state_size (const NerveLayer *l);
void nerve_rnn_class_step (NerveLayer *l, const float *in, float *out, float *state);
gboolean nerve_rnn_class_can_step (const NerveLayer *l, GError **error);
#endif
#endif

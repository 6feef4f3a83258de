/* LSTM cell kernels (gate order i, f, g, o as PyTorch) and the "lstm" layer class.
 * The stack around them (layers, directions, layouts) is in rnn-common.c. */
#include "../real.h"
#define NERVE_RNN_INTERNAL
#include "lstm.h"

#include <string.h>

#include "../gemm.h"

/* One row of the fused gate pass: a holds the four pre-activation blocks without
 * biases and receives the activations; c' = f*c + i*g, h' = o*tanh(c'). The
 * pointers must not overlap: restrict spares GCC more alias checks than it will
 * version a loop for, which would leave it scalar. */
static inline void
lstm_row (nreal *restrict a,          /* [4H] */
          nreal *restrict tc,         /* [H] tanh(c') */
          nreal *restrict cn,         /* [H] */
          nreal *restrict hn,         /* [H] */
          nreal *restrict y,          /* [H] */
          const nreal *restrict cp,   /* [H] */
          const nreal *restrict bi,   /* [4H] */
          const nreal *restrict bh,   /* [4H] */
          int H)
{
  nreal *ai = a, *af = a + H, *ag = a + 2 * H, *ao = a + 3 * H;
  for (int j = 0; j < H; j++) {
    nreal i = rnn_sigmoid (ai[j] + bi[j] + bh[j]);
    nreal f = rnn_sigmoid (af[j] + bi[H + j] + bh[H + j]);
    nreal g = rnn_tanh (ag[j] + bi[2 * H + j] + bh[2 * H + j]);
    nreal o = rnn_sigmoid (ao[j] + bi[3 * H + j] + bh[3 * H + j]);
    nreal c = f * cp[j] + i * g;
    nreal t = rnn_tanh (c);
    ai[j] = i, af[j] = f, ag[j] = g, ao[j] = o;
    cn[j] = c;
    tc[j] = t;
    hn[j] = o * t;
    y[j] = o * t;
  }
}

void
NK (nerve_lstm_dir_forward) (nreal *y,            /* [T,N,ys] this direction's columns */
                             int ys,
                             const RnnDir *c,     /* act [T,N,4H], aux = tanh(c), c, h slots */
                             const nreal *x,      /* [T,N,In] */
                             int In,
                             const int *len,      /* [N] or NULL */
                             const nreal *const *p, /* w_ih [4H,In], w_hh [4H,H], b_ih, b_hh [4H] */
                             int T, int N, int H, gboolean rev)
{
  const int G = 4 * H;
  const gsize NH = (gsize) N * H;
  NK (nerve_gemm) (FALSE, TRUE, T * N, G, In, 1, x, In, p[0], In, 0, c->act, G);
  memset (c->h + (rev ? T : 0) * NH, 0, sizeof (nreal) * NH);
  memset (c->c + (rev ? T : 0) * NH, 0, sizeof (nreal) * NH);
  for (int s = 0; s < T; s++) {
    const int t = rev ? T - 1 - s : s;
    const nreal *hp = c->h + (gsize) (t + rev) * NH, *cp = c->c + (gsize) (t + rev) * NH;
    nreal *hn = c->h + (gsize) (t + !rev) * NH, *cn = c->c + (gsize) (t + !rev) * NH;
    nreal *a = c->act + (gsize) t * N * G;
    NK (nerve_rnn_gemm_nt) (N, G, H, hp, H, p[1], 1, a, G);
    for (int n = 0; n < N; n++) {
      nreal *yo = y + ((gsize) t * N + n) * ys;
      gsize o = (gsize) n * H;
      if (len && t >= len[n]) { /* past the end: zero output, state carried */
        memcpy (hn + o, hp + o, sizeof (nreal) * H);
        memcpy (cn + o, cp + o, sizeof (nreal) * H);
        memset (yo, 0, sizeof (nreal) * H);
        continue;
      }
      lstm_row (a + (gsize) n * G, c->aux + (gsize) t * NH + o, cn + o, hn + o, yo, cp + o, p[2], p[3], H);
    }
  }
}

/* Gate gradients of one row; dh, dc carry in the gradient from the next step and
 * leave with dc for the previous one (dh gets W_hh's part afterwards). */
static inline void
lstm_row_backward (nreal *restrict d,           /* [4H] w.r.t. pre-activations */
                   nreal *restrict dh,          /* [H] */
                   nreal *restrict dc,          /* [H] */
                   const nreal *restrict a,     /* [4H] activations i, f, g, o */
                   const nreal *restrict tc,    /* [H] tanh(c') */
                   const nreal *restrict cp,    /* [H] c before the step */
                   const nreal *restrict dy,    /* [H] output gradient */
                   int H)
{
  for (int j = 0; j < H; j++) {
    nreal i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j], th = tc[j];
    nreal dhv = dy[j] + dh[j];
    nreal dcv = dc[j] + dhv * o * (1 - th * th);
    d[j] = dcv * g * i * (1 - i);
    d[H + j] = dcv * cp[j] * f * (1 - f);
    d[2 * H + j] = dcv * i * (1 - g * g);
    d[3 * H + j] = dhv * th * o * (1 - o);
    dc[j] = dcv * f;
  }
}

void
NK (nerve_lstm_dir_backward) (nreal *dx,          /* [T,N,In] or NULL */
                              nreal *const *g,    /* dW_ih, dW_hh, db_ih, db_hh */
                              const RnnGrad *s,   /* dgi [T,N,4H], dh, dc [N,H] */
                              const nreal *dy,    /* [T,N,ys] this direction's columns */
                              int ys,
                              const RnnDir *c,    /* as left by forward */
                              const nreal *x,     /* [T,N,In] */
                              int In, const int *len, const nreal *const *p, int T, int N, int H,
                              gboolean rev)
{
  const int G = 4 * H;
  const gsize NH = (gsize) N * H;
  memset (s->dh, 0, sizeof (nreal) * NH);
  memset (s->dc, 0, sizeof (nreal) * NH);
  for (int k = 0; k < T; k++) {
    const int t = rev ? k : T - 1 - k;
    const nreal *a = c->act + (gsize) t * N * G, *cp = c->c + (gsize) (t + rev) * NH;
    const nreal *tc = c->aux + (gsize) t * NH;
    nreal *da = s->dgi + (gsize) t * N * G;
    for (int n = 0; n < N; n++) {
      nreal *dh = s->dh + (gsize) n * H, *dc = s->dc + (gsize) n * H, *d = da + (gsize) n * G;
      if (len && t >= len[n]) { /* no step here: no gate gradient, nothing carried */
        memset (d, 0, sizeof (nreal) * G);
        memset (dh, 0, sizeof (nreal) * H);
        memset (dc, 0, sizeof (nreal) * H);
        continue;
      }
      lstm_row_backward (d, dh, dc, a + (gsize) n * G, tc + (gsize) n * H, cp + (gsize) n * H,
                         dy + ((gsize) t * N + n) * ys, H);
    }
    if (k < T - 1) /* dh for the previous step: dgates · W_hh */
      NK (nerve_rnn_gemm_nn) (N, G, H, da, G, p[1], 0, s->dh, H);
  }
  NK (nerve_rnn_param_grads) (dx, g, s->dgi, s->dgi, c->h + (rev ? NH : 0), x, In, p, T * N, H, G);
}

void
NK (nerve_lstm_step) (nreal *h,             /* [B,H] in/out */
                      nreal *c,             /* [B,H] in/out */
                      nreal *scratch,       /* [B,7H] */
                      const nreal *x,       /* [B,F] */
                      const nreal *w_ih,    /* [4H,F] */
                      const nreal *w_hh,    /* [4H,H] */
                      const nreal *b_ih,    /* [4H] */
                      const nreal *b_hh,    /* [4H] */
                      int B, int F, int H)
{
  const int G = 4 * H;
  const gsize BH = (gsize) B * H;
  nreal *tc = scratch + BH * 4, *cn = tc + BH, *hn = cn + BH;
  NK (nerve_rnn_gemm_nt) (B, G, F, x, F, w_ih, 0, scratch, G);
  NK (nerve_rnn_gemm_nt) (B, G, H, h, H, w_hh, 1, scratch, G);
  for (int b = 0; b < B; b++) {
    gsize o = (gsize) b * H;
    lstm_row (scratch + (gsize) b * G, tc + o, cn + o, hn + o, h + o, c + o, b_ih, b_hh, H);
  }
  memcpy (c, cn, sizeof (nreal) * BH);
}

void
NK (nerve_lstm_cell_ref) (nreal *h, nreal *c, nreal *work, const nreal *x, int In,
                          const nreal *const *p, int H)
{
  for (int r = 0; r < 4 * H; r++) {
    nreal a = p[2][r] + p[3][r];
    for (int f = 0; f < In; f++)
      a += p[0][(gsize) r * In + f] * x[f];
    for (int j = 0; j < H; j++)
      a += p[1][(gsize) r * H + j] * h[j];
    work[r] = a;
  }
  for (int j = 0; j < H; j++) {
    nreal i = 1 / (1 + exp (-work[j])), f = 1 / (1 + exp (-work[H + j]));
    nreal g = tanh (work[2 * H + j]), o = 1 / (1 + exp (-work[3 * H + j]));
    c[j] = f * c[j] + i * g;
    h[j] = o * tanh (c[j]);
  }
}

void
NK (nerve_lstm_forward) (nreal *out, nreal *cache, const nreal *x, const int *lengths,
                         const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_forward) (NERVE_RNN_LSTM, out, cache, x, lengths, params, s);
}

void
NK (nerve_lstm_backward) (nreal *dx, nreal *const *grads, nreal *cache, const nreal *dout,
                          const int *lengths, const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_backward) (NERVE_RNN_LSTM, dx, grads, cache, dout, lengths, params, s);
}

void
NK (nerve_lstm_forward_ref) (nreal *out, nreal *cache, const nreal *x, const int *lengths,
                             const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_forward_ref) (NERVE_RNN_LSTM, out, cache, x, lengths, params, s);
}

#ifndef NERVE_F64
const NerveLayerClass nerve_lstm_class = {
  .type = "lstm",
  .size = sizeof (NerveRnnLayer),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = nerve_rnn_class_configure,
  .cache_size = nerve_rnn_class_cache_size,
  .forward = nerve_rnn_class_forward,
  .backward = nerve_rnn_class_backward,
  .state_size = nerve_rnn_class_state_size,
  .step = nerve_rnn_class_step,
  .can_step = nerve_rnn_class_can_step,
};
#endif

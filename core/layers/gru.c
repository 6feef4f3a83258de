/* GRU cell kernels (gate order r, z, n as PyTorch, with r applied to W_hn h + b_hn)
 * and the "gru" layer class. The stack around them is in rnn-common.c.
 * Variants (NerveRnnShape): reset_before applies r to h before W_hn (Cho et al. 2014,
 * RNNoise, Keras reset_after=False); act replaces the candidate's tanh. The default
 * cell runs exactly the code it always ran (gru_row with act = tanh). */
#include "../real.h"
#define NERVE_RNN_INTERNAL
#include "gru.h"

#include <string.h>

#include "../gemm.h"

/* The candidate's nonlinearity and its derivative from its output. */
static inline nreal
gru_act (NerveRnnActivation act, nreal v)
{
  if (act == NERVE_RNN_ACT_RELU)
    return v > 0 ? v : 0;
  if (act == NERVE_RNN_ACT_SIGMOID)
    return rnn_sigmoid (v);
  return rnn_tanh (v);
}

static inline nreal
gru_act_grad (NerveRnnActivation act, nreal n)
{
  if (act == NERVE_RNN_ACT_RELU)
    return n > 0 ? 1 : 0;
  if (act == NERVE_RNN_ACT_SIGMOID)
    return n * (1 - n);
  return 1 - n * n;
}

/* One row of the fused gate pass: a holds the input projections [r z n] without
 * biases and receives the activations; hh the hidden projections. aux gets
 * W_hn h + b_hn (backward needs it). No overlaps (restrict: see lstm_row).
 * Always inlined with a constant act, so each activation gets its own loop. */
static inline __attribute__ ((always_inline)) void
gru_row_act (NerveRnnActivation act,
             nreal *restrict a,          /* [3H] */
         nreal *restrict aux,        /* [H] */
         nreal *restrict hn,         /* [H] */
         nreal *restrict y,          /* [H] */
         const nreal *restrict hh,   /* [3H] */
         const nreal *restrict hp,   /* [H] */
         const nreal *restrict bi,   /* [3H] */
         const nreal *restrict bh,   /* [3H] */
         int H)
{
  nreal *ar = a, *az = a + H, *an = a + 2 * H;
  for (int j = 0; j < H; j++) {
    nreal r = rnn_sigmoid (ar[j] + bi[j] + hh[j] + bh[j]);
    nreal z = rnn_sigmoid (az[j] + bi[H + j] + hh[H + j] + bh[H + j]);
    nreal nh = hh[2 * H + j] + bh[2 * H + j];
    nreal n = gru_act (act, an[j] + bi[2 * H + j] + r * nh);
    nreal h = (1 - z) * n + z * hp[j];
    ar[j] = r, az[j] = z, an[j] = n;
    aux[j] = nh;
    hn[j] = h;
    y[j] = h;
  }
}

static void
gru_row (NerveRnnActivation act, nreal *a, nreal *aux, nreal *hn, nreal *y, const nreal *hh,
         const nreal *hp, const nreal *bi, const nreal *bh, int H)
{
  if (act == NERVE_RNN_ACT_RELU)
    gru_row_act (NERVE_RNN_ACT_RELU, a, aux, hn, y, hh, hp, bi, bh, H);
  else if (act == NERVE_RNN_ACT_SIGMOID)
    gru_row_act (NERVE_RNN_ACT_SIGMOID, a, aux, hn, y, hh, hp, bi, bh, H);
  else
    gru_row_act (NERVE_RNN_ACT_TANH, a, aux, hn, y, hh, hp, bi, bh, H);
}

/* reset_before, first half of a row: gates r and z (into a) from hh's first 2H
 * columns, and rh = r*h, the input of W_hn. */
static inline void
gru_rb_gates (nreal *restrict a,          /* [3H] */
              nreal *restrict rh,         /* [H] */
              const nreal *restrict hh,   /* [2H] W_hr h, W_hz h */
              const nreal *restrict hp,   /* [H] */
              const nreal *restrict bi,   /* [3H] */
              const nreal *restrict bh,   /* [3H] */
              int H)
{
  for (int j = 0; j < H; j++) {
    nreal r = rnn_sigmoid (a[j] + bi[j] + hh[j] + bh[j]);
    a[H + j] = rnn_sigmoid (a[H + j] + bi[H + j] + hh[H + j] + bh[H + j]);
    a[j] = r;
    rh[j] = r * hp[j];
  }
}

/* reset_before, second half: the candidate from hn_in = W_hn (r*h), then h. */
static inline void
gru_rb_out (NerveRnnActivation act,
            nreal *restrict a,            /* [3H] */
            nreal *restrict hn,           /* [H] */
            nreal *restrict y,            /* [H] */
            const nreal *restrict hh_n,   /* [H] W_hn (r*h) */
            const nreal *restrict hp,     /* [H] */
            const nreal *restrict bi,     /* [3H] */
            const nreal *restrict bh,     /* [3H] */
            int H)
{
  for (int j = 0; j < H; j++) {
    nreal z = a[H + j];
    nreal n = gru_act (act, a[2 * H + j] + bi[2 * H + j] + hh_n[j] + bh[2 * H + j]);
    nreal h = (1 - z) * n + z * hp[j];
    a[2 * H + j] = n;
    hn[j] = h;
    y[j] = h;
  }
}

void
NK (nerve_gru_dir_forward) (nreal *y,            /* [T,N,ys] this direction's columns */
                            int ys,
                            const RnnDir *c,     /* act [T,N,3H], aux = W_hn h + b_hn, h slots, work */
                            const nreal *x,      /* [T,N,In] */
                            int In,
                            const int *len,      /* [N] or NULL */
                            const nreal *const *p, /* w_ih [3H,In], w_hh [3H,H], b_ih, b_hh [3H] */
                            int T, int N, int H, gboolean rev, gboolean reset_before,
                            NerveRnnActivation act)
{
  const int G = 3 * H;
  const gsize NH = (gsize) N * H;
  NK (nerve_gemm) (FALSE, TRUE, T * N, G, In, 1, x, In, p[0], In, 0, c->act, G);
  memset (c->h + (rev ? T : 0) * NH, 0, sizeof (nreal) * NH);
  if (reset_before) {
    /* aux[t] keeps r*h (the input of W_hn, which backward needs) */
    for (int s = 0; s < T; s++) {
      const int t = rev ? T - 1 - s : s;
      const nreal *hp = c->h + (gsize) (t + rev) * NH;
      nreal *hn = c->h + (gsize) (t + !rev) * NH;
      nreal *a = c->act + (gsize) t * N * G, *rh = c->aux + (gsize) t * NH;
      NK (nerve_rnn_gemm_nt) (N, 2 * H, H, hp, H, p[1], 0, c->work, G);
      for (int n = 0; n < N; n++) {
        gsize o = (gsize) n * H;
        if (len && t >= len[n])
          memset (rh + o, 0, sizeof (nreal) * H);
        else
          gru_rb_gates (a + (gsize) n * G, rh + o, c->work + (gsize) n * G, hp + o, p[2], p[3], H);
      }
      NK (nerve_rnn_gemm_nt) (N, H, H, rh, H, p[1] + (gsize) 2 * H * H, 0, c->work + 2 * H, G);
      for (int n = 0; n < N; n++) {
        nreal *yo = y + ((gsize) t * N + n) * ys;
        gsize o = (gsize) n * H;
        if (len && t >= len[n]) { /* past the end: zero output, state carried */
          memcpy (hn + o, hp + o, sizeof (nreal) * H);
          memset (yo, 0, sizeof (nreal) * H);
          continue;
        }
        gru_rb_out (act, a + (gsize) n * G, hn + o, yo, c->work + (gsize) n * G + 2 * H, hp + o, p[2], p[3], H);
      }
    }
    return;
  }
  for (int s = 0; s < T; s++) {
    const int t = rev ? T - 1 - s : s;
    const nreal *hp = c->h + (gsize) (t + rev) * NH;
    nreal *hn = c->h + (gsize) (t + !rev) * NH;
    nreal *a = c->act + (gsize) t * N * G;
    NK (nerve_rnn_gemm_nt) (N, G, H, hp, H, p[1], 0, c->work, G);
    for (int n = 0; n < N; n++) {
      nreal *yo = y + ((gsize) t * N + n) * ys;
      gsize o = (gsize) n * H;
      if (len && t >= len[n]) { /* past the end: zero output, state carried */
        memcpy (hn + o, hp + o, sizeof (nreal) * H);
        memset (yo, 0, sizeof (nreal) * H);
        continue;
      }
      gru_row (act, a + (gsize) n * G, c->aux + (gsize) t * NH + o, hn + o, yo, c->work + (gsize) n * G, hp + o,
               p[2], p[3], H);
    }
  }
}

/* Gate gradients of one row; dh carries in the gradient from the next step and
 * leaves with its direct part z*dh (W_hh's part is added afterwards). */
static inline void
gru_row_backward (NerveRnnActivation act,
                  nreal *restrict di,          /* [3H] input side */
                  nreal *restrict dg,          /* [3H] hidden side */
                  nreal *restrict dh,          /* [H] */
                  const nreal *restrict a,     /* [3H] activations r, z, n */
                  const nreal *restrict nh,    /* [H] W_hn h + b_hn */
                  const nreal *restrict hp,    /* [H] h before the step */
                  const nreal *restrict dy,    /* [H] output gradient */
                  int H)
{
  for (int j = 0; j < H; j++) {
    nreal r = a[j], z = a[H + j], n = a[2 * H + j];
    nreal dhv = dy[j] + dh[j];
    nreal dn = dhv * (1 - z) * gru_act_grad (act, n);
    nreal dz = dhv * (hp[j] - n) * z * (1 - z);
    nreal dr = dn * nh[j] * r * (1 - r);
    di[j] = dr, di[H + j] = dz, di[2 * H + j] = dn;
    dg[j] = dr, dg[H + j] = dz, dg[2 * H + j] = dn * r;
    dh[j] = dhv * z;
  }
}

/* reset_before, first half of a row's gate gradients: dz and dn (pre-activation),
 * and dh's direct part z*dh. dr needs W_hnᵀ dn of the whole batch first. */
static inline void
gru_rb_backward_zn (NerveRnnActivation act,
                    nreal *restrict di,        /* [3H] */
                    nreal *restrict dg,        /* [3H] */
                    nreal *restrict dh,        /* [H] in: from the next step; out: z*dh */
                    const nreal *restrict a,   /* [3H] r, z, n */
                    const nreal *restrict hp,  /* [H] */
                    const nreal *restrict dy,  /* [H] */
                    int H)
{
  for (int j = 0; j < H; j++) {
    nreal z = a[H + j], n = a[2 * H + j];
    nreal dhv = dy[j] + dh[j];
    nreal dn = dhv * (1 - z) * gru_act_grad (act, n);
    nreal dz = dhv * (hp[j] - n) * z * (1 - z);
    di[H + j] = dz, di[2 * H + j] = dn;
    dg[H + j] = dz, dg[2 * H + j] = dn;
    dh[j] = dhv * z;
  }
}

/* Second half: q = W_hnᵀ dn is the gradient of r*h; dr from it, and its h part. */
static inline void
gru_rb_backward_r (nreal *restrict di, nreal *restrict dg, nreal *restrict dh,
                   const nreal *restrict a, const nreal *restrict hp,
                   const nreal *restrict q,   /* [H] */
                   int H)
{
  for (int j = 0; j < H; j++) {
    nreal r = a[j];
    nreal dr = q[j] * hp[j] * r * (1 - r);
    di[j] = dr, dg[j] = dr;
    dh[j] += q[j] * r;
  }
}

static void
gru_rb_dir_backward (nreal *dx, nreal *const *g, const RnnGrad *s, const nreal *dy, int ys, const RnnDir *c,
                     const nreal *x, int In, const int *len, const nreal *const *p, int T, int N, int H,
                     gboolean rev, NerveRnnActivation act)
{
  const int G = 3 * H;
  const gsize NH = (gsize) N * H;
  const nreal *w_hn = p[1] + (gsize) 2 * H * H;
  nreal *q = s->dc; /* [N,H] scratch */
  memset (s->dh, 0, sizeof (nreal) * NH);
  for (int k = 0; k < T; k++) {
    const int t = rev ? k : T - 1 - k;
    const nreal *a = c->act + (gsize) t * N * G, *hp = c->h + (gsize) (t + rev) * NH;
    nreal *dgi = s->dgi + (gsize) t * N * G, *dgh = s->dgh + (gsize) t * N * G;
    for (int n = 0; n < N; n++) {
      nreal *dh = s->dh + (gsize) n * H, *di = dgi + (gsize) n * G, *dg = dgh + (gsize) n * G;
      if (len && t >= len[n]) { /* no step here: no gate gradient, nothing carried */
        memset (di, 0, sizeof (nreal) * G);
        memset (dg, 0, sizeof (nreal) * G);
        memset (dh, 0, sizeof (nreal) * H);
        continue;
      }
      gru_rb_backward_zn (act, di, dg, dh, a + (gsize) n * G, hp + (gsize) n * H, dy + ((gsize) t * N + n) * ys, H);
    }
    NK (nerve_rnn_gemm_nn) (N, H, H, dgh + 2 * H, G, w_hn, 0, q, H);
    for (int n = 0; n < N; n++) {
      gsize o = (gsize) n * H;
      if (!(len && t >= len[n]))
        gru_rb_backward_r (dgi + (gsize) n * G, dgh + (gsize) n * G, s->dh + o, a + (gsize) n * G, hp + o,
                           q + o, H);
    }
    if (k < T - 1) /* dh for the previous step: + [dr dz] · [W_hr; W_hz] */
      NK (nerve_rnn_gemm_nn) (N, 2 * H, H, dgh, G, p[1], 1, s->dh, H);
  }
  /* as nerve_rnn_param_grads, but W_hn saw r*h (kept in aux), not h */
  const int R = T * N;
  const nreal *hprev = c->h + (rev ? NH : 0);
  NK (nerve_gemm) (TRUE, FALSE, G, In, R, 1, s->dgi, G, x, In, 1, g[0], In);
  NK (nerve_gemm) (TRUE, FALSE, 2 * H, H, R, 1, s->dgh, G, hprev, H, 1, g[1], H);
  NK (nerve_gemm) (TRUE, FALSE, H, H, R, 1, s->dgh + 2 * H, G, c->aux, H, 1, g[1] + (gsize) 2 * H * H, H);
  for (int r = 0; r < R; r++) {
    const nreal *da = s->dgi + (gsize) r * G, *db = s->dgh + (gsize) r * G;
    for (int j = 0; j < G; j++) {
      g[2][j] += da[j];
      g[3][j] += db[j];
    }
  }
  if (dx)
    NK (nerve_gemm) (FALSE, FALSE, R, In, G, 1, s->dgi, G, p[0], In, 1, dx, In);
}

void
NK (nerve_gru_dir_backward) (nreal *dx,          /* [T,N,In] or NULL */
                             nreal *const *g,    /* dW_ih, dW_hh, db_ih, db_hh */
                             const RnnGrad *s,   /* dgi, dgh [T,N,3H], dh [N,H]; dc [N,H] scratch */
                             const nreal *dy,    /* [T,N,ys] this direction's columns */
                             int ys,
                             const RnnDir *c,    /* as left by forward */
                             const nreal *x,     /* [T,N,In] */
                             int In, const int *len, const nreal *const *p, int T, int N, int H,
                             gboolean rev, gboolean reset_before, NerveRnnActivation act)
{
  if (reset_before) {
    gru_rb_dir_backward (dx, g, s, dy, ys, c, x, In, len, p, T, N, H, rev, act);
    return;
  }
  const int G = 3 * H;
  const gsize NH = (gsize) N * H;
  memset (s->dh, 0, sizeof (nreal) * NH);
  for (int k = 0; k < T; k++) {
    const int t = rev ? k : T - 1 - k;
    const nreal *a = c->act + (gsize) t * N * G, *hp = c->h + (gsize) (t + rev) * NH;
    const nreal *aux = c->aux + (gsize) t * NH;
    nreal *dgi = s->dgi + (gsize) t * N * G, *dgh = s->dgh + (gsize) t * N * G;
    for (int n = 0; n < N; n++) {
      nreal *dh = s->dh + (gsize) n * H, *di = dgi + (gsize) n * G, *dg = dgh + (gsize) n * G;
      if (len && t >= len[n]) { /* no step here: no gate gradient, nothing carried */
        memset (di, 0, sizeof (nreal) * G);
        memset (dg, 0, sizeof (nreal) * G);
        memset (dh, 0, sizeof (nreal) * H);
        continue;
      }
      gru_row_backward (act, di, dg, dh, a + (gsize) n * G, aux + (gsize) n * H, hp + (gsize) n * H,
                        dy + ((gsize) t * N + n) * ys, H);
    }
    if (k < T - 1) /* dh for the previous step: z*dh + dgates_h · W_hh */
      NK (nerve_rnn_gemm_nn) (N, G, H, dgh, G, p[1], 1, s->dh, H);
  }
  NK (nerve_rnn_param_grads) (dx, g, s->dgi, s->dgh, c->h + (rev ? NH : 0), x, In, p, T * N, H, G);
}

void
NK (nerve_gru_step_variant) (nreal *h,             /* [B,H] in/out */
                             nreal *scratch,       /* [B,9H] */
                             const nreal *x,       /* [B,F] */
                             const nreal *w_ih,    /* [3H,F] */
                             const nreal *w_hh,    /* [3H,H] */
                             const nreal *b_ih,    /* [3H] */
                             const nreal *b_hh,    /* [3H] */
                             int B, int F, int H, gboolean reset_before, NerveRnnActivation act)
{
  const int G = 3 * H;
  const gsize BH = (gsize) B * H;
  nreal *hh = scratch + BH * 3, *aux = hh + BH * 3, *hn = aux + BH, *y = hn + BH;
  NK (nerve_rnn_gemm_nt) (B, G, F, x, F, w_ih, 0, scratch, G);
  if (reset_before) {
    NK (nerve_rnn_gemm_nt) (B, 2 * H, H, h, H, w_hh, 0, hh, G);
    for (int b = 0; b < B; b++)
      gru_rb_gates (scratch + (gsize) b * G, aux + (gsize) b * H, hh + (gsize) b * G, h + (gsize) b * H, b_ih,
                    b_hh, H);
    NK (nerve_rnn_gemm_nt) (B, H, H, aux, H, w_hh + (gsize) 2 * H * H, 0, hh + 2 * H, G);
    for (int b = 0; b < B; b++) {
      gsize o = (gsize) b * H;
      gru_rb_out (act, scratch + (gsize) b * G, hn + o, y + o, hh + (gsize) b * G + 2 * H, h + o, b_ih, b_hh, H);
    }
  } else {
    NK (nerve_rnn_gemm_nt) (B, G, H, h, H, w_hh, 0, hh, G);
    for (int b = 0; b < B; b++) {
      gsize o = (gsize) b * H;
      gru_row (act, scratch + (gsize) b * G, aux + o, hn + o, y + o, hh + (gsize) b * G, h + o, b_ih, b_hh, H);
    }
  }
  memcpy (h, y, sizeof (nreal) * BH);
}

void
NK (nerve_gru_step) (nreal *h, nreal *scratch, const nreal *x, const nreal *w_ih, const nreal *w_hh,
                     const nreal *b_ih, const nreal *b_hh, int B, int F, int H)
{
  NK (nerve_gru_step_variant) (h, scratch, x, w_ih, w_hh, b_ih, b_hh, B, F, H, FALSE, NERVE_RNN_ACT_TANH);
}

/* Naive cell: gi = W_ih x + b_ih, gh = W_hh h + b_hh (with reset_before, its n rows
 * are recomputed from r*h once r is known, and r is kept in gi's r rows). */
void
NK (nerve_gru_cell_ref) (nreal *h, nreal *work, const nreal *x, int In, const nreal *const *p, int H,
                         gboolean reset_before, NerveRnnActivation act)
{
  nreal *gi = work, *gh = work + 3 * H;
  for (int r = 0; r < 3 * H; r++) {
    gi[r] = p[2][r];
    gh[r] = p[3][r];
    for (int f = 0; f < In; f++)
      gi[r] += p[0][(gsize) r * In + f] * x[f];
    for (int j = 0; j < H; j++)
      gh[r] += p[1][(gsize) r * H + j] * h[j];
  }
  if (reset_before) {
    for (int j = 0; j < H; j++)
      gi[j] = 1 / (1 + exp (-(gi[j] + gh[j])));
    for (int r = 0; r < H; r++) {
      gh[2 * H + r] = p[3][2 * H + r];
      for (int j = 0; j < H; j++)
        gh[2 * H + r] += p[1][(gsize) (2 * H + r) * H + j] * gi[j] * h[j];
    }
  }
  for (int j = 0; j < H; j++) {
    nreal r = reset_before ? gi[j] : 1 / (1 + exp (-(gi[j] + gh[j])));
    nreal z = 1 / (1 + exp (-(gi[H + j] + gh[H + j])));
    nreal v = reset_before ? gi[2 * H + j] + gh[2 * H + j] : gi[2 * H + j] + r * gh[2 * H + j];
    nreal n = act == NERVE_RNN_ACT_RELU ? (v > 0 ? v : 0) : act == NERVE_RNN_ACT_SIGMOID ? 1 / (1 + exp (-v)) : tanh (v);
    h[j] = (1 - z) * n + z * h[j];
  }
}

void
NK (nerve_gru_forward) (nreal *out, nreal *cache, const nreal *x, const int *lengths,
                        const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_forward) (NERVE_RNN_GRU, out, cache, x, lengths, params, s);
}

void
NK (nerve_gru_backward) (nreal *dx, nreal *const *grads, nreal *cache, const nreal *dout,
                         const int *lengths, const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_backward) (NERVE_RNN_GRU, dx, grads, cache, dout, lengths, params, s);
}

void
NK (nerve_gru_forward_ref) (nreal *out, nreal *cache, const nreal *x, const int *lengths,
                            const nreal *const *params, const NerveRnnShape *s)
{
  NK (nerve_rnn_forward_ref) (NERVE_RNN_GRU, out, cache, x, lengths, params, s);
}

#ifndef NERVE_F64
const NerveLayerClass nerve_gru_class = {
  .type = "gru",
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

/* GRU cell kernels (gate order r, z, n as PyTorch, with r applied to W_hn h + b_hn)
 * and the "gru" layer class. The stack around them is in rnn-common.c. */
#include "../real.h"
#define NERVE_RNN_INTERNAL
#include "gru.h"

#include <string.h>

#include "../gemm.h"

/* One row of the fused gate pass: a holds the input projections [r z n] without
 * biases and receives the activations; hh the hidden projections. aux gets
 * W_hn h + b_hn (backward needs it). No overlaps (restrict: see lstm_row). */
static inline void
gru_row (nreal *restrict a,          /* [3H] */
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
    nreal n = rnn_tanh (an[j] + bi[2 * H + j] + r * nh);
    nreal h = (1 - z) * n + z * hp[j];
    ar[j] = r, az[j] = z, an[j] = n;
    aux[j] = nh;
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
                            int T, int N, int H, gboolean rev)
{
  const int G = 3 * H;
  const gsize NH = (gsize) N * H;
  NK (nerve_gemm) (FALSE, TRUE, T * N, G, In, 1, x, In, p[0], In, 0, c->act, G);
  memset (c->h + (rev ? T : 0) * NH, 0, sizeof (nreal) * NH);
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
      gru_row (a + (gsize) n * G, c->aux + (gsize) t * NH + o, hn + o, yo, c->work + (gsize) n * G, hp + o,
               p[2], p[3], H);
    }
  }
}

/* Gate gradients of one row; dh carries in the gradient from the next step and
 * leaves with its direct part z*dh (W_hh's part is added afterwards). */
static inline void
gru_row_backward (nreal *restrict di,          /* [3H] input side */
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
    nreal dn = dhv * (1 - z) * (1 - n * n);
    nreal dz = dhv * (hp[j] - n) * z * (1 - z);
    nreal dr = dn * nh[j] * r * (1 - r);
    di[j] = dr, di[H + j] = dz, di[2 * H + j] = dn;
    dg[j] = dr, dg[H + j] = dz, dg[2 * H + j] = dn * r;
    dh[j] = dhv * z;
  }
}

void
NK (nerve_gru_dir_backward) (nreal *dx,          /* [T,N,In] or NULL */
                             nreal *const *g,    /* dW_ih, dW_hh, db_ih, db_hh */
                             const RnnGrad *s,   /* dgi, dgh [T,N,3H], dh [N,H] */
                             const nreal *dy,    /* [T,N,ys] this direction's columns */
                             int ys,
                             const RnnDir *c,    /* as left by forward */
                             const nreal *x,     /* [T,N,In] */
                             int In, const int *len, const nreal *const *p, int T, int N, int H,
                             gboolean rev)
{
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
      gru_row_backward (di, dg, dh, a + (gsize) n * G, aux + (gsize) n * H, hp + (gsize) n * H,
                        dy + ((gsize) t * N + n) * ys, H);
    }
    if (k < T - 1) /* dh for the previous step: z*dh + dgates_h · W_hh */
      NK (nerve_rnn_gemm_nn) (N, G, H, dgh, G, p[1], 1, s->dh, H);
  }
  NK (nerve_rnn_param_grads) (dx, g, s->dgi, s->dgh, c->h + (rev ? NH : 0), x, In, p, T * N, H, G);
}

void
NK (nerve_gru_step) (nreal *h,             /* [B,H] in/out */
                     nreal *scratch,       /* [B,9H] */
                     const nreal *x,       /* [B,F] */
                     const nreal *w_ih,    /* [3H,F] */
                     const nreal *w_hh,    /* [3H,H] */
                     const nreal *b_ih,    /* [3H] */
                     const nreal *b_hh,    /* [3H] */
                     int B, int F, int H)
{
  const int G = 3 * H;
  const gsize BH = (gsize) B * H;
  nreal *hh = scratch + BH * 3, *aux = hh + BH * 3, *hn = aux + BH, *y = hn + BH;
  NK (nerve_rnn_gemm_nt) (B, G, F, x, F, w_ih, 0, scratch, G);
  NK (nerve_rnn_gemm_nt) (B, G, H, h, H, w_hh, 0, hh, G);
  for (int b = 0; b < B; b++) {
    gsize o = (gsize) b * H;
    gru_row (scratch + (gsize) b * G, aux + o, hn + o, y + o, hh + (gsize) b * G, h + o, b_ih, b_hh, H);
  }
  memcpy (h, y, sizeof (nreal) * BH);
}

void
NK (nerve_gru_cell_ref) (nreal *h, nreal *work, const nreal *x, int In, const nreal *const *p, int H)
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
  for (int j = 0; j < H; j++) {
    nreal r = 1 / (1 + exp (-(gi[j] + gh[j]))), z = 1 / (1 + exp (-(gi[H + j] + gh[H + j])));
    nreal n = tanh (gi[2 * H + j] + r * gh[2 * H + j]);
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

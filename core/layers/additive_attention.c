/* Additive (Bahdanau) attention, and attention pooling with a learned query vector. */
#include "attention.h"

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"
#include "dense.h"
#include "masked-softmax.h"

/* Cache layout: forward keeps kp = m·W_kᵀ + b, qp = q·W_qᵀ and α; backward uses dkp,
 * dqp and one [Tq,Tk] scratch. tanh(qp + kp) is recomputed in backward rather than
 * cached: it would be [B,Tq,Tk,U]. */
#define PAD16(n) (((gsize) (n) + 15) & ~(gsize) 15)
typedef struct {
  gsize kp, qp, alpha, dkp, dqp, scratch, total;
} AddLayout;

static AddLayout
add_layout (int B, int Tq, int Tk, int U)
{
  AddLayout L;
  gsize nk = PAD16 ((gsize) B * Tk * U), nq = PAD16 ((gsize) B * Tq * U);
  L.kp = 0;
  L.qp = L.kp + nk;
  L.alpha = L.qp + nq;
  L.dkp = L.alpha + PAD16 ((gsize) B * Tq * Tk);
  L.dqp = L.dkp + nk;
  L.scratch = L.dqp + nq;
  L.total = L.scratch + PAD16 ((gsize) Tq * Tk);
  return L;
}

void
NK (nerve_additive_attention_forward) (nreal *ctx,         /* [B,Tq,Dk] */
                                       nreal *cache,       /* nerve_additive_attention_cache_size() */
                                       const nreal *q,     /* [B,Tq,Dq], NULL for pooling */
                                       const nreal *m,     /* [B,Tk,Dk] */
                                       const nreal *wq,    /* [U,Dq], NULL for pooling */
                                       const nreal *wk,    /* [U,Dk] */
                                       const nreal *b,     /* [U] */
                                       const nreal *v,     /* [U] */
                                       const int *lengths, /* [B] valid memory steps, or NULL */
                                       int B, int Tq, int Tk, int Dq, int Dk, int U)
{
  AddLayout L = add_layout (B, Tq, Tk, U);
  nreal *kp = cache + L.kp, *qp = cache + L.qp, *alpha = cache + L.alpha;
  NK (nerve_dense_forward) (kp, m, wk, b, B * Tk, Dk, U);
  if (q)
    NK (nerve_dense_forward) (qp, q, wq, NULL, B * Tq, Dq, U);
  for (int bi = 0; bi < B; bi++) {
    int valid = attention_valid (lengths, bi, Tk);
    nreal *a = alpha + (gsize) bi * Tq * Tk;
    for (int i = 0; i < Tq; i++) {
      const nreal *qi = q ? qp + ((gsize) bi * Tq + i) * U : NULL;
      nreal *row = a + (gsize) i * Tk;
      for (int j = 0; j < valid; j++) {
        const nreal *kj = kp + ((gsize) bi * Tk + j) * U;
        nreal s = 0;
        for (int u = 0; u < U; u++)
          s += v[u] * tanh ((qi ? qi[u] : 0) + kj[u]);
        row[j] = s;
      }
      masked_softmax_row (row, valid, Tk);
    }
    nreal *c = ctx + (gsize) bi * Tq * Dk;
    if (valid > 0)
      NK (nerve_gemm) (FALSE, FALSE, Tq, Dk, valid, 1, a, Tk, m + (gsize) bi * Tk * Dk, Dk, 0, c, Dk);
    else
      memset (c, 0, sizeof (nreal) * (gsize) Tq * Dk);
  }
}

void
NK (nerve_additive_attention_backward) (nreal *dq,         /* [B,Tq,Dq] or NULL */
                                        nreal *dm,         /* [B,Tk,Dk] or NULL */
                                        nreal *dwq,        /* [U,Dq], NULL for pooling */
                                        nreal *dwk,        /* [U,Dk] */
                                        nreal *db,         /* [U] */
                                        nreal *dv,         /* [U] */
                                        nreal *cache,      /* from forward */
                                        const nreal *dctx, /* [B,Tq,Dk] */
                                        const nreal *q, const nreal *m, const nreal *wq,
                                        const nreal *wk, const nreal *v, const int *lengths,
                                        int B, int Tq, int Tk, int Dq, int Dk, int U)
{
  AddLayout L = add_layout (B, Tq, Tk, U);
  nreal *kp = cache + L.kp, *qp = cache + L.qp, *alpha = cache + L.alpha;
  nreal *dkp = cache + L.dkp, *dqp = cache + L.dqp, *ds = cache + L.scratch;
  memset (dkp, 0, sizeof (nreal) * (gsize) B * Tk * U);
  if (q)
    memset (dqp, 0, sizeof (nreal) * (gsize) B * Tq * U);
  for (int bi = 0; bi < B; bi++) {
    int valid = attention_valid (lengths, bi, Tk);
    if (valid == 0)
      continue;
    const nreal *a = alpha + (gsize) bi * Tq * Tk, *mb = m + (gsize) bi * Tk * Dk;
    const nreal *dc = dctx + (gsize) bi * Tq * Dk;
    /* the memory as values: dm += αᵀ·dctx; dα = dctx·mᵀ */
    if (dm)
      NK (nerve_gemm) (TRUE, FALSE, valid, Dk, Tq, 1, a, Tk, dc, Dk, 1, dm + (gsize) bi * Tk * Dk, Dk);
    NK (nerve_gemm) (FALSE, TRUE, Tq, valid, Dk, 1, dc, Dk, mb, Dk, 0, ds, Tk);
    for (int i = 0; i < Tq; i++) {
      nreal *dsi = ds + (gsize) i * Tk;
      masked_softmax_row_backward (dsi, a + (gsize) i * Tk, valid);
      const nreal *qi = q ? qp + ((gsize) bi * Tq + i) * U : NULL;
      nreal *dqi = q ? dqp + ((gsize) bi * Tq + i) * U : NULL;
      for (int j = 0; j < valid; j++) {
        const nreal *kj = kp + ((gsize) bi * Tk + j) * U;
        nreal *dkj = dkp + ((gsize) bi * Tk + j) * U;
        for (int u = 0; u < U; u++) {
          nreal h = tanh ((qi ? qi[u] : 0) + kj[u]);
          nreal g = dsi[j] * v[u] * (1 - h * h);
          dv[u] += dsi[j] * h;
          dkj[u] += g;
          if (dqi)
            dqi[u] += g;
        }
      }
    }
  }
  /* kp = m·W_kᵀ + b, qp = q·W_qᵀ */
  NK (nerve_dense_backward) (dm, dwk, db, dkp, m, wk, B * Tk, Dk, U);
  if (q)
    NK (nerve_dense_backward) (dq, dwq, NULL, dqp, q, wq, B * Tq, Dq, U);
}

#ifndef NERVE_F64
gsize
nerve_additive_attention_cache_size (int B, int Tq, int Tk, int U)
{
  return add_layout (B, Tq, Tk, U).total;
}

typedef struct {
  NerveLayer parent;
  int Tq, Tk, Dq, Dk, U;
  gboolean pooling;
  int p_wq, p_wk, p_b, p_v; /* parameter indices (p_wq = -1 when pooling) */
} Additive;

static gboolean
additive_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Additive *a = (Additive *) l;
  char b0[64], b1[64];
  a->pooling = l->n_inputs == 1;
  const NerveShape *sm = &l->in_shape[a->pooling ? 0 : 1], *sq = &l->in_shape[0];
  if (!nerve_cfg_int (cfg, "units", 0, 1, 1 << 16, &a->U, error))
    return FALSE;
  if (a->U == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'units' (the attention size) is required");
  if (sm->ndim != 2)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "memory %s must be a sequence [T, features]",
                              nerve_shape_format (sm, b0, sizeof b0));
  a->Tk = sm->dim[0];
  a->Dk = sm->dim[1];
  if (a->pooling) {
    a->Tq = 1;
    l->out_shape = nerve_shape_make (1, a->Dk);
  } else {
    if (sq->ndim != 1 && sq->ndim != 2)
      return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                                "query %s must be [features] or [T, features] (memory is %s)",
                                nerve_shape_format (sq, b0, sizeof b0), nerve_shape_format (sm, b1, sizeof b1));
    a->Tq = sq->ndim == 2 ? sq->dim[0] : 1;
    a->Dq = sq->dim[sq->ndim - 1];
    l->out_shape = sq->ndim == 2 ? nerve_shape_make (2, a->Tq, a->Dk) : nerve_shape_make (1, a->Dk);
  }
  /* nn.Linear-style U(±1/sqrt(fan_in)) */
  a->p_wq = -1;
  if (!a->pooling) {
    a->p_wq = l->n_params;
    nerve_layer_add_param (l, "query_weight", nerve_shape_make (2, a->U, a->Dq), NERVE_INIT_UNIFORM,
                           1.0f / sqrtf ((float) a->Dq), 0);
  }
  float bk = 1.0f / sqrtf ((float) a->Dk);
  a->p_wk = l->n_params;
  nerve_layer_add_param (l, "key_weight", nerve_shape_make (2, a->U, a->Dk), NERVE_INIT_UNIFORM, bk, 0);
  a->p_b = l->n_params;
  nerve_layer_add_param (l, "bias", nerve_shape_make (1, a->U), NERVE_INIT_UNIFORM, bk, NERVE_PARAM_NO_DECAY);
  a->p_v = l->n_params;
  nerve_layer_add_param (l, a->pooling ? "query" : "v", nerve_shape_make (1, a->U), NERVE_INIT_UNIFORM,
                         1.0f / sqrtf ((float) a->U), 0);
  return TRUE;
}

static gsize
additive_cache_size (const NerveLayer *l, int batch)
{
  const Additive *a = (const Additive *) l;
  return nerve_additive_attention_cache_size (batch, a->Tq, a->Tk, a->U);
}

static void
additive_forward (NerveLayer *l, NerveLayerIO *io)
{
  Additive *a = (Additive *) l;
  NerveParam *p = l->params;
  nerve_additive_attention_forward (io->out, io->cache, a->pooling ? NULL : io->in[0], io->in[a->pooling ? 0 : 1],
                                    a->pooling ? NULL : p[a->p_wq].data, p[a->p_wk].data, p[a->p_b].data,
                                    p[a->p_v].data, io->lengths, io->batch, a->Tq, a->Tk, a->Dq, a->Dk, a->U);
}

static void
additive_backward (NerveLayer *l, NerveLayerIO *io)
{
  Additive *a = (Additive *) l;
  NerveParam *p = l->params;
  int mi = a->pooling ? 0 : 1;
  nerve_additive_attention_backward (a->pooling ? NULL : io->din[0], io->din[mi],
                                     a->pooling ? NULL : p[a->p_wq].grad, p[a->p_wk].grad, p[a->p_b].grad,
                                     p[a->p_v].grad, io->cache, io->dout, a->pooling ? NULL : io->in[0],
                                     io->in[mi], a->pooling ? NULL : p[a->p_wq].data, p[a->p_wk].data,
                                     p[a->p_v].data, io->lengths, io->batch, a->Tq, a->Tk, a->Dq, a->Dk, a->U);
}

const NerveLayerClass nerve_additive_attention_class = {
  .type = "additive_attention",
  .size = sizeof (Additive),
  .min_inputs = 1,
  .max_inputs = 2,
  .configure = additive_configure,
  .cache_size = additive_cache_size,
  .forward = additive_forward,
  .backward = additive_backward,
};
#endif

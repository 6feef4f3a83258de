/* Scaled dot-product attention and multi-head attention (PyTorch
 * nn.MultiheadAttention with batch_first=True, same parameter layout). */
#include "attention.h"

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"
#include "dense.h"
#include "masked-softmax.h"

/* Keys row i may look at: the valid ones, and with a causal mask those j <= i. */
static inline int
row_keys (int i, int valid, gboolean causal)
{
  return causal && i + 1 < valid ? i + 1 : valid;
}

void
NK (nerve_sdpa_forward) (nreal *o,         /* [Tq,dval], row stride ldo */
                         nreal *att,       /* [Tq,Tk] cache: attention weights */
                         const nreal *q,   /* [Tq,d], stride ldq */
                         const nreal *k,   /* [Tk,d], stride ldk */
                         const nreal *v,   /* [Tk,dval], stride ldv */
                         int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                         int valid, gboolean causal)
{
  int nk = valid < 0 ? 0 : valid > Tk ? Tk : valid;
  nreal scale = 1 / sqrt ((nreal) d);
  /* masked columns are never computed: scores over the first nk keys only */
  if (nk > 0)
    NK (nerve_gemm) (FALSE, TRUE, Tq, nk, d, scale, q, ldq, k, ldk, 0, att, Tk);
  for (int i = 0; i < Tq; i++)
    masked_softmax_row (att + (gsize) i * Tk, row_keys (i, nk, causal), Tk);
  if (nk > 0)
    NK (nerve_gemm) (FALSE, FALSE, Tq, dval, nk, 1, att, Tk, v, ldv, 0, o, ldo);
  else
    for (int i = 0; i < Tq; i++)
      memset (o + (gsize) i * ldo, 0, sizeof (nreal) * (gsize) dval);
}

void
NK (nerve_sdpa_backward) (nreal *dq,         /* [Tq,d] stride ldq, or NULL */
                          nreal *dk,         /* [Tk,d] stride ldk, or NULL */
                          nreal *dv,         /* [Tk,dval] stride ldv, or NULL */
                          nreal *scratch,    /* [Tq,Tk] */
                          const nreal *dout, /* [Tq,dval] stride ldo */
                          const nreal *att,  /* [Tq,Tk] from forward */
                          const nreal *q,    /* [Tq,d] stride ldq */
                          const nreal *k,    /* [Tk,d] stride ldk */
                          const nreal *v,    /* [Tk,dval] stride ldv */
                          int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                          int valid, gboolean causal)
{
  int nk = valid < 0 ? 0 : valid > Tk ? Tk : valid;
  if (nk == 0) /* every output was a constant zero */
    return;
  nreal scale = 1 / sqrt ((nreal) d);
  if (dv) /* dV += attᵀ·dO */
    NK (nerve_gemm) (TRUE, FALSE, nk, dval, Tq, 1, att, Tk, dout, ldo, 1, dv, ldv);
  if (!dq && !dk)
    return;
  /* dA = dO·Vᵀ, then through the softmax; masked weights are 0 so their dS is too */
  NK (nerve_gemm) (FALSE, TRUE, Tq, nk, dval, 1, dout, ldo, v, ldv, 0, scratch, Tk);
  for (int i = 0; i < Tq; i++)
    masked_softmax_row_backward (scratch + (gsize) i * Tk, att + (gsize) i * Tk, nk);
  if (dq)
    NK (nerve_gemm) (FALSE, FALSE, Tq, d, nk, scale, scratch, Tk, k, ldk, 1, dq, ldq);
  if (dk)
    NK (nerve_gemm) (TRUE, FALSE, nk, d, Tq, scale, scratch, Tk, q, ldq, 1, dk, ldk);
}

#ifndef NERVE_F64
void
nerve_sdpa_forward_ref (float *o, float *att, const float *q, const float *k, const float *v,
                        int Tq, int Tk, int d, int dval, int ldq, int ldk, int ldv, int ldo,
                        int valid, gboolean causal)
{
  int nk = valid < 0 ? 0 : valid > Tk ? Tk : valid;
  float scale = 1 / sqrtf ((float) d);
  for (int i = 0; i < Tq; i++) {
    float *a = att + (gsize) i * Tk;
    for (int j = 0; j < Tk; j++) {
      float s = 0;
      for (int c = 0; c < d; c++)
        s += q[(gsize) i * ldq + c] * k[(gsize) j * ldk + c];
      a[j] = s * scale;
    }
    masked_softmax_row (a, row_keys (i, nk, causal), Tk);
    for (int c = 0; c < dval; c++) {
      float s = 0;
      for (int j = 0; j < Tk; j++)
        s += a[j] * v[(gsize) j * ldv + c];
      o[(gsize) i * ldo + c] = s;
    }
  }
}
#endif

/* Cache layout of nerve_mha_*: forward keeps q, kv, att, ctx; backward uses dctx, dq,
 * dkv and one [Tq,Tk] scratch. Blocks start 16-float aligned. */
#define PAD16(n) (((gsize) (n) + 15) & ~(gsize) 15)
typedef struct {
  gsize q, kv, att, ctx, dctx, dq, dkv, scratch, total;
} MhaLayout;

static MhaLayout
mha_layout (int B, int Tq, int Tk, int D, int H)
{
  MhaLayout L;
  gsize nq = PAD16 ((gsize) B * Tq * D), nkv = PAD16 ((gsize) B * Tk * 2 * D);
  L.q = 0;
  L.kv = L.q + nq;
  L.att = L.kv + nkv;
  L.ctx = L.att + PAD16 ((gsize) B * H * Tq * Tk);
  L.dctx = L.ctx + nq;
  L.dq = L.dctx + nq;
  L.dkv = L.dq + nq;
  L.scratch = L.dkv + nkv;
  L.total = L.scratch + PAD16 ((gsize) Tq * Tk);
  return L;
}

void
NK (nerve_mha_forward) (nreal *out,         /* [B,Tq,D] */
                        nreal *cache,       /* nerve_mha_cache_size() */
                        const nreal *xq,    /* [B,Tq,F] */
                        const nreal *xm,    /* [B,Tk,F], == xq for self-attention */
                        const nreal *w_in,  /* [3D,F] */
                        const nreal *b_in,  /* [3D] or NULL */
                        const nreal *w_out, /* [D,D] */
                        const nreal *b_out, /* [D] or NULL */
                        const int *lengths, /* [B] valid memory steps, or NULL */
                        int B, int Tq, int Tk, int F, int D, int H, gboolean causal)
{
  MhaLayout L = mha_layout (B, Tq, Tk, D, H);
  nreal *q = cache + L.q, *kv = cache + L.kv, *att = cache + L.att, *ctx = cache + L.ctx;
  int hd = D / H;
  /* projections for the whole batch: q = xq·W_qᵀ, [k v] = xm·[W_k; W_v]ᵀ */
  NK (nerve_dense_forward) (q, xq, w_in, b_in, B * Tq, F, D);
  NK (nerve_dense_forward) (kv, xm, w_in + (gsize) D * F, b_in ? b_in + D : NULL, B * Tk, F, 2 * D);
  for (int b = 0; b < B; b++) {
    int valid = attention_valid (lengths, b, Tk);
    for (int h = 0; h < H; h++) {
      const nreal *kb = kv + (gsize) b * Tk * 2 * D + (gsize) h * hd;
      NK (nerve_sdpa_forward) (ctx + (gsize) b * Tq * D + (gsize) h * hd,
                               att + ((gsize) b * H + h) * Tq * Tk, q + (gsize) b * Tq * D + (gsize) h * hd,
                               kb, kb + D, Tq, Tk, hd, hd, D, 2 * D, 2 * D, D, valid, causal);
    }
  }
  NK (nerve_dense_forward) (out, ctx, w_out, b_out, B * Tq, D, D);
}

void
NK (nerve_mha_backward) (nreal *dxq,        /* [B,Tq,F] or NULL */
                         nreal *dxm,        /* [B,Tk,F] or NULL; == dxq for self-attention */
                         nreal *dw_in,      /* [3D,F] */
                         nreal *db_in,      /* [3D] or NULL */
                         nreal *dw_out,     /* [D,D] */
                         nreal *db_out,     /* [D] or NULL */
                         nreal *cache,      /* from forward */
                         const nreal *dout, /* [B,Tq,D] */
                         const nreal *xq, const nreal *xm, const nreal *w_in, const nreal *w_out,
                         const int *lengths, int B, int Tq, int Tk, int F, int D, int H, gboolean causal)
{
  MhaLayout L = mha_layout (B, Tq, Tk, D, H);
  nreal *q = cache + L.q, *kv = cache + L.kv, *att = cache + L.att, *ctx = cache + L.ctx;
  nreal *dctx = cache + L.dctx, *dq = cache + L.dq, *dkv = cache + L.dkv, *scratch = cache + L.scratch;
  int hd = D / H;
  memset (dctx, 0, sizeof (nreal) * (gsize) B * Tq * D);
  memset (dq, 0, sizeof (nreal) * (gsize) B * Tq * D);
  memset (dkv, 0, sizeof (nreal) * (gsize) B * Tk * 2 * D);
  NK (nerve_dense_backward) (dctx, dw_out, db_out, dout, ctx, w_out, B * Tq, D, D);
  for (int b = 0; b < B; b++) {
    int valid = attention_valid (lengths, b, Tk);
    for (int h = 0; h < H; h++) {
      gsize oq = (gsize) b * Tq * D + (gsize) h * hd, okv = (gsize) b * Tk * 2 * D + (gsize) h * hd;
      NK (nerve_sdpa_backward) (dq + oq, dkv + okv, dkv + okv + D, scratch, dctx + oq,
                                att + ((gsize) b * H + h) * Tq * Tk, q + oq, kv + okv, kv + okv + D,
                                Tq, Tk, hd, hd, D, 2 * D, 2 * D, D, valid, causal);
    }
  }
  NK (nerve_dense_backward) (dxq, dw_in, db_in, dq, xq, w_in, B * Tq, F, D);
  NK (nerve_dense_backward) (dxm, dw_in + (gsize) D * F, db_in ? db_in + D : NULL, dkv, xm,
                             w_in + (gsize) D * F, B * Tk, F, 2 * D);
}

#ifndef NERVE_F64
gsize
nerve_mha_cache_size (int B, int Tq, int Tk, int D, int H)
{
  return mha_layout (B, Tq, Tk, D, H).total;
}

typedef struct {
  NerveLayer parent;
  int Tq, Tk, F, D, H;
  gboolean causal, bias, cross;
} Mha;

static gboolean
mha_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Mha *a = (Mha *) l;
  char b0[64], b1[64];
  const NerveShape *sq = &l->in_shape[0], *sm = &l->in_shape[l->n_inputs - 1];
  a->cross = l->n_inputs == 2;
  if (sq->ndim != 2 || sm->ndim != 2)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "inputs %s%s%s must be sequences [T, features]",
                              nerve_shape_format (sq, b0, sizeof b0), a->cross ? " and " : "",
                              a->cross ? nerve_shape_format (sm, b1, sizeof b1) : "");
  a->Tq = sq->dim[0];
  a->Tk = sm->dim[0];
  a->F = sq->dim[1];
  if (sm->dim[1] != a->F)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "query %s and memory %s must have the same feature size (one packed "
                              "in_proj_weight projects both)",
                              nerve_shape_format (sq, b0, sizeof b0), nerve_shape_format (sm, b1, sizeof b1));
  if (!nerve_cfg_int (cfg, "heads", 1, 1, 1 << 12, &a->H, error) ||
      !nerve_cfg_int (cfg, "dim", a->F, 1, 1 << 16, &a->D, error) ||
      !nerve_cfg_bool (cfg, "causal", FALSE, &a->causal, error) ||
      !nerve_cfg_bool (cfg, "bias", TRUE, &a->bias, error))
    return FALSE;
  if (a->D % a->H != 0)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "'dim' %d is not divisible by 'heads' %d",
                              a->D, a->H);
  l->out_shape = nerve_shape_make (2, a->Tq, a->D);
  /* PyTorch: xavier_uniform_ on the packed [3D,F] weight, zero biases, Linear's
   * default U(±1/sqrt(D)) for the output weight */
  float xavier = sqrtf (6.0f / (float) (a->F + 3 * a->D));
  nerve_layer_add_param (l, "in_proj_weight", nerve_shape_make (2, 3 * a->D, a->F), NERVE_INIT_UNIFORM, xavier, 0);
  if (a->bias)
    nerve_layer_add_param (l, "in_proj_bias", nerve_shape_make (1, 3 * a->D), NERVE_INIT_ZERO, 0,
                           NERVE_PARAM_NO_DECAY);
  nerve_layer_add_param (l, "out_proj_weight", nerve_shape_make (2, a->D, a->D), NERVE_INIT_UNIFORM,
                         1.0f / sqrtf ((float) a->D), 0);
  if (a->bias)
    nerve_layer_add_param (l, "out_proj_bias", nerve_shape_make (1, a->D), NERVE_INIT_ZERO, 0,
                           NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static gsize
mha_cache_size (const NerveLayer *l, int batch)
{
  const Mha *a = (const Mha *) l;
  return nerve_mha_cache_size (batch, a->Tq, a->Tk, a->D, a->H);
}

/* Params in declaration order: in_proj_weight, [in_proj_bias], out_proj_weight, [out_proj_bias] */
#define W_IN(l) (&(l)->params[0])
#define B_IN(l, a) ((a)->bias ? &(l)->params[1] : NULL)
#define W_OUT(l, a) (&(l)->params[(a)->bias ? 2 : 1])
#define B_OUT(l, a) ((a)->bias ? &(l)->params[3] : NULL)

static void
mha_forward (NerveLayer *l, NerveLayerIO *io)
{
  Mha *a = (Mha *) l;
  NerveParam *bi = B_IN (l, a), *bo = B_OUT (l, a);
  nerve_mha_forward (io->out, io->cache, io->in[0], io->in[a->cross ? 1 : 0], W_IN (l)->data,
                     bi ? bi->data : NULL, W_OUT (l, a)->data, bo ? bo->data : NULL, io->lengths,
                     io->batch, a->Tq, a->Tk, a->F, a->D, a->H, a->causal);
}

static void
mha_backward (NerveLayer *l, NerveLayerIO *io)
{
  Mha *a = (Mha *) l;
  NerveParam *bi = B_IN (l, a), *bo = B_OUT (l, a);
  int m = a->cross ? 1 : 0;
  nerve_mha_backward (io->din[0], io->din[m], W_IN (l)->grad, bi ? bi->grad : NULL, W_OUT (l, a)->grad,
                      bo ? bo->grad : NULL, io->cache, io->dout, io->in[0], io->in[m], W_IN (l)->data,
                      W_OUT (l, a)->data, io->lengths, io->batch, a->Tq, a->Tk, a->F, a->D, a->H,
                      a->causal);
}

const NerveLayerClass nerve_attention_class = {
  .type = "attention",
  .size = sizeof (Mha),
  .min_inputs = 1,
  .max_inputs = 2,
  .configure = mha_configure,
  .cache_size = mha_cache_size,
  .forward = mha_forward,
  .backward = mha_backward,
};
#endif

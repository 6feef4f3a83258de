/* Layer normalisation ("layernorm") over the last dimension. */
#include "layernorm.h"

#include "../layer.h"
#include "../real.h"
#include "reduce.h"

void
NK (nerve_layernorm_forward) (nreal *y,            /* [R,D] */
                              nreal *mean,         /* [R] cache */
                              nreal *invstd,       /* [R] cache */
                              const nreal *x,      /* [R,D] */
                              const nreal *weight, /* [D] */
                              const nreal *bias,   /* [D] */
                              int R, int D, nreal eps)
{
  const nreal invD = 1 / (nreal) D;
  for (int r = 0; r < R; r++) {
    const nreal *xr = x + (gsize) r * D;
    nreal *yr = y + (gsize) r * D;
    const nreal m = nerve_red_sum (xr, D) * invD;
    const nreal is = 1 / sqrt (nerve_red_sqdev (xr, D, m) * invD + eps);
    for (int i = 0; i < D; i++)
      yr[i] = (xr[i] - m) * is * weight[i] + bias[i];
    mean[r] = m;
    invstd[r] = is;
  }
}

void
NK (nerve_layernorm_backward) (nreal *dx,           /* [R,D] or NULL */
                               nreal *dweight,      /* [D] */
                               nreal *dbias,        /* [D] or NULL */
                               const nreal *dy,     /* [R,D] */
                               const nreal *x,      /* [R,D] */
                               const nreal *mean,   /* [R] */
                               const nreal *invstd, /* [R] */
                               const nreal *weight, /* [D] */
                               int R, int D)
{
  const nreal invD = 1 / (nreal) D;
  for (int r = 0; r < R; r++) {
    const nreal *xr = x + (gsize) r * D, *dyr = dy + (gsize) r * D;
    const nreal m = mean[r], is = invstd[r];
    if (dweight)
      for (int i = 0; i < D; i++)
        dweight[i] += dyr[i] * (xr[i] - m) * is;
    if (dbias)
      for (int i = 0; i < D; i++)
        dbias[i] += dyr[i];
    if (!dx)
      continue;
    /* with g = dy·weight: dx = invstd·(g - mean(g) - xhat·mean(g·xhat)) */
    nreal sg = 0, sgx = 0;
    for (int i = 0; i < D; i++) {
      nreal g = dyr[i] * weight[i];
      sg += g;
      sgx += g * (xr[i] - m);
    }
    const nreal a = -sg * invD * is, b = -sgx * is * is * is * invD;
    nreal *dxr = dx + (gsize) r * D;
    for (int i = 0; i < D; i++)
      dxr[i] += dyr[i] * weight[i] * is + a + b * (xr[i] - m);
  }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  int D, rows; /* normalised size, rows per sample */
  float eps;
} LayerNorm;

static gboolean
layernorm_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  LayerNorm *n = (LayerNorm *) l;
  const NerveShape *s = &l->in_shape[0];
  if (!nerve_cfg_float (cfg, "eps", 1e-5, 1e-12, 1, &n->eps, error))
    return FALSE;
  n->D = s->dim[s->ndim - 1];
  n->rows = (int) (nerve_shape_numel (s) / n->D);
  l->out_shape = *s;
  NerveShape d = nerve_shape_make (1, n->D);
  nerve_layer_add_param (l, "weight", d, NERVE_INIT_ONE, 0, NERVE_PARAM_NO_DECAY);
  nerve_layer_add_param (l, "bias", d, NERVE_INIT_ZERO, 0, NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static gsize
layernorm_cache_size (const NerveLayer *l, int batch)
{
  return 2 * (gsize) batch * ((const LayerNorm *) l)->rows;
}

static void
layernorm_forward (NerveLayer *l, NerveLayerIO *io)
{
  LayerNorm *n = (LayerNorm *) l;
  int R = io->batch * n->rows;
  nerve_layernorm_forward (io->out, io->cache, io->cache + R, io->in[0], l->params[0].data,
                           l->params[1].data, R, n->D, n->eps);
}

static void
layernorm_backward (NerveLayer *l, NerveLayerIO *io)
{
  LayerNorm *n = (LayerNorm *) l;
  int R = io->batch * n->rows;
  nerve_layernorm_backward (io->din[0], l->params[0].grad, l->params[1].grad, io->dout, io->in[0],
                            io->cache, io->cache + R, l->params[0].data, R, n->D);
}

/* One time step: every row of it is normalised on its own. state is unused. */
static void
layernorm_step (NerveLayer *l, const float *in, float *out, float *state)
{
  LayerNorm *n = (LayerNorm *) l;
  const NerveShape *s = &l->in_shape[0];
  int R = s->ndim > 1 ? n->rows / s->dim[0] : 1;
  for (int r = 0; r < R; r++) {
    float mean, invstd;
    nerve_layernorm_forward (out + (gsize) r * n->D, &mean, &invstd, in + (gsize) r * n->D,
                             l->params[0].data, l->params[1].data, 1, n->D, n->eps);
  }
}

const NerveLayerClass nerve_layernorm_class = {
  .type = "layernorm", .size = sizeof (LayerNorm), .min_inputs = 1, .max_inputs = 1,
  .configure = layernorm_configure, .cache_size = layernorm_cache_size,
  .forward = layernorm_forward, .backward = layernorm_backward, .step = layernorm_step,
};
#endif

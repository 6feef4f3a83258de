/* Batch normalisation ("batchnorm") over [C,H,W] images, [F] features or [T,F] sequences. */
#include "batchnorm.h"

#include "../layer.h"
#include "../real.h"
#include "reduce.h"

void
NK (nerve_batchnorm_forward) (nreal *y,            /* [N,C,S] */
                              nreal *mean,         /* [C] cache */
                              nreal *invstd,       /* [C] cache */
                              nreal *running_mean, /* [C] updated when training, or NULL */
                              nreal *running_var,  /* [C] likewise */
                              const nreal *x,      /* [N,C,S] */
                              const nreal *weight, /* [C] */
                              const nreal *bias,   /* [C] */
                              int N, int C, int S, gboolean training, nreal momentum, nreal eps)
{
  const gsize M = (gsize) N * S, CS = (gsize) C * S;
  if (training) {
    const nreal invM = 1 / (nreal) M;
    /* two passes (mean, then squared deviations): no cancellation when |mean| >> std */
    if (S == 1) { /* features: accumulate along contiguous channels */
      for (int c = 0; c < C; c++)
        mean[c] = invstd[c] = 0;
      for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++)
          mean[c] += x[(gsize) n * C + c];
      for (int c = 0; c < C; c++)
        mean[c] *= invM;
      for (int n = 0; n < N; n++)
        for (int c = 0; c < C; c++) {
          nreal d = x[(gsize) n * C + c] - mean[c];
          invstd[c] += d * d; /* Σ (x - mean)² until the loop below */
        }
    } else {
      for (int c = 0; c < C; c++) {
        nreal s = 0;
        for (int n = 0; n < N; n++)
          s += nerve_red_sum (x + n * CS + (gsize) c * S, S);
        mean[c] = s * invM;
        nreal q = 0;
        for (int n = 0; n < N; n++)
          q += nerve_red_sqdev (x + n * CS + (gsize) c * S, S, mean[c]);
        invstd[c] = q;
      }
    }
    /* PyTorch updates the running variance with the unbiased estimate */
    const nreal unbias = M > 1 ? 1 / (nreal) (M - 1) : invM;
    for (int c = 0; c < C; c++) {
      nreal ssd = invstd[c];
      if (running_mean && running_var) {
        running_mean[c] = (1 - momentum) * running_mean[c] + momentum * mean[c];
        running_var[c] = (1 - momentum) * running_var[c] + momentum * ssd * unbias;
      }
      invstd[c] = 1 / sqrt (ssd * invM + eps);
    }
  } else {
    for (int c = 0; c < C; c++) {
      mean[c] = running_mean[c];
      invstd[c] = 1 / sqrt (running_var[c] + eps);
    }
  }

  if (S == 1) {
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        gsize i = (gsize) n * C + c;
        y[i] = (x[i] - mean[c]) * invstd[c] * weight[c] + bias[c];
      }
  } else {
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        const nreal a = invstd[c] * weight[c], m = mean[c], b = bias[c];
        const nreal *xr = x + n * CS + (gsize) c * S;
        nreal *yr = y + n * CS + (gsize) c * S;
        for (int i = 0; i < S; i++)
          yr[i] = (xr[i] - m) * a + b;
      }
  }
}

void
NK (nerve_batchnorm_backward) (nreal *dx,           /* [N,C,S] or NULL */
                               nreal *dweight,      /* [C] */
                               nreal *dbias,        /* [C] or NULL */
                               nreal *work,         /* [2C] scratch */
                               const nreal *dy,     /* [N,C,S] */
                               const nreal *x,      /* [N,C,S] */
                               const nreal *mean,   /* [C] from forward */
                               const nreal *invstd, /* [C] from forward */
                               const nreal *weight, /* [C] */
                               int N, int C, int S, gboolean training)
{
  const gsize M = (gsize) N * S, CS = (gsize) C * S;
  const nreal invM = 1 / (nreal) M;
  nreal *sdy = work, *sdyx = work + C; /* Σ dy and Σ dy·xhat per channel */
  if (S == 1) {
    for (int c = 0; c < C; c++)
      sdy[c] = sdyx[c] = 0;
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        gsize i = (gsize) n * C + c;
        sdy[c] += dy[i];
        sdyx[c] += dy[i] * (x[i] - mean[c]);
      }
    for (int c = 0; c < C; c++)
      sdyx[c] *= invstd[c];
  } else {
    for (int c = 0; c < C; c++) {
      nreal a = 0, b = 0;
      for (int n = 0; n < N; n++) {
        gsize o = n * CS + (gsize) c * S;
        a += nerve_red_sum (dy + o, S);
        b += nerve_red_dot_dev (dy + o, x + o, S, mean[c]);
      }
      sdy[c] = a;
      sdyx[c] = b * invstd[c];
    }
  }
  for (int c = 0; c < C; c++) {
    if (dweight)
      dweight[c] += sdyx[c];
    if (dbias)
      dbias[c] += sdy[c];
  }
  if (!dx)
    return;

  /* training: dx = w·invstd·(dy - Σdy/M - xhat·Σ(dy·xhat)/M), the batch statistics
   * depending on x; eval: dx = w·invstd·dy. Folded into dx += k·dy + b·(x - mean) + d. */
  for (int c = 0; c < C; c++) {
    nreal k = weight[c] * invstd[c];
    nreal b = training ? -k * invstd[c] * sdyx[c] * invM : 0;
    nreal d = training ? -k * sdy[c] * invM : 0;
    sdyx[c] = b; /* reuse the scratch for the per-channel terms */
    sdy[c] = d;
  }
  if (S == 1) {
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        gsize i = (gsize) n * C + c;
        dx[i] += weight[c] * invstd[c] * dy[i] + sdyx[c] * (x[i] - mean[c]) + sdy[c];
      }
  } else {
    for (int n = 0; n < N; n++)
      for (int c = 0; c < C; c++) {
        const nreal k = weight[c] * invstd[c], b = sdyx[c], d = sdy[c], m = mean[c];
        gsize o = n * CS + (gsize) c * S;
        const nreal *dyr = dy + o, *xr = x + o;
        nreal *dxr = dx + o;
        for (int i = 0; i < S; i++)
          dxr[i] += k * dyr[i] + b * (xr[i] - m) + d;
      }
  }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  int rows, C, S; /* the kernel's N per sample, channels, positions */
  float momentum, eps;
} BatchNorm;

static gboolean
batchnorm_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  BatchNorm *b = (BatchNorm *) l;
  const NerveShape *s = &l->in_shape[0];
  if (!nerve_cfg_float (cfg, "momentum", 0.1, 0, 1, &b->momentum, error) ||
      !nerve_cfg_float (cfg, "eps", 1e-5, 1e-12, 1, &b->eps, error))
    return FALSE;
  switch (s->ndim) {
  case 1: /* [F] like BatchNorm1d */
    b->rows = 1, b->C = s->dim[0], b->S = 1;
    break;
  case 2: /* [T,F]: per feature over batch and time */
    b->rows = s->dim[0], b->C = s->dim[1], b->S = 1;
    break;
  default: /* [C,H,W] like BatchNorm2d (and [C,D,H,W]) */
    b->rows = 1, b->C = s->dim[0], b->S = (int) (nerve_shape_numel (s) / s->dim[0]);
    break;
  }
  l->out_shape = *s;
  NerveShape c = nerve_shape_make (1, b->C);
  nerve_layer_add_param (l, "weight", c, NERVE_INIT_ONE, 0, NERVE_PARAM_NO_DECAY);
  nerve_layer_add_param (l, "bias", c, NERVE_INIT_ZERO, 0, NERVE_PARAM_NO_DECAY);
  nerve_layer_add_param (l, "running_mean", c, NERVE_INIT_ZERO, 0, NERVE_PARAM_BUFFER);
  nerve_layer_add_param (l, "running_var", c, NERVE_INIT_ONE, 0, NERVE_PARAM_BUFFER);
  return TRUE;
}

static gsize
batchnorm_cache_size (const NerveLayer *l, int batch)
{
  return 4 * (gsize) ((const BatchNorm *) l)->C; /* mean, invstd, 2 scratch */
}

static void
batchnorm_forward (NerveLayer *l, NerveLayerIO *io)
{
  BatchNorm *b = (BatchNorm *) l;
  float *c = io->cache;
  nerve_batchnorm_forward (io->out, c, c + b->C, l->params[2].data, l->params[3].data, io->in[0],
                           l->params[0].data, l->params[1].data, io->batch * b->rows, b->C, b->S,
                           io->training, b->momentum, b->eps);
}

static void
batchnorm_backward (NerveLayer *l, NerveLayerIO *io)
{
  BatchNorm *b = (BatchNorm *) l;
  float *c = io->cache;
  nerve_batchnorm_backward (io->din[0], l->params[0].grad, l->params[1].grad, c + 2 * b->C, io->dout,
                            io->in[0], c, c + b->C, l->params[0].data, io->batch * b->rows, b->C, b->S,
                            io->training);
}

/* Streaming (inference statistics) over [F] or one [T,F] frame; the state is the
 * kernel's mean/invstd scratch, so a step computes exactly what forward does. */
static gsize
batchnorm_state_size (const NerveLayer *l)
{
  return 2 * (gsize) ((const BatchNorm *) l)->C;
}

static void
batchnorm_step (NerveLayer *l, const float *in, float *out, float *state)
{
  BatchNorm *b = (BatchNorm *) l;
  nerve_batchnorm_forward (out, state, state + b->C, l->params[2].data, l->params[3].data, in,
                           l->params[0].data, l->params[1].data, 1, b->C, 1, FALSE, b->momentum, b->eps);
}

static gboolean
batchnorm_can_step (const NerveLayer *l, GError **error)
{
  if (l->in_shape[0].ndim <= 2)
    return TRUE;
  return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                            "streams [features] or [time, features] only; a [channels, ...] image "
                            "has no time axis to step along");
}

const NerveLayerClass nerve_batchnorm_class = {
  .type = "batchnorm", .size = sizeof (BatchNorm), .min_inputs = 1, .max_inputs = 1,
  .configure = batchnorm_configure, .cache_size = batchnorm_cache_size,
  .forward = batchnorm_forward, .backward = batchnorm_backward,
  .state_size = batchnorm_state_size, .step = batchnorm_step, .can_step = batchnorm_can_step,
};
#endif

/* Dropout ("dropout"): inverted, the mask drawn from io->rng and kept in the cache. */
#include "dropout.h"

#include <string.h>

#include "../layer.h"
#include "../real.h"

void
NK (nerve_dropout_mask) (nreal *mask, /* [n] */
                         gsize n, nreal p, NerveRng *rng)
{
  const nreal keep = p < 1 ? 1 / (1 - p) : 0;
  for (gsize i = 0; i < n; i++)
    mask[i] = (nreal) nerve_rng_uniform (rng) < p ? 0 : keep;
}

void
NK (nerve_dropout_forward) (nreal *y,          /* [n] */
                            const nreal *mask, /* [n] */
                            const nreal *x,    /* [n] */
                            gsize n)
{
  for (gsize i = 0; i < n; i++)
    y[i] = x[i] * mask[i];
}

void
NK (nerve_dropout_backward) (nreal *dx,         /* [n] */
                             const nreal *dy,   /* [n] */
                             const nreal *mask, /* [n] */
                             gsize n)
{
  for (gsize i = 0; i < n; i++)
    dx[i] += dy[i] * mask[i];
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  float p;
} Dropout;

static gboolean
dropout_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Dropout *d = (Dropout *) l;
  if (!nerve_cfg_float (cfg, "rate", 0.5, 0, 1, &d->p, error))
    return FALSE;
  l->out_shape = l->in_shape[0];
  return TRUE;
}

static gsize
dropout_cache_size (const NerveLayer *l, int batch)
{
  return (gsize) batch * nerve_shape_numel (&l->out_shape);
}

static void
dropout_forward (NerveLayer *l, NerveLayerIO *io)
{
  Dropout *d = (Dropout *) l;
  gsize n = io->batch * nerve_shape_numel (&l->out_shape);
  if (io->training && d->p > 0) {
    nerve_dropout_mask (io->cache, n, d->p, io->rng);
    nerve_dropout_forward (io->out, io->cache, io->in[0], n);
  } else {
    memcpy (io->out, io->in[0], n * sizeof (float));
  }
}

static void
dropout_backward (NerveLayer *l, NerveLayerIO *io)
{
  Dropout *d = (Dropout *) l;
  gsize n = io->batch * nerve_shape_numel (&l->out_shape);
  if (!io->din[0])
    return;
  if (io->training && d->p > 0) {
    nerve_dropout_backward (io->din[0], io->dout, io->cache, n);
  } else {
    for (gsize i = 0; i < n; i++)
      io->din[0][i] += io->dout[i];
  }
}

static void
dropout_step (NerveLayer *l, const float *in, float *out, float *state)
{
  const NerveShape *s = &l->out_shape;
  gsize n = s->ndim > 1 ? nerve_shape_numel (s) / s->dim[0] : nerve_shape_numel (s);
  memcpy (out, in, n * sizeof (float));
}

const NerveLayerClass nerve_dropout_class = {
  .type = "dropout", .size = sizeof (Dropout), .min_inputs = 1, .max_inputs = 1,
  .configure = dropout_configure, .cache_size = dropout_cache_size,
  .forward = dropout_forward, .backward = dropout_backward, .step = dropout_step,
};
#endif

/* Dense (fully connected) layer over the last dimension. */
#include "dense.h"

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"

void
NK (nerve_dense_forward) (nreal *y,        /* [N,O] */
                          const nreal *x,  /* [N,I] */
                          const nreal *w,  /* [O,I] */
                          const nreal *b,  /* [O] or NULL */
                          int N, int I, int O)
{
  if (b)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < O; o++)
        y[(gsize) n * O + o] = b[o];
  NK (nerve_gemm) (FALSE, TRUE, N, O, I, 1, x, I, w, I, b ? 1 : 0, y, O);
}

void
NK (nerve_dense_backward) (nreal *dx,       /* [N,I] or NULL */
                           nreal *dw,       /* [O,I] */
                           nreal *db,       /* [O] or NULL */
                           const nreal *dy, /* [N,O] */
                           const nreal *x,  /* [N,I] */
                           const nreal *w,  /* [O,I] */
                           int N, int I, int O)
{
  if (dx)
    NK (nerve_gemm) (FALSE, FALSE, N, I, O, 1, dy, O, w, I, 1, dx, I);
  NK (nerve_gemm) (TRUE, FALSE, O, I, N, 1, dy, O, x, I, 1, dw, I);
  if (db)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < O; o++)
        db[o] += dy[(gsize) n * O + o];
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  int in, out, rows; /* rows = time steps etc. folded into the batch */
  gboolean bias;
} Dense;

static gboolean
dense_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Dense *d = (Dense *) l;
  const NerveShape *s = &l->in_shape[0];
  if (!nerve_cfg_int (cfg, "units", 0, 1, 1 << 20, &d->out, error) ||
      !nerve_cfg_bool (cfg, "bias", TRUE, &d->bias, error))
    return FALSE;
  if (d->out == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'units' is required");
  if (s->ndim < 1)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "needs an input with features");
  d->in = s->dim[s->ndim - 1];
  d->rows = (int) (nerve_shape_numel (s) / d->in);
  l->out_shape = *s;
  l->out_shape.dim[s->ndim - 1] = d->out;
  float bound = 1.0f / sqrtf ((float) d->in); /* PyTorch's default */
  nerve_layer_add_param (l, "weight", nerve_shape_make (2, d->out, d->in), NERVE_INIT_UNIFORM, bound, 0);
  if (d->bias)
    nerve_layer_add_param (l, "bias", nerve_shape_make (1, d->out), NERVE_INIT_UNIFORM, bound,
                           NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static void
dense_forward (NerveLayer *l, NerveLayerIO *io)
{
  Dense *d = (Dense *) l;
  nerve_dense_forward (io->out, io->in[0], l->params[0].data, d->bias ? l->params[1].data : NULL,
                       io->batch * d->rows, d->in, d->out);
}

static void
dense_backward (NerveLayer *l, NerveLayerIO *io)
{
  Dense *d = (Dense *) l;
  nerve_dense_backward (io->din[0], l->params[0].grad, d->bias ? l->params[1].grad : NULL, io->dout,
                        io->in[0], l->params[0].data, io->batch * d->rows, d->in, d->out);
}

static void
dense_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Dense *d = (Dense *) l;
  nerve_dense_forward (out, in, l->params[0].data, d->bias ? l->params[1].data : NULL, 1, d->in, d->out);
}

const NerveLayerClass nerve_dense_class = {
  .type = "dense",
  .size = sizeof (Dense),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = dense_configure,
  .forward = dense_forward,
  .backward = dense_backward,
  .step = dense_step,
};
#endif

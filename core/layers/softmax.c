/* Softmax ("softmax") and log-softmax ("log_softmax") over the last dimension. */
#include "softmax.h"

#include "../layer.h"
#include "../real.h"
#include "reduce.h"

void
NK (nerve_softmax_forward) (nreal *y,       /* [R,D] */
                            const nreal *x, /* [R,D] */
                            int R, int D)
{
  for (int r = 0; r < R; r++) {
    const nreal *xr = x + (gsize) r * D;
    nreal *yr = y + (gsize) r * D;
    const nreal m = nerve_red_max (xr, D);
    for (int i = 0; i < D; i++)
      yr[i] = exp (xr[i] - m);
    const nreal inv = 1 / nerve_red_sum (yr, D); /* >= 1: the max term is exp(0) */
    for (int i = 0; i < D; i++)
      yr[i] *= inv;
  }
}

void
NK (nerve_softmax_backward) (nreal *dx,       /* [R,D] */
                             const nreal *dy, /* [R,D] */
                             const nreal *y,  /* [R,D] forward output */
                             int R, int D)
{
  for (int r = 0; r < R; r++) {
    const gsize o = (gsize) r * D;
    const nreal s = nerve_red_dot (dy + o, y + o, D);
    for (int i = 0; i < D; i++)
      dx[o + i] += y[o + i] * (dy[o + i] - s);
  }
}

void
NK (nerve_log_softmax_forward) (nreal *y,       /* [R,D] */
                                const nreal *x, /* [R,D] */
                                int R, int D)
{
  for (int r = 0; r < R; r++) {
    const nreal *xr = x + (gsize) r * D;
    nreal *yr = y + (gsize) r * D;
    const nreal m = nerve_red_max (xr, D);
    for (int i = 0; i < D; i++)
      yr[i] = exp (xr[i] - m); /* y as scratch for the sum */
    const nreal ls = log (nerve_red_sum (yr, D));
    for (int i = 0; i < D; i++) /* (x - max) first: exact-ish even when |x| is large */
      yr[i] = (xr[i] - m) - ls;
  }
}

void
NK (nerve_log_softmax_backward) (nreal *dx,       /* [R,D] */
                                 const nreal *dy, /* [R,D] */
                                 const nreal *y,  /* [R,D] forward output */
                                 int R, int D)
{
  for (int r = 0; r < R; r++) {
    const gsize o = (gsize) r * D;
    const nreal s = nerve_red_sum (dy + o, D);
    for (int i = 0; i < D; i++)
      dx[o + i] += dy[o + i] - exp (y[o + i]) * s;
  }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  int D, rows;
  gboolean log;
} Softmax;

static gboolean
softmax_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Softmax *s = (Softmax *) l;
  const NerveShape *in = &l->in_shape[0];
  s->log = g_str_equal (l->klass->type, "log_softmax");
  s->D = in->dim[in->ndim - 1];
  s->rows = (int) (nerve_shape_numel (in) / s->D);
  l->out_shape = *in;
  return TRUE;
}

static void
softmax_forward (NerveLayer *l, NerveLayerIO *io)
{
  Softmax *s = (Softmax *) l;
  (s->log ? nerve_log_softmax_forward : nerve_softmax_forward) (io->out, io->in[0], io->batch * s->rows, s->D);
}

static void
softmax_backward (NerveLayer *l, NerveLayerIO *io)
{
  Softmax *s = (Softmax *) l;
  if (io->din[0])
    (s->log ? nerve_log_softmax_backward : nerve_softmax_backward) (io->din[0], io->dout, io->out,
                                                                   io->batch * s->rows, s->D);
}

static void
softmax_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Softmax *s = (Softmax *) l;
  const NerveShape *sh = &l->in_shape[0];
  int R = sh->ndim > 1 ? s->rows / sh->dim[0] : 1;
  (s->log ? nerve_log_softmax_forward : nerve_softmax_forward) (out, in, R, s->D);
}

#define SOFTMAX_CLASS(id, name)                                                                    \
  const NerveLayerClass nerve_##id##_class = {                                                     \
    .type = name, .size = sizeof (Softmax), .min_inputs = 1, .max_inputs = 1,                      \
    .configure = softmax_configure, .forward = softmax_forward, .backward = softmax_backward,      \
    .step = softmax_step,                                                                          \
  }
SOFTMAX_CLASS (softmax, "softmax");
SOFTMAX_CLASS (log_softmax, "log_softmax");
#endif

/* Element-wise activations: ReLU, leaky ReLU, sigmoid, tanh, GELU. */
#include "activation.h"

#include "../layer.h"
#include "../real.h"

void
NK (nerve_activation_forward) (nreal *y, const nreal *x, gsize n, NerveActivation act, nreal slope)
{
  switch (act) {
  case NERVE_ACT_RELU:
    for (gsize i = 0; i < n; i++)
      y[i] = x[i] > 0 ? x[i] : 0;
    break;
  case NERVE_ACT_LEAKY_RELU:
    for (gsize i = 0; i < n; i++)
      y[i] = x[i] > 0 ? x[i] : slope * x[i];
    break;
  case NERVE_ACT_SIGMOID:
    for (gsize i = 0; i < n; i++)
      y[i] = 1 / (1 + exp (-x[i]));
    break;
  case NERVE_ACT_TANH:
    for (gsize i = 0; i < n; i++)
      y[i] = tanh (x[i]);
    break;
  case NERVE_ACT_GELU:
    for (gsize i = 0; i < n; i++)
      y[i] = (nreal) 0.5 * x[i] * (1 + erf (x[i] * (nreal) M_SQRT1_2));
    break;
  }
}

void
NK (nerve_activation_backward) (nreal *dx, const nreal *dy, const nreal *x, const nreal *y, gsize n,
                                NerveActivation act, nreal slope)
{
  switch (act) {
  case NERVE_ACT_RELU:
    for (gsize i = 0; i < n; i++)
      dx[i] += x[i] > 0 ? dy[i] : 0;
    break;
  case NERVE_ACT_LEAKY_RELU:
    for (gsize i = 0; i < n; i++)
      dx[i] += x[i] > 0 ? dy[i] : slope * dy[i];
    break;
  case NERVE_ACT_SIGMOID:
    for (gsize i = 0; i < n; i++)
      dx[i] += dy[i] * y[i] * (1 - y[i]);
    break;
  case NERVE_ACT_TANH:
    for (gsize i = 0; i < n; i++)
      dx[i] += dy[i] * (1 - y[i] * y[i]);
    break;
  case NERVE_ACT_GELU:
    for (gsize i = 0; i < n; i++) {
      nreal cdf = (nreal) 0.5 * (1 + erf (x[i] * (nreal) M_SQRT1_2));
      nreal pdf = exp ((nreal) -0.5 * x[i] * x[i]) * (nreal) (0.5 * M_2_SQRTPI * M_SQRT1_2);
      dx[i] += dy[i] * (cdf + x[i] * pdf);
    }
    break;
  }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  NerveActivation act;
  float slope;
} Act;

static const char *const act_types[] = { "relu", "leaky_relu", "sigmoid", "tanh", "gelu", NULL };

static gboolean
act_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Act *a = (Act *) l;
  for (int i = 0; act_types[i]; i++)
    if (g_str_equal (l->klass->type, act_types[i]))
      a->act = (NerveActivation) i;
  if (a->act == NERVE_ACT_LEAKY_RELU && !nerve_cfg_float (cfg, "slope", 0.01, 0, 1, &a->slope, error))
    return FALSE;
  l->out_shape = l->in_shape[0];
  return TRUE;
}

static void
act_forward (NerveLayer *l, NerveLayerIO *io)
{
  Act *a = (Act *) l;
  nerve_activation_forward (io->out, io->in[0], io->batch * nerve_shape_numel (&l->out_shape), a->act,
                            a->slope);
}

static void
act_backward (NerveLayer *l, NerveLayerIO *io)
{
  Act *a = (Act *) l;
  if (io->din[0])
    nerve_activation_backward (io->din[0], io->dout, io->in[0], io->out,
                               io->batch * nerve_shape_numel (&l->out_shape), a->act, a->slope);
}

static void
act_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Act *a = (Act *) l;
  const NerveShape *s = &l->out_shape;
  /* a step sees one time step: drop the leading time dimension of sequences */
  gsize n = s->ndim > 1 ? nerve_shape_numel (s) / s->dim[0] : nerve_shape_numel (s);
  nerve_activation_forward (out, in, n, a->act, a->slope);
}

#define ACT_CLASS(id, name)                                                                        \
  const NerveLayerClass nerve_##id##_class = {                                                     \
    .type = name, .size = sizeof (Act), .min_inputs = 1, .max_inputs = 1,                          \
    .configure = act_configure, .forward = act_forward, .backward = act_backward,                  \
    .step = act_step,                                                                              \
  }
ACT_CLASS (relu, "relu");
ACT_CLASS (leaky_relu, "leaky_relu");
ACT_CLASS (sigmoid, "sigmoid");
ACT_CLASS (tanh, "tanh");
ACT_CLASS (gelu, "gelu");
#endif

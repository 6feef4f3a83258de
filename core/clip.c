/* Gradient clipping by the global L2 norm of every trainable gradient. */
#include "clip.h"

#include <math.h>

typedef struct {
  NerveModel *m;
  double sumsq;
  float coef; /* 0 while measuring */
} ClipPass;

static void
clip_param (NerveParam *p, gpointer data)
{
  ClipPass *c = data;
  if (p->flags & NERVE_PARAM_BUFFER)
    return;
  float *g = c->m->grad + p->offset;
  gsize n = nerve_shape_numel (&p->shape);
  if (c->coef == 0) {
    double s = 0;
    for (gsize i = 0; i < n; i++)
      s += (double) g[i] * g[i];
    c->sumsq += s;
  } else {
    for (gsize i = 0; i < n; i++)
      g[i] *= c->coef;
  }
}

float
nerve_clip_grad_norm (NerveModel *m, float max_norm)
{
  g_return_val_if_fail (m && m->grad, NAN);
  ClipPass c = { m, 0, 0 };
  nerve_model_foreach_param (m, clip_param, &c);
  float norm = (float) sqrt (c.sumsq);
  if (max_norm > 0 && isfinite (norm)) {
    /* PyTorch: clip_coef = max_norm / (total_norm + 1e-6), applied when below 1 */
    float coef = max_norm / (norm + 1e-6f);
    if (coef < 1) {
      c.coef = coef;
      nerve_model_foreach_param (m, clip_param, &c);
    }
  }
  return norm;
}

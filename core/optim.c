/* SGD, Adagrad, Adam and AdamW following torch.optim 1.13's single-tensor code path,
 * operation for operation, so 10 steps agree with PyTorch to float rounding. Scalars
 * PyTorch computes in Python (bias corrections, 1 - beta) are computed in double here
 * too, then used as float like PyTorch's kernels do. */
#include "optim.h"

#include <math.h>
#include <string.h>

#include "tensor.h"

typedef struct {
  gsize offset, n;
  gboolean decay; /* weight decay and L1 apply */
} Slice;

struct _NerveOptimizer {
  NerveModel *m;
  NerveOptimConfig c;
  int n_slots;  /* moment copies of the arena */
  float *state; /* n_slots * m->n_floats */
  gint64 step;
  GArray *slices;
};

static const char *const type_names[] = { "sgd", "adagrad", "adam", "adamw", NULL };

const char *
nerve_optim_type_name (NerveOptimType t)
{
  g_return_val_if_fail ((int) t >= 0 && t <= NERVE_OPTIM_ADAMW, "?");
  return type_names[t];
}

void
nerve_optim_config_defaults (NerveOptimConfig *c, NerveOptimType t)
{
  memset (c, 0, sizeof *c);
  c->type = t;
  c->beta1 = 0.9f;
  c->beta2 = 0.999f;
  c->eps = t == NERVE_OPTIM_ADAGRAD ? 1e-10f : 1e-8f;
  c->weight_decay = t == NERVE_OPTIM_ADAMW ? 1e-2f : 0.0f;
}

gboolean
nerve_optim_config_parse (NerveOptimConfig *c, const char *type_name, GError **error)
{
  for (int i = 0; type_names[i]; i++)
    if (type_name && g_ascii_strcasecmp (type_name, type_names[i]) == 0) {
      nerve_optim_config_defaults (c, (NerveOptimType) i);
      return TRUE;
    }
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
               "unknown optimizer '%s': expected sgd, adagrad, adam or adamw", type_name ? type_name : "(null)");
  return FALSE;
}

static gboolean
check_config (const NerveOptimConfig *c, GError **error)
{
  const char *bad = NULL;
  if ((int) c->type < 0 || c->type > NERVE_OPTIM_ADAMW)
    bad = "type is not a known optimizer";
  else if (!(c->weight_decay >= 0))
    bad = "weight_decay must be >= 0";
  else if (!(c->l1 >= 0))
    bad = "l1 must be >= 0";
  else if (c->type == NERVE_OPTIM_SGD && !(c->momentum >= 0))
    bad = "momentum must be >= 0";
  else if (c->type == NERVE_OPTIM_SGD && c->nesterov && (c->momentum <= 0 || c->dampening != 0))
    bad = "nesterov needs momentum > 0 and dampening 0";
  else if ((c->type == NERVE_OPTIM_ADAM || c->type == NERVE_OPTIM_ADAMW) &&
           !(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1))
    bad = "beta1 and beta2 must be in [0, 1)";
  else if (c->type != NERVE_OPTIM_SGD && !(c->eps >= 0))
    bad = "eps must be >= 0";
  else if (c->type == NERVE_OPTIM_ADAGRAD && !(c->adagrad_initial >= 0))
    bad = "adagrad initial accumulator must be >= 0";
  if (bad)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "optimizer %s: %s",
                 nerve_optim_type_name (c->type), bad);
  return bad == NULL;
}

static void
add_slice (NerveParam *p, gpointer data)
{
  if (p->flags & NERVE_PARAM_BUFFER)
    return;
  Slice s = { p->offset, nerve_shape_numel (&p->shape), !(p->flags & NERVE_PARAM_NO_DECAY) };
  g_array_append_val (data, s);
}

NerveOptimizer *
nerve_optimizer_new (NerveModel *m, const NerveOptimConfig *c, GError **error)
{
  g_return_val_if_fail (m && c, NULL);
  if (!check_config (c, error) || !nerve_model_enable_grads (m, error))
    return NULL;
  int n_slots = c->type == NERVE_OPTIM_SGD ? (c->momentum != 0) : c->type == NERVE_OPTIM_ADAGRAD ? 1 : 2;
  float *state = NULL;
  if (n_slots && !(state = nerve_alloc_floats (n_slots * m->n_floats))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate %d optimizer moments of %zu floats",
                 n_slots, m->n_floats);
    return NULL;
  }
  NerveOptimizer *o = g_new0 (NerveOptimizer, 1);
  o->m = nerve_model_ref (m);
  o->c = *c;
  o->n_slots = n_slots;
  o->state = state;
  o->slices = g_array_new (FALSE, FALSE, sizeof (Slice));
  nerve_model_foreach_param (m, add_slice, o->slices);
  if (c->type == NERVE_OPTIM_ADAGRAD)
    for (guint i = 0; i < o->slices->len; i++) {
      Slice *s = &g_array_index (o->slices, Slice, i);
      for (gsize j = 0; j < s->n; j++)
        state[s->offset + j] = c->adagrad_initial;
    }
  return o;
}

void
nerve_optimizer_free (NerveOptimizer *o)
{
  if (!o)
    return;
  nerve_free_floats (o->state);
  g_array_unref (o->slices);
  nerve_model_unref (o->m);
  g_free (o);
}

/* The gradient with coupled weight decay and the L1 penalty added. */
static inline float
penalised (float g, float w, float wd, float l1)
{
  g = g + wd * w;
  return l1 != 0 ? g + l1 * (float) ((w > 0) - (w < 0)) : g;
}

static void
sgd (const NerveOptimConfig *c, float *w, const float *g, float *buf, gsize n, float lr, float wd,
     float l1, gboolean first)
{
  float mom = c->momentum, keep = (float) (1.0 - (double) c->dampening);
  for (gsize i = 0; i < n; i++) {
    float d = penalised (g[i], w[i], wd, l1);
    if (buf) {
      buf[i] = first ? d : buf[i] * mom + keep * d;
      d = c->nesterov ? d + mom * buf[i] : buf[i];
    }
    w[i] = w[i] + -lr * d;
  }
}

static void
adagrad (const NerveOptimConfig *c, float *w, const float *g, float *sum, gsize n, float lr, float wd, float l1)
{
  for (gsize i = 0; i < n; i++) {
    float d = penalised (g[i], w[i], wd, l1);
    sum[i] = sum[i] + d * d;
    w[i] = w[i] + -lr * (d / (sqrtf (sum[i]) + c->eps));
  }
}

static void
adam (const NerveOptimConfig *c, float *w, const float *g, float *m1, float *m2, gsize n, float lr,
      float wd, float l1, gint64 step)
{
  gboolean decoupled = c->type == NERVE_OPTIM_ADAMW;
  double bc1 = 1 - pow (c->beta1, (double) step), bc2 = 1 - pow (c->beta2, (double) step);
  float step_size = (float) (lr / bc1), bc2_sqrt = (float) sqrt (bc2);
  float b1 = c->beta1, b2 = c->beta2;
  float a1 = (float) (1.0 - (double) c->beta1), a2 = (float) (1.0 - (double) c->beta2);
  float shrink = (float) (1.0 - (double) lr * wd);
  for (gsize i = 0; i < n; i++) {
    float d;
    if (decoupled) {
      w[i] = w[i] * shrink;
      d = penalised (g[i], w[i], 0, l1);
    } else {
      d = penalised (g[i], w[i], wd, l1);
    }
    m1[i] = m1[i] * b1 + a1 * d;
    m2[i] = m2[i] * b2 + a2 * (d * d);
    w[i] = w[i] + -step_size * (m1[i] / (sqrtf (m2[i]) / bc2_sqrt + c->eps));
  }
}

void
nerve_optimizer_step (NerveOptimizer *o, float lr)
{
  g_return_if_fail (o && o->m->grad);
  const NerveOptimConfig *c = &o->c;
  gboolean first = o->step == 0;
  o->step++;
  float *slot1 = o->state, *slot2 = o->n_slots > 1 ? o->state + o->m->n_floats : NULL;
  for (guint k = 0; k < o->slices->len; k++) {
    const Slice *s = &g_array_index (o->slices, Slice, k);
    float *w = o->m->arena + s->offset;
    const float *g = o->m->grad + s->offset;
    float wd = s->decay ? c->weight_decay : 0, l1 = s->decay ? c->l1 : 0;
    switch (c->type) {
    case NERVE_OPTIM_SGD:
      sgd (c, w, g, slot1 ? slot1 + s->offset : NULL, s->n, lr, wd, l1, first);
      break;
    case NERVE_OPTIM_ADAGRAD:
      adagrad (c, w, g, slot1 + s->offset, s->n, lr, wd, l1);
      break;
    case NERVE_OPTIM_ADAM:
    case NERVE_OPTIM_ADAMW:
      adam (c, w, g, slot1 + s->offset, slot2 + s->offset, s->n, lr, wd, l1, o->step);
      break;
    }
  }
}

const NerveOptimConfig *
nerve_optimizer_get_config (NerveOptimizer *o)
{
  return &o->c;
}

gsize
nerve_optimizer_state_size (NerveOptimizer *o)
{
  return (gsize) o->n_slots * o->m->n_floats;
}

float *
nerve_optimizer_state (NerveOptimizer *o)
{
  return o->state;
}

gint64
nerve_optimizer_get_step (NerveOptimizer *o)
{
  return o->step;
}

void
nerve_optimizer_set_step (NerveOptimizer *o, gint64 step)
{
  g_return_if_fail (step >= 0);
  o->step = step;
}

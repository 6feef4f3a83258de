/* conv1d (channels-last): im2row + GEMM kernels, the streaming step, the naive
 * reference loops, and the "conv1d" layer class. */
#include "conv1d.h"

#include <string.h>

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"

void
NK (nerve_conv1d_forward) (nreal *y,        /* [N,TO,O] */
                           nreal *work,     /* [nerve_conv1d_work_size] */
                           const nreal *x,  /* [N,T,C] */
                           const nreal *w,  /* [O,C/groups,k] */
                           const nreal *b,  /* [O] or NULL */
                           const NerveConv1dGeom *g, int N)
{
  const int O = g->O, Og = O / g->groups, Cg = g->C / g->groups, K = g->C * g->k, Kg = Cg * g->k;
  const gsize total = (gsize) N * g->TO;
  if (b)
    for (gsize r = 0; r < total; r++)
      memcpy (y + r * O, b, sizeof (nreal) * (gsize) O);
  const nreal beta = b ? 1 : 0;
  if (nerve_conv1d_is_pointwise (g)) {
    for (int gr = 0; gr < g->groups; gr++)
      NK (nerve_gemm) (FALSE, TRUE, (int) total, Og, Cg, 1, x + (gsize) gr * Cg, g->C,
                       w + (gsize) gr * Og * Cg, Cg, beta, y + (gsize) gr * Og, O);
    return;
  }
  const int rows = nerve_conv1d_chunk_rows (g, N);
  for (gsize r0 = 0; r0 < total; r0 += (gsize) rows) {
    const int m = (int) MIN ((gsize) rows, total - r0);
    NK (nerve_im2row_1d) (work, x, g, r0, m);
    for (int gr = 0; gr < g->groups; gr++)
      NK (nerve_gemm) (FALSE, TRUE, m, Og, Kg, 1, work + (gsize) gr * Kg, K, w + (gsize) gr * Og * Kg,
                       Kg, beta, y + r0 * O + (gsize) gr * Og, O);
  }
}

void
NK (nerve_conv1d_backward) (nreal *dx,       /* [N,T,C] or NULL */
                            nreal *dw,       /* [O,C/groups,k] or NULL */
                            nreal *db,       /* [O] or NULL */
                            nreal *work,     /* [nerve_conv1d_work_size] */
                            const nreal *dy, /* [N,TO,O] */
                            const nreal *x,  /* [N,T,C], needed for dw */
                            const nreal *w,  /* [O,C/groups,k], needed for dx */
                            const NerveConv1dGeom *g, int N)
{
  const int O = g->O, Og = O / g->groups, Cg = g->C / g->groups, K = g->C * g->k, Kg = Cg * g->k;
  const gsize total = (gsize) N * g->TO;
  if (db)
    for (gsize r = 0; r < total; r++)
      for (int o = 0; o < O; o++)
        db[o] += dy[r * O + o];
  if (nerve_conv1d_is_pointwise (g)) {
    for (int gr = 0; gr < g->groups; gr++) {
      if (dw)
        NK (nerve_gemm) (TRUE, FALSE, Og, Cg, (int) total, 1, dy + (gsize) gr * Og, O,
                         x + (gsize) gr * Cg, g->C, 1, dw + (gsize) gr * Og * Cg, Cg);
      if (dx)
        NK (nerve_gemm) (FALSE, FALSE, (int) total, Cg, Og, 1, dy + (gsize) gr * Og, O,
                         w + (gsize) gr * Og * Cg, Cg, 1, dx + (gsize) gr * Cg, g->C);
    }
    return;
  }
  const int rows = nerve_conv1d_chunk_rows (g, N);
  for (gsize r0 = 0; r0 < total && (dw || dx); r0 += (gsize) rows) {
    const int m = (int) MIN ((gsize) rows, total - r0);
    const nreal *d = dy + r0 * O;
    if (dw) {
      NK (nerve_im2row_1d) (work, x, g, r0, m);
      for (int gr = 0; gr < g->groups; gr++)
        NK (nerve_gemm) (TRUE, FALSE, Og, Kg, m, 1, d + (gsize) gr * Og, O, work + (gsize) gr * Kg, K, 1,
                         dw + (gsize) gr * Og * Kg, Kg);
    }
    if (dx) {
      for (int gr = 0; gr < g->groups; gr++)
        NK (nerve_gemm) (FALSE, FALSE, m, Kg, Og, 1, d + (gsize) gr * Og, O, w + (gsize) gr * Og * Kg, Kg,
                         0, work + (gsize) gr * Kg, K);
      NK (nerve_row2im_1d) (dx, work, g, r0, m);
    }
  }
}

void
NK (nerve_conv1d_step) (nreal *y,        /* [O] */
                        nreal *state,    /* [dilation*(k-1), C], updated */
                        const nreal *x,  /* [C] */
                        const nreal *w,  /* [O,C/groups,k] */
                        const nreal *b,  /* [O] or NULL */
                        const NerveConv1dGeom *g)
{
  const int C = g->C, k = g->k, Og = g->O / g->groups, Cg = C / g->groups;
  const int L = nerve_conv1d_state_frames (g);
  for (int o = 0; o < g->O; o++) {
    const nreal *wo = w + (gsize) o * Cg * k;
    const int c0 = o / Og * Cg;
    nreal acc = b ? b[o] : 0;
    for (int j = 0; j < k; j++) {
      /* tap j reads the frame (k-1-j)*dilation steps back: state row L - that */
      int f = L - (k - 1 - j) * g->dilation;
      const nreal *frame = f == L ? x : state + (gsize) f * C;
      for (int cl = 0; cl < Cg; cl++)
        acc += wo[cl * k + j] * frame[c0 + cl];
    }
    y[o] = acc;
  }
  if (L > 0) {
    memmove (state, state + C, sizeof (nreal) * (gsize) (L - 1) * C);
    memcpy (state + (gsize) (L - 1) * C, x, sizeof (nreal) * (gsize) C);
  }
}

void
NK (nerve_conv1d_forward_ref) (nreal *y, const nreal *x, const nreal *w, const nreal *b,
                               const NerveConv1dGeom *g, int N)
{
  const int Og = g->O / g->groups, Cg = g->C / g->groups;
  for (int n = 0; n < N; n++)
    for (int t = 0; t < g->TO; t++)
      for (int o = 0; o < g->O; o++) {
        nreal acc = b ? b[o] : 0;
        for (int cl = 0; cl < Cg; cl++)
          for (int j = 0; j < g->k; j++) {
            int ti = t * g->stride - g->pad + j * g->dilation;
            if (ti >= 0 && ti < g->T)
              acc += w[((gsize) o * Cg + cl) * g->k + j] *
                     x[((gsize) n * g->T + ti) * g->C + o / Og * Cg + cl];
          }
        y[((gsize) n * g->TO + t) * g->O + o] = acc;
      }
}

void
NK (nerve_conv1d_backward_ref) (nreal *dx, nreal *dw, nreal *db, const nreal *dy, const nreal *x,
                                const nreal *w, const NerveConv1dGeom *g, int N)
{
  const int Og = g->O / g->groups, Cg = g->C / g->groups;
  for (int n = 0; n < N; n++)
    for (int t = 0; t < g->TO; t++)
      for (int o = 0; o < g->O; o++) {
        nreal d = dy[((gsize) n * g->TO + t) * g->O + o];
        if (db)
          db[o] += d;
        for (int cl = 0; cl < Cg; cl++)
          for (int j = 0; j < g->k; j++) {
            int ti = t * g->stride - g->pad + j * g->dilation;
            if (ti < 0 || ti >= g->T)
              continue;
            gsize wi = ((gsize) o * Cg + cl) * g->k + j;
            gsize xi = ((gsize) n * g->T + ti) * g->C + o / Og * Cg + cl;
            if (dw)
              dw[wi] += d * x[xi];
            if (dx)
              dx[xi] += d * w[wi];
          }
      }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  NerveConv1dGeom g;
  gboolean bias, causal;
} Conv1d;

static gboolean
conv1d_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Conv1d *c = (Conv1d *) l;
  const NerveShape *s = &l->in_shape[0];
  static const char *const words[] = { "same", "causal", "valid", NULL };
  int filters, k, st, pad[2], dil, groups, word;
  if (!nerve_cfg_int (cfg, "filters", 0, 1, 1 << 20, &filters, error) ||
      !nerve_cfg_int (cfg, "kernel", 0, 1, 1 << 16, &k, error) ||
      !nerve_cfg_int (cfg, "stride", 1, 1, 1 << 16, &st, error) ||
      !nerve_conv_cfg_padding (cfg, FALSE, words, &word, pad, error) ||
      !nerve_cfg_int (cfg, "dilation", 1, 1, 1 << 16, &dil, error) ||
      !nerve_cfg_int (cfg, "groups", 1, 1, 1 << 20, &groups, error) ||
      !nerve_cfg_bool (cfg, "bias", TRUE, &c->bias, error))
    return FALSE;
  if (filters == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'filters' is required");
  if (k == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'kernel' is required");
  if (s->ndim != 2)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "expects a channels-last per-sample input [time, channels], got %d dimensions",
                              s->ndim);
  int T = s->dim[0], C = s->dim[1];
  if (C % groups || filters % groups)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "input channels (%d) and filters (%d) must both be divisible by groups (%d)",
                              C, filters, groups);
  if (word == 0 && st != 1)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                              "padding 'same' needs stride 1 (got %d); give the padding as a number", st);
  int span = dil * (k - 1), left = pad[0], right = pad[0];
  if (word == 0) /* PyTorch puts the odd frame of 'same' padding on the right */
    left = span / 2, right = span - left;
  else if (word == 1)
    left = span, right = 0;
  c->causal = word == 1;
  int e = T + left + right - span - 1;
  c->g = (NerveConv1dGeom) { C, T, filters, e < 0 ? 0 : e / st + 1, k, st, left, dil, groups };
  if (e < 0)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "kernel %d (dilation %d) is larger than the padded input of %d frames "
                              "(%d frames, padding %d+%d)",
                              k, dil, T + left + right, T, left, right);
  l->out_shape = nerve_shape_make (2, c->g.TO, filters);
  float bound = 1.0f / sqrtf ((float) (C / groups * k)); /* PyTorch's default */
  nerve_layer_add_param (l, "weight", nerve_shape_make (3, filters, C / groups, k), NERVE_INIT_UNIFORM,
                         bound, 0);
  if (c->bias)
    nerve_layer_add_param (l, "bias", nerve_shape_make (1, filters), NERVE_INIT_UNIFORM, bound,
                           NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static gsize
conv1d_cache_size (const NerveLayer *l, int batch)
{
  return nerve_conv1d_work_size (&((const Conv1d *) l)->g, batch);
}

static void
conv1d_forward (NerveLayer *l, NerveLayerIO *io)
{
  Conv1d *c = (Conv1d *) l;
  nerve_conv1d_forward (io->out, io->cache, io->in[0], l->params[0].data,
                        c->bias ? l->params[1].data : NULL, &c->g, io->batch);
}

static void
conv1d_backward (NerveLayer *l, NerveLayerIO *io)
{
  Conv1d *c = (Conv1d *) l;
  nerve_conv1d_backward (io->din[0], l->params[0].grad, c->bias ? l->params[1].grad : NULL, io->cache,
                         io->dout, io->in[0], l->params[0].data, &c->g, io->batch);
}

/* Streaming needs frame t's output to depend on frames <= t only, one for one. */
static gboolean
conv1d_can_step (const Conv1d *c)
{
  return (c->causal || c->g.k == 1) && c->g.stride == 1 && c->g.pad == nerve_conv1d_state_frames (&c->g);
}

static gsize
conv1d_state_size (const NerveLayer *l)
{
  const Conv1d *c = (const Conv1d *) l;
  return conv1d_can_step (c) ? (gsize) nerve_conv1d_state_frames (&c->g) * c->g.C : 0;
}

static void
conv1d_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Conv1d *c = (Conv1d *) l;
  if (!conv1d_can_step (c)) {
    g_critical ("layer '%s' (conv1d): streaming needs padding 'causal' and stride 1", l->name);
    return;
  }
  nerve_conv1d_step (out, state, in, l->params[0].data, c->bias ? l->params[1].data : NULL, &c->g);
}

static gboolean
conv1d_can_step_error (const NerveLayer *l, GError **error)
{
  if (conv1d_can_step ((const Conv1d *) l))
    return TRUE;
  return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                            "streaming needs padding 'causal' (or kernel 1) and stride 1: each output "
                            "frame must depend on that frame and earlier ones only");
}

const NerveLayerClass nerve_conv1d_class = {
  .type = "conv1d",
  .size = sizeof (Conv1d),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = conv1d_configure,
  .cache_size = conv1d_cache_size,
  .forward = conv1d_forward,
  .backward = conv1d_backward,
  .state_size = conv1d_state_size,
  .step = conv1d_step,
  .can_step = conv1d_can_step_error,
};
#endif

/* conv_transpose2d: run as conv2d's adjoint (GEMM + col2im), the naive scatter loops
 * it is checked against, and the "conv_transpose2d" layer class. */
#include "conv_transpose2d.h"

#include <string.h>

#include "../layer.h"
#include "../real.h"

void
NK (nerve_conv_transpose2d_forward) (nreal *y,        /* [N,O,OH,OW] */
                                     nreal *work,     /* [nerve_conv_transpose2d_work_size] */
                                     const nreal *x,  /* [N,C,H,W] */
                                     const nreal *w,  /* [C,O/groups,kh,kw] */
                                     const nreal *b,  /* [O] or NULL */
                                     const NerveConv2dGeom *t, int N)
{
  NerveConv2dGeom a = nerve_conv_transpose2d_adjoint (t);
  const gsize ohw = (gsize) t->OH * t->OW;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < t->O; o++) {
      nreal *yo = y + ((gsize) n * t->O + o) * ohw;
      nreal bo = b ? b[o] : 0;
      for (gsize p = 0; p < ohw; p++)
        yo[p] = bo;
    }
  NK (nerve_conv2d_backward) (y, NULL, NULL, work, x, NULL, w, &a, N);
}

void
NK (nerve_conv_transpose2d_backward) (nreal *dx,       /* [N,C,H,W] or NULL */
                                      nreal *dw,       /* [C,O/groups,kh,kw] or NULL */
                                      nreal *db,       /* [O] or NULL */
                                      nreal *work,     /* [nerve_conv_transpose2d_work_size] */
                                      const nreal *dy, /* [N,O,OH,OW] */
                                      const nreal *x,  /* [N,C,H,W], needed for dw */
                                      const nreal *w,  /* [C,O/groups,kh,kw], needed for dx */
                                      const NerveConv2dGeom *t, int N)
{
  NerveConv2dGeom a = nerve_conv_transpose2d_adjoint (t);
  if (dw) /* the adjoint's "output gradient" is our input x, its "input" our dy */
    NK (nerve_conv2d_backward) (NULL, dw, NULL, work, x, dy, w, &a, N);
  if (db) {
    const gsize ohw = (gsize) t->OH * t->OW;
    for (int n = 0; n < N; n++)
      for (int o = 0; o < t->O; o++) {
        const nreal *d = dy + ((gsize) n * t->O + o) * ohw;
        nreal s = 0;
        for (gsize p = 0; p < ohw; p++)
          s += d[p];
        db[o] += s;
      }
  }
  if (dx)
    NK (nerve_conv2d_forward_add) (dx, work, dy, w, &a, N);
}

/* Naive scatter: every input pixel adds its weighted kernel into the output. */
void
NK (nerve_conv_transpose2d_forward_ref) (nreal *y, const nreal *x, const nreal *w, const nreal *b,
                                         const NerveConv2dGeom *t, int N)
{
  const int Cg = t->C / t->groups, Og = t->O / t->groups;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < t->O; o++)
      for (int p = 0; p < t->OH * t->OW; p++)
        y[((gsize) n * t->O + o) * t->OH * t->OW + p] = b ? b[o] : 0;
  for (int n = 0; n < N; n++)
    for (int c = 0; c < t->C; c++)
      for (int ih = 0; ih < t->H; ih++)
        for (int iw = 0; iw < t->W; iw++) {
          nreal v = x[(((gsize) n * t->C + c) * t->H + ih) * t->W + iw];
          for (int ol = 0; ol < Og; ol++) {
            int o = c / Cg * Og + ol;
            for (int i = 0; i < t->kh; i++)
              for (int j = 0; j < t->kw; j++) {
                int oh = ih * t->sh - t->ph + i * t->dh, ow = iw * t->sw - t->pw + j * t->dw;
                if (oh >= 0 && oh < t->OH && ow >= 0 && ow < t->OW)
                  y[(((gsize) n * t->O + o) * t->OH + oh) * t->OW + ow] +=
                    v * w[(((gsize) c * Og + ol) * t->kh + i) * t->kw + j];
              }
          }
        }
}

void
NK (nerve_conv_transpose2d_backward_ref) (nreal *dx, nreal *dw, nreal *db, const nreal *dy,
                                          const nreal *x, const nreal *w, const NerveConv2dGeom *t, int N)
{
  const int Cg = t->C / t->groups, Og = t->O / t->groups;
  if (db)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < t->O; o++)
        for (int p = 0; p < t->OH * t->OW; p++)
          db[o] += dy[((gsize) n * t->O + o) * t->OH * t->OW + p];
  for (int n = 0; n < N; n++)
    for (int c = 0; c < t->C; c++)
      for (int ih = 0; ih < t->H; ih++)
        for (int iw = 0; iw < t->W; iw++) {
          gsize xi = (((gsize) n * t->C + c) * t->H + ih) * t->W + iw;
          for (int ol = 0; ol < Og; ol++) {
            int o = c / Cg * Og + ol;
            for (int i = 0; i < t->kh; i++)
              for (int j = 0; j < t->kw; j++) {
                int oh = ih * t->sh - t->ph + i * t->dh, ow = iw * t->sw - t->pw + j * t->dw;
                if (oh < 0 || oh >= t->OH || ow < 0 || ow >= t->OW)
                  continue;
                nreal d = dy[(((gsize) n * t->O + o) * t->OH + oh) * t->OW + ow];
                gsize wi = (((gsize) c * Og + ol) * t->kh + i) * t->kw + j;
                if (dx)
                  dx[xi] += d * w[wi];
                if (dw)
                  dw[wi] += d * x[xi];
              }
          }
        }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  NerveConv2dGeom t;
  gboolean bias;
} ConvT2d;

static gboolean
convt_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  ConvT2d *c = (ConvT2d *) l;
  const NerveShape *s = &l->in_shape[0];
  int filters, k[2], st[2], pad[2], op[2], dil[2], groups;
  if (!nerve_cfg_int (cfg, "filters", 0, 1, 1 << 20, &filters, error) ||
      !nerve_cfg_int2 (cfg, "kernel", 0, 1, 1 << 16, k, error) ||
      !nerve_cfg_int2 (cfg, "stride", 1, 1, 1 << 16, st, error) ||
      !nerve_cfg_int2 (cfg, "padding", 0, 0, 1 << 16, pad, error) ||
      !nerve_cfg_int2 (cfg, "output_padding", 0, 0, 1 << 16, op, error) ||
      !nerve_cfg_int2 (cfg, "dilation", 1, 1, 1 << 16, dil, error) ||
      !nerve_cfg_int (cfg, "groups", 1, 1, 1 << 20, &groups, error) ||
      !nerve_cfg_bool (cfg, "bias", TRUE, &c->bias, error))
    return FALSE;
  if (filters == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'filters' is required");
  if (k[0] == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'kernel' is required");
  if (s->ndim != 3)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "expects a per-sample input [channels, height, width], got %d dimensions",
                              s->ndim);
  int C = s->dim[0];
  if (C % groups || filters % groups)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "input channels (%d) and filters (%d) must both be divisible by groups (%d)",
                              C, filters, groups);
  for (int d = 0; d < 2; d++)
    if (op[d] >= st[d] && op[d] >= dil[d])
      return nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                                "output_padding (%d) must be smaller than the stride (%d) or the dilation (%d)",
                                op[d], st[d], dil[d]);
  c->t = nerve_conv_transpose2d_geom (C, s->dim[1], s->dim[2], filters, k[0], k[1], st[0], st[1], pad[0],
                                      pad[1], op[0], op[1], dil[0], dil[1], groups);
  if (c->t.OH <= 0 || c->t.OW <= 0)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "output would be %dx%d: padding %dx%d is too large for input %dx%d and kernel %dx%d",
                              c->t.OH, c->t.OW, pad[0], pad[1], s->dim[1], s->dim[2], k[0], k[1]);
  l->out_shape = nerve_shape_make (3, filters, c->t.OH, c->t.OW);
  /* PyTorch computes the fan-in from the weight's dim 1: (O/groups)*kh*kw */
  float bound = 1.0f / sqrtf ((float) (filters / groups * k[0] * k[1]));
  nerve_layer_add_param (l, "weight", nerve_shape_make (4, C, filters / groups, k[0], k[1]),
                         NERVE_INIT_UNIFORM, bound, 0);
  if (c->bias)
    nerve_layer_add_param (l, "bias", nerve_shape_make (1, filters), NERVE_INIT_UNIFORM, bound,
                           NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static gsize
convt_cache_size (const NerveLayer *l, int batch)
{
  return nerve_conv_transpose2d_work_size (&((const ConvT2d *) l)->t, batch);
}

static void
convt_forward (NerveLayer *l, NerveLayerIO *io)
{
  ConvT2d *c = (ConvT2d *) l;
  nerve_conv_transpose2d_forward (io->out, io->cache, io->in[0], l->params[0].data,
                                  c->bias ? l->params[1].data : NULL, &c->t, io->batch);
}

static void
convt_backward (NerveLayer *l, NerveLayerIO *io)
{
  ConvT2d *c = (ConvT2d *) l;
  nerve_conv_transpose2d_backward (io->din[0], l->params[0].grad, c->bias ? l->params[1].grad : NULL,
                                   io->cache, io->dout, io->in[0], l->params[0].data, &c->t, io->batch);
}

const NerveLayerClass nerve_conv_transpose2d_class = {
  .type = "conv_transpose2d",
  .size = sizeof (ConvT2d),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = convt_configure,
  .cache_size = convt_cache_size,
  .forward = convt_forward,
  .backward = convt_backward,
};
#endif

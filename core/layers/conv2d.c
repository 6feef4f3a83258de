/* conv2d: im2col + GEMM kernels, direct loops for one input channel per group, the
 * naive reference loops, and the "conv2d" layer class. */
#include "conv2d.h"

#include <string.h>

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"

/* Sum and dot product with 16 partial sums, so they vectorize without -ffast-math. */
static nreal
sum_n (const nreal *a, int n)
{
  nreal acc[16] = { 0 };
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += a[i + l];
  nreal s = 0;
  for (; i < n; i++)
    s += a[i];
  for (int l = 0; l < 16; l++)
    s += acc[l];
  return s;
}

static nreal
dot_n (const nreal *a, const nreal *b, int n)
{
  nreal acc[16] = { 0 };
  int i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; l++)
      acc[l] += a[i + l] * b[i + l];
  nreal s = 0;
  for (; i < n; i++)
    s += a[i] * b[i];
  for (int l = 0; l < 16; l++)
    s += acc[l];
  return s;
}

/* One input channel per group: output channel o reads input channel o / (O/groups).
 * Each kernel tap is a shifted multiply-add over whole rows. */
static void
direct_forward (nreal *y, gboolean accumulate, const nreal *x, const nreal *w, const nreal *b,
                const NerveConv2dGeom *g, int N)
{
  const int ohw = g->OH * g->OW, hw = g->H * g->W, Og = g->O / g->groups;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < g->O; o++) {
      nreal *yo = y + ((gsize) n * g->O + o) * ohw;
      const nreal *xc = x + ((gsize) n * g->C + o / Og) * hw;
      if (!accumulate) {
        nreal bo = b ? b[o] : 0;
        for (int p = 0; p < ohw; p++)
          yo[p] = bo;
      }
      for (int i = 0; i < g->kh; i++) {
        int ilo, ihi;
        nerve_conv_valid_range (g->OH, g->sh, i * g->dh - g->ph, g->H, &ilo, &ihi);
        for (int j = 0; j < g->kw; j++) {
          int jlo, jhi, off = j * g->dw - g->pw;
          nerve_conv_valid_range (g->OW, g->sw, off, g->W, &jlo, &jhi);
          const nreal wv = w[((gsize) o * g->kh + i) * g->kw + j];
          for (int oh = ilo; oh < ihi; oh++) {
            nreal *dst = yo + (gsize) oh * g->OW;
            const nreal *src = xc + (gsize) (oh * g->sh + i * g->dh - g->ph) * g->W + off;
            if (g->sw == 1)
              for (int ow = jlo; ow < jhi; ow++)
                dst[ow] += wv * src[ow];
            else
              for (int ow = jlo; ow < jhi; ow++)
                dst[ow] += wv * src[ow * g->sw];
          }
        }
      }
    }
}

static void
direct_backward (nreal *dx, nreal *dw, nreal *db, const nreal *dy, const nreal *x, const nreal *w,
                 const NerveConv2dGeom *g, int N)
{
  const int ohw = g->OH * g->OW, hw = g->H * g->W, Og = g->O / g->groups;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < g->O; o++) {
      const nreal *dyo = dy + ((gsize) n * g->O + o) * ohw;
      gsize xoff = ((gsize) n * g->C + o / Og) * hw;
      if (db)
        db[o] += sum_n (dyo, ohw);
      for (int i = 0; i < g->kh; i++) {
        int ilo, ihi;
        nerve_conv_valid_range (g->OH, g->sh, i * g->dh - g->ph, g->H, &ilo, &ihi);
        for (int j = 0; j < g->kw; j++) {
          int jlo, jhi, off = j * g->dw - g->pw;
          nerve_conv_valid_range (g->OW, g->sw, off, g->W, &jlo, &jhi);
          gsize wi = ((gsize) o * g->kh + i) * g->kw + j;
          nreal acc = 0;
          for (int oh = ilo; oh < ihi; oh++) {
            const nreal *d = dyo + (gsize) oh * g->OW;
            gsize row = xoff + (gsize) (oh * g->sh + i * g->dh - g->ph) * g->W + off;
            if (dw) {
              if (g->sw == 1)
                acc += dot_n (d + jlo, x + row + jlo, jhi - jlo);
              else
                for (int ow = jlo; ow < jhi; ow++)
                  acc += d[ow] * x[row + (gsize) ow * g->sw];
            }
            if (dx) {
              nreal *dst = dx + row;
              const nreal wv = w[wi];
              if (g->sw == 1)
                for (int ow = jlo; ow < jhi; ow++)
                  dst[ow] += wv * d[ow];
              else
                for (int ow = jlo; ow < jhi; ow++)
                  dst[ow * g->sw] += wv * d[ow];
            }
          }
          if (dw)
            dw[wi] += acc;
        }
      }
    }
}

static gboolean
is_pointwise (const NerveConv2dGeom *g)
{
  return g->kh == 1 && g->kw == 1 && g->sh == 1 && g->sw == 1 && g->ph == 0 && g->pw == 0 &&
         g->OH == g->H && g->OW == g->W;
}

/* Columns of samples n0..n0+m side by side: [C*kh*kw, m*OH*OW]. */
static void
im2col_chunk (nreal *cols, const nreal *x, const NerveConv2dGeom *g, int n0, int m)
{
  const int ohw = g->OH * g->OW, ld = m * ohw;
  for (int i = 0; i < m; i++)
    NK (nerve_im2col) (cols + (gsize) i * ohw, x + (gsize) (n0 + i) * g->C * g->H * g->W, g, ld);
}

static void
conv2d_apply (nreal *y, gboolean accumulate, nreal *work, const nreal *x, const nreal *w,
              const nreal *b, const NerveConv2dGeom *g, int N)
{
  if (nerve_conv2d_is_direct (g)) {
    direct_forward (y, accumulate, x, w, b, g, N);
    return;
  }
  const int ohw = g->OH * g->OW, Og = g->O / g->groups, Cg = g->C / g->groups;
  const int Kg = Cg * g->kh * g->kw, K = g->C * g->kh * g->kw;
  const gsize xs = (gsize) g->C * g->H * g->W, ys = (gsize) g->O * ohw;
  const int nb = nerve_conv2d_chunk (g, N);
  nreal *cols = work, *tmp = work + (gsize) K * nb * ohw;
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int m = MIN (nb, N - n0), ld = m * ohw;
    const nreal *B = cols;
    if (m == 1 && is_pointwise (g))
      B = x + (gsize) n0 * xs;
    else
      im2col_chunk (cols, x, g, n0, m);
    if (m == 1) { /* straight into y */
      nreal *yn = y + (gsize) n0 * ys;
      if (!accumulate && b)
        for (int o = 0; o < g->O; o++)
          for (int p = 0; p < ohw; p++)
            yn[(gsize) o * ohw + p] = b[o];
      nreal beta = accumulate || b ? 1 : 0;
      for (int gr = 0; gr < g->groups; gr++)
        NK (nerve_gemm) (FALSE, FALSE, Og, ohw, Kg, 1, w + (gsize) gr * Og * Kg, Kg,
                         B + (gsize) gr * Kg * ld, ld, beta, yn + (gsize) gr * Og * ohw, ohw);
      continue;
    }
    for (int gr = 0; gr < g->groups; gr++)
      NK (nerve_gemm) (FALSE, FALSE, Og, ld, Kg, 1, w + (gsize) gr * Og * Kg, Kg,
                       B + (gsize) gr * Kg * ld, ld, 0, tmp + (gsize) gr * Og * ld, ld);
    /* tmp is [O, m, OH*OW]: move each sample's rows into NCHW */
    for (int i = 0; i < m; i++)
      for (int o = 0; o < g->O; o++) {
        nreal *dst = y + (gsize) (n0 + i) * ys + (gsize) o * ohw;
        const nreal *src = tmp + (gsize) o * ld + (gsize) i * ohw;
        if (accumulate)
          for (int p = 0; p < ohw; p++)
            dst[p] += src[p];
        else {
          nreal bo = b ? b[o] : 0;
          for (int p = 0; p < ohw; p++)
            dst[p] = src[p] + bo;
        }
      }
  }
}

void
NK (nerve_conv2d_forward) (nreal *y,        /* [N,O,OH,OW] */
                           nreal *work,     /* [nerve_conv2d_work_size] */
                           const nreal *x,  /* [N,C,H,W] */
                           const nreal *w,  /* [O,C/groups,kh,kw] */
                           const nreal *b,  /* [O] or NULL */
                           const NerveConv2dGeom *g, int N)
{
  conv2d_apply (y, FALSE, work, x, w, b, g, N);
}

void
NK (nerve_conv2d_forward_add) (nreal *y,        /* [N,O,OH,OW], accumulated */
                               nreal *work,     /* [nerve_conv2d_work_size] */
                               const nreal *x,  /* [N,C,H,W] */
                               const nreal *w,  /* [O,C/groups,kh,kw] */
                               const NerveConv2dGeom *g, int N)
{
  conv2d_apply (y, TRUE, work, x, w, NULL, g, N);
}

void
NK (nerve_conv2d_backward) (nreal *dx,       /* [N,C,H,W] or NULL */
                            nreal *dw,       /* [O,C/groups,kh,kw] or NULL */
                            nreal *db,       /* [O] or NULL */
                            nreal *work,     /* [nerve_conv2d_work_size] */
                            const nreal *dy, /* [N,O,OH,OW] */
                            const nreal *x,  /* [N,C,H,W], needed for dw */
                            const nreal *w,  /* [O,C/groups,kh,kw], needed for dx */
                            const NerveConv2dGeom *g, int N)
{
  if (nerve_conv2d_is_direct (g)) {
    direct_backward (dx, dw, db, dy, x, w, g, N);
    return;
  }
  const int ohw = g->OH * g->OW, Og = g->O / g->groups, Cg = g->C / g->groups;
  const int Kg = Cg * g->kh * g->kw, K = g->C * g->kh * g->kw;
  const gsize xs = (gsize) g->C * g->H * g->W, ys = (gsize) g->O * ohw;
  if (db)
    for (int n = 0; n < N; n++)
      for (int o = 0; o < g->O; o++)
        db[o] += sum_n (dy + (gsize) n * ys + (gsize) o * ohw, ohw);
  if (!dx && !dw)
    return;
  const int nb = nerve_conv2d_chunk (g, N);
  nreal *cols = work, *dyt = work + (gsize) K * nb * ohw;
  const gboolean pw = is_pointwise (g);
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int m = MIN (nb, N - n0), ld = m * ohw;
    const nreal *D = dy + (gsize) n0 * ys;
    if (m > 1) { /* gather the chunk's gradients as [O, m*OH*OW] */
      for (int i = 0; i < m; i++)
        for (int o = 0; o < g->O; o++)
          memcpy (dyt + (gsize) o * ld + (gsize) i * ohw, dy + (gsize) (n0 + i) * ys + (gsize) o * ohw,
                  sizeof (nreal) * (gsize) ohw);
      D = dyt;
    }
    if (dw) {
      const nreal *B = cols;
      if (m == 1 && pw)
        B = x + (gsize) n0 * xs;
      else
        im2col_chunk (cols, x, g, n0, m);
      for (int gr = 0; gr < g->groups; gr++)
        NK (nerve_gemm) (FALSE, TRUE, Og, Kg, ld, 1, D + (gsize) gr * Og * ld, ld,
                         B + (gsize) gr * Kg * ld, ld, 1, dw + (gsize) gr * Og * Kg, Kg);
    }
    if (!dx)
      continue;
    if (m == 1 && pw) {
      for (int gr = 0; gr < g->groups; gr++)
        NK (nerve_gemm) (TRUE, FALSE, Kg, ohw, Og, 1, w + (gsize) gr * Og * Kg, Kg,
                         D + (gsize) gr * Og * ld, ld, 1, dx + (gsize) n0 * xs + (gsize) gr * Cg * ohw, ohw);
      continue;
    }
    for (int gr = 0; gr < g->groups; gr++)
      NK (nerve_gemm) (TRUE, FALSE, Kg, ld, Og, 1, w + (gsize) gr * Og * Kg, Kg,
                       D + (gsize) gr * Og * ld, ld, 0, cols + (gsize) gr * Kg * ld, ld);
    for (int i = 0; i < m; i++)
      NK (nerve_col2im) (dx + (gsize) (n0 + i) * xs, cols + (gsize) i * ohw, g, ld);
  }
}

/* The naive loops: one multiply-add per (sample, output, input channel, tap). */
void
NK (nerve_conv2d_forward_ref) (nreal *y, const nreal *x, const nreal *w, const nreal *b,
                               const NerveConv2dGeom *g, int N)
{
  const int Og = g->O / g->groups, Cg = g->C / g->groups;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < g->O; o++)
      for (int oh = 0; oh < g->OH; oh++)
        for (int ow = 0; ow < g->OW; ow++) {
          nreal acc = b ? b[o] : 0;
          for (int cl = 0; cl < Cg; cl++) {
            int c = o / Og * Cg + cl;
            for (int i = 0; i < g->kh; i++)
              for (int j = 0; j < g->kw; j++) {
                int ih = oh * g->sh - g->ph + i * g->dh, iw = ow * g->sw - g->pw + j * g->dw;
                if (ih >= 0 && ih < g->H && iw >= 0 && iw < g->W)
                  acc += w[(((gsize) o * Cg + cl) * g->kh + i) * g->kw + j] *
                         x[(((gsize) n * g->C + c) * g->H + ih) * g->W + iw];
              }
          }
          y[(((gsize) n * g->O + o) * g->OH + oh) * g->OW + ow] = acc;
        }
}

void
NK (nerve_conv2d_backward_ref) (nreal *dx, nreal *dw, nreal *db, const nreal *dy, const nreal *x,
                                const nreal *w, const NerveConv2dGeom *g, int N)
{
  const int Og = g->O / g->groups, Cg = g->C / g->groups;
  for (int n = 0; n < N; n++)
    for (int o = 0; o < g->O; o++)
      for (int oh = 0; oh < g->OH; oh++)
        for (int ow = 0; ow < g->OW; ow++) {
          nreal d = dy[(((gsize) n * g->O + o) * g->OH + oh) * g->OW + ow];
          if (db)
            db[o] += d;
          for (int cl = 0; cl < Cg; cl++) {
            int c = o / Og * Cg + cl;
            for (int i = 0; i < g->kh; i++)
              for (int j = 0; j < g->kw; j++) {
                int ih = oh * g->sh - g->ph + i * g->dh, iw = ow * g->sw - g->pw + j * g->dw;
                if (ih < 0 || ih >= g->H || iw < 0 || iw >= g->W)
                  continue;
                gsize wi = (((gsize) o * Cg + cl) * g->kh + i) * g->kw + j;
                gsize xi = (((gsize) n * g->C + c) * g->H + ih) * g->W + iw;
                if (dw)
                  dw[wi] += d * x[xi];
                if (dx)
                  dx[xi] += d * w[wi];
              }
          }
        }
}

#ifndef NERVE_F64
#include "../layer-private.h"

gboolean
nerve_conv_cfg_padding (NerveCfg *cfg, gboolean pair, const char *const *words, int *word,
                        int pad[2], GError **error)
{
  *word = -1;
  JsonNode *n = nerve_cfg_has (cfg, "padding") ? json_object_get_member (cfg->obj, "padding") : NULL;
  if (n && JSON_NODE_HOLDS_VALUE (n) && json_node_get_value_type (n) == G_TYPE_STRING) {
    pad[0] = pad[1] = 0;
    return nerve_cfg_enum (cfg, "padding", words[0], words, word, error);
  }
  if (pair)
    return nerve_cfg_int2 (cfg, "padding", 0, 0, 1 << 16, pad, error);
  if (!nerve_cfg_int (cfg, "padding", 0, 0, 1 << 16, &pad[0], error))
    return FALSE;
  pad[1] = pad[0];
  return TRUE;
}

typedef struct {
  NerveLayer parent;
  NerveConv2dGeom g;
  gboolean bias;
} Conv2d;

static gboolean
conv2d_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Conv2d *c = (Conv2d *) l;
  const NerveShape *s = &l->in_shape[0];
  static const char *const words[] = { "same", "valid", NULL };
  int filters, k[2], st[2], pad[2], dil[2], groups, word;
  if (!nerve_cfg_int (cfg, "filters", 0, 1, 1 << 20, &filters, error) ||
      !nerve_cfg_int2 (cfg, "kernel", 0, 1, 1 << 16, k, error) ||
      !nerve_cfg_int2 (cfg, "stride", 1, 1, 1 << 16, st, error) ||
      !nerve_conv_cfg_padding (cfg, TRUE, words, &word, pad, error) ||
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
  int C = s->dim[0], H = s->dim[1], W = s->dim[2];
  if (C % groups || filters % groups)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "input channels (%d) and filters (%d) must both be divisible by groups (%d)",
                              C, filters, groups);
  if (word == 0 && (st[0] != 1 || st[1] != 1))
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                              "padding 'same' needs stride 1 (got %dx%d); give the padding as numbers",
                              st[0], st[1]);
  c->g = nerve_conv2d_geom (C, H, W, filters, k[0], k[1], st[0], st[1], pad[0], pad[1], dil[0], dil[1], groups);
  if (word == 0) { /* PyTorch puts the odd pixel of 'same' padding at the bottom/right */
    c->g.ph = dil[0] * (k[0] - 1) / 2, c->g.pw = dil[1] * (k[1] - 1) / 2;
    c->g.OH = H, c->g.OW = W;
  }
  if (c->g.OH <= 0 || c->g.OW <= 0)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "kernel %dx%d (dilation %dx%d) is larger than the padded input %dx%d "
                              "(input %dx%d, padding %dx%d)",
                              k[0], k[1], dil[0], dil[1], H + 2 * pad[0], W + 2 * pad[1], H, W, pad[0], pad[1]);
  l->out_shape = nerve_shape_make (3, filters, c->g.OH, c->g.OW);
  int fan_in = C / groups * k[0] * k[1];
  float bound = 1.0f / sqrtf ((float) fan_in); /* PyTorch's kaiming_uniform(a=sqrt(5)) */
  nerve_layer_add_param (l, "weight", nerve_shape_make (4, filters, C / groups, k[0], k[1]),
                         NERVE_INIT_UNIFORM, bound, 0);
  if (c->bias)
    nerve_layer_add_param (l, "bias", nerve_shape_make (1, filters), NERVE_INIT_UNIFORM, bound,
                           NERVE_PARAM_NO_DECAY);
  return TRUE;
}

static gsize
conv2d_cache_size (const NerveLayer *l, int batch)
{
  return nerve_conv2d_work_size (&((const Conv2d *) l)->g, batch);
}

static void
conv2d_forward (NerveLayer *l, NerveLayerIO *io)
{
  Conv2d *c = (Conv2d *) l;
  nerve_conv2d_forward (io->out, io->cache, io->in[0], l->params[0].data,
                        c->bias ? l->params[1].data : NULL, &c->g, io->batch);
}

static void
conv2d_backward (NerveLayer *l, NerveLayerIO *io)
{
  Conv2d *c = (Conv2d *) l;
  nerve_conv2d_backward (io->din[0], l->params[0].grad, c->bias ? l->params[1].grad : NULL, io->cache,
                         io->dout, io->in[0], l->params[0].data, &c->g, io->batch);
}

const NerveLayerClass nerve_conv2d_class = {
  .type = "conv2d",
  .size = sizeof (Conv2d),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = conv2d_configure,
  .cache_size = conv2d_cache_size,
  .forward = conv2d_forward,
  .backward = conv2d_backward,
};
#endif

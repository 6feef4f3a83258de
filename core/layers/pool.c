/* Pooling layers: maxpool2d, avgpool2d, global_avgpool, global_maxpool, time_pool. */
#include "pool.h"

#include "../layer.h"
#include "../real.h"
#include "reduce.h"

/* 2×2 windows, stride 2, no padding: the CNN case. Straight-line compares the
 * compiler turns into selects, first maximum kept on ties like the plain loop. */
static void
maxpool_2x2 (nreal *y, int *idx, const nreal *x, int P, const NervePool2d *g)
{
  const int H = g->H, W = g->W, Ho = g->Ho, Wo = g->Wo;
  for (int p = 0; p < P; p++) {
    const nreal *xp = x + (gsize) p * H * W;
    for (int oh = 0; oh < Ho; oh++) {
      const nreal *r0 = xp + (gsize) 2 * oh * W, *r1 = r0 + W;
      nreal *yr = y + ((gsize) p * Ho + oh) * Wo;
      int *ir = idx + ((gsize) p * Ho + oh) * Wo;
      const int base = 2 * oh * W;
      for (int ow = 0; ow < Wo; ow++) {
        nreal m = r0[2 * ow];
        int k = 2 * ow;
        if (r0[2 * ow + 1] > m)
          m = r0[2 * ow + 1], k = 2 * ow + 1;
        if (r1[2 * ow] > m)
          m = r1[2 * ow], k = W + 2 * ow;
        if (r1[2 * ow + 1] > m)
          m = r1[2 * ow + 1], k = W + 2 * ow + 1;
        yr[ow] = m;
        ir[ow] = base + k;
      }
    }
  }
}

void
NK (nerve_maxpool2d_forward_ref) (nreal *y,       /* [P,Ho,Wo] */
                                  int *idx,       /* [P,Ho,Wo] in-plane position of the max */
                                  const nreal *x, /* [P,H,W] */
                                  int P, const NervePool2d *g)
{
  const int H = g->H, W = g->W;
  for (int p = 0; p < P; p++) {
    const nreal *xp = x + (gsize) p * H * W;
    for (int oh = 0; oh < g->Ho; oh++) {
      int h0 = oh * g->sh - g->ph, h1 = MIN (h0 + g->kh, H);
      h0 = MAX (h0, 0);
      for (int ow = 0; ow < g->Wo; ow++) {
        int w0 = ow * g->sw - g->pw, w1 = MIN (w0 + g->kw, W);
        w0 = MAX (w0, 0);
        nreal m = (nreal) -INFINITY;
        int k = h0 * W + w0;
        for (int h = h0; h < h1; h++)
          for (int w = w0; w < w1; w++)
            if (xp[h * W + w] > m)
              m = xp[h * W + w], k = h * W + w;
        gsize o = ((gsize) p * g->Ho + oh) * g->Wo + ow;
        y[o] = m;
        idx[o] = k;
      }
    }
  }
}

void
NK (nerve_maxpool2d_forward) (nreal *y,       /* [P,Ho,Wo] */
                              int *idx,       /* [P,Ho,Wo] */
                              const nreal *x, /* [P,H,W] */
                              int P, const NervePool2d *g)
{
  if (g->kh == 2 && g->kw == 2 && g->sh == 2 && g->sw == 2 && g->ph == 0 && g->pw == 0)
    maxpool_2x2 (y, idx, x, P, g);
  else
    NK (nerve_maxpool2d_forward_ref) (y, idx, x, P, g);
}

void
NK (nerve_maxpool2d_backward) (nreal *dx,       /* [P,H,W] */
                               const nreal *dy, /* [P,Ho,Wo] */
                               const int *idx,  /* [P,Ho,Wo] */
                               int P, const NervePool2d *g)
{
  const gsize S = (gsize) g->H * g->W, So = (gsize) g->Ho * g->Wo;
  for (int p = 0; p < P; p++) {
    nreal *dxp = dx + p * S;
    const nreal *dyp = dy + p * So;
    const int *ip = idx + p * So;
    for (gsize o = 0; o < So; o++)
      dxp[ip[o]] += dyp[o];
  }
}

void
NK (nerve_avgpool2d_forward) (nreal *y,       /* [P,Ho,Wo] */
                              const nreal *x, /* [P,H,W] */
                              int P, const NervePool2d *g)
{
  const int H = g->H, W = g->W;
  const nreal inv = 1 / (nreal) (g->kh * g->kw); /* padding counts: always the full window */
  for (int p = 0; p < P; p++) {
    const nreal *xp = x + (gsize) p * H * W;
    for (int oh = 0; oh < g->Ho; oh++) {
      int h0 = oh * g->sh - g->ph, h1 = MIN (h0 + g->kh, H);
      h0 = MAX (h0, 0);
      for (int ow = 0; ow < g->Wo; ow++) {
        int w0 = ow * g->sw - g->pw, w1 = MIN (w0 + g->kw, W);
        w0 = MAX (w0, 0);
        nreal s = 0;
        for (int h = h0; h < h1; h++)
          for (int w = w0; w < w1; w++)
            s += xp[h * W + w];
        y[((gsize) p * g->Ho + oh) * g->Wo + ow] = s * inv;
      }
    }
  }
}

void
NK (nerve_avgpool2d_backward) (nreal *dx,       /* [P,H,W] */
                               const nreal *dy, /* [P,Ho,Wo] */
                               int P, const NervePool2d *g)
{
  const int H = g->H, W = g->W;
  const nreal inv = 1 / (nreal) (g->kh * g->kw);
  for (int p = 0; p < P; p++) {
    nreal *dxp = dx + (gsize) p * H * W;
    for (int oh = 0; oh < g->Ho; oh++) {
      int h0 = oh * g->sh - g->ph, h1 = MIN (h0 + g->kh, H);
      h0 = MAX (h0, 0);
      for (int ow = 0; ow < g->Wo; ow++) {
        int w0 = ow * g->sw - g->pw, w1 = MIN (w0 + g->kw, W);
        w0 = MAX (w0, 0);
        nreal d = dy[((gsize) p * g->Ho + oh) * g->Wo + ow] * inv;
        for (int h = h0; h < h1; h++)
          for (int w = w0; w < w1; w++)
            dxp[h * W + w] += d;
      }
    }
  }
}

void
NK (nerve_global_avgpool_forward) (nreal *y,       /* [P] */
                                   const nreal *x, /* [P,S] */
                                   int P, int S)
{
  const nreal inv = 1 / (nreal) S;
  for (int p = 0; p < P; p++)
    y[p] = nerve_red_sum (x + (gsize) p * S, S) * inv;
}

void
NK (nerve_global_avgpool_backward) (nreal *dx,       /* [P,S] */
                                    const nreal *dy, /* [P] */
                                    int P, int S)
{
  const nreal inv = 1 / (nreal) S;
  for (int p = 0; p < P; p++) {
    nreal d = dy[p] * inv, *dxp = dx + (gsize) p * S;
    for (int i = 0; i < S; i++)
      dxp[i] += d;
  }
}

void
NK (nerve_global_maxpool_forward) (nreal *y,       /* [P] */
                                   int *idx,       /* [P] position of the max in its plane */
                                   const nreal *x, /* [P,S] */
                                   int P, int S)
{
  for (int p = 0; p < P; p++) {
    const nreal *xp = x + (gsize) p * S;
    nreal m = nerve_red_max (xp, S);
    int k = 0;
    while (k < S - 1 && !(xp[k] == m)) /* first maximum, as PyTorch */
      k++;
    y[p] = m;
    idx[p] = k;
  }
}

void
NK (nerve_global_maxpool_backward) (nreal *dx,       /* [P,S] */
                                    const nreal *dy, /* [P] */
                                    const int *idx,  /* [P] */
                                    int P, int S)
{
  for (int p = 0; p < P; p++)
    dx[(gsize) p * S + idx[p]] += dy[p];
}

static inline int
valid_steps (const int *lengths, int n, int T)
{
  return lengths ? CLAMP (lengths[n], 0, T) : T;
}

void
NK (nerve_time_pool_forward) (nreal *y,           /* [N,F] */
                              int *idx,           /* [N,F] step of the max; MAX only */
                              const nreal *x,     /* [N,T,F] */
                              const int *lengths, /* [N] or NULL */
                              int N, int T, int F, NerveTimePool mode)
{
  for (int n = 0; n < N; n++) {
    const int len = valid_steps (lengths, n, T);
    const nreal *xn = x + (gsize) n * T * F;
    nreal *yn = y + (gsize) n * F;
    if (mode == NERVE_TIME_POOL_MEAN) {
      for (int f = 0; f < F; f++)
        yn[f] = 0;
      for (int t = 0; t < len; t++)
        for (int f = 0; f < F; f++)
          yn[f] += xn[(gsize) t * F + f];
      const nreal inv = len ? 1 / (nreal) len : 0;
      for (int f = 0; f < F; f++)
        yn[f] *= inv;
    } else {
      int *in = idx + (gsize) n * F;
      for (int f = 0; f < F; f++) {
        yn[f] = len ? xn[f] : 0;
        in[f] = len ? 0 : -1;
      }
      for (int t = 1; t < len; t++)
        for (int f = 0; f < F; f++) {
          nreal v = xn[(gsize) t * F + f];
          in[f] = v > yn[f] ? t : in[f];
          yn[f] = v > yn[f] ? v : yn[f];
        }
    }
  }
}

void
NK (nerve_time_pool_backward) (nreal *dx,          /* [N,T,F] */
                               const nreal *dy,    /* [N,F] */
                               const int *idx,     /* [N,F] MAX only */
                               const int *lengths, /* [N] or NULL */
                               int N, int T, int F, NerveTimePool mode)
{
  for (int n = 0; n < N; n++) {
    const int len = valid_steps (lengths, n, T);
    nreal *dxn = dx + (gsize) n * T * F;
    const nreal *dyn = dy + (gsize) n * F;
    if (mode == NERVE_TIME_POOL_MEAN) {
      const nreal inv = len ? 1 / (nreal) len : 0;
      for (int t = 0; t < len; t++)
        for (int f = 0; f < F; f++)
          dxn[(gsize) t * F + f] += dyn[f] * inv;
    } else {
      const int *in = idx + (gsize) n * F;
      for (int f = 0; f < F; f++)
        if (in[f] >= 0)
          dxn[(gsize) in[f] * F + f] += dyn[f];
    }
  }
}

#ifndef NERVE_F64
NervePool2d
nerve_pool2d_make (int H, int W, int kh, int kw, int sh, int sw, int ph, int pw)
{
  return (NervePool2d) { .H = H, .W = W, .kh = kh, .kw = kw, .sh = sh, .sw = sw, .ph = ph, .pw = pw,
                         .Ho = (H + 2 * ph - kh) / sh + 1, .Wo = (W + 2 * pw - kw) / sw + 1 };
}

typedef struct {
  NerveLayer parent;
  NervePool2d g;
  int planes; /* per sample: C for 2-D and global pooling */
  int T, F;   /* time_pool */
  NerveTimePool mode;
} Pool;

static gboolean
pool_is (const NerveLayer *l, const char *type)
{
  return g_str_equal (l->klass->type, type);
}

static gboolean
pool2d_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Pool *p = (Pool *) l;
  const NerveShape *s = &l->in_shape[0];
  int k[2], st[2], pad[2];
  char buf[64];
  if (!nerve_cfg_int2 (cfg, "kernel", 0, 1, 1 << 16, k, error) ||
      !nerve_cfg_int2 (cfg, "stride", 0, 1, 1 << 16, st, error) ||
      !nerve_cfg_int2 (cfg, "padding", 0, 0, 1 << 16, pad, error))
    return FALSE;
  if (k[0] == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'kernel' is required");
  if (st[0] == 0) /* stride defaults to the window, as in PyTorch */
    st[0] = k[0], st[1] = k[1];
  if (pad[0] > k[0] / 2 || pad[1] > k[1] / 2)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                              "'padding' [%d,%d] must be at most half of 'kernel' [%d,%d]", pad[0],
                              pad[1], k[0], k[1]);
  if (s->ndim != 3)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "needs a [C,H,W] input, got %s",
                              nerve_shape_format (s, buf, sizeof buf));
  if (s->dim[1] + 2 * pad[0] < k[0] || s->dim[2] + 2 * pad[1] < k[1])
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "window [%d,%d] is larger than the padded input %s (padding [%d,%d])",
                              k[0], k[1], nerve_shape_format (s, buf, sizeof buf), pad[0], pad[1]);
  p->g = nerve_pool2d_make (s->dim[1], s->dim[2], k[0], k[1], st[0], st[1], pad[0], pad[1]);
  p->planes = s->dim[0];
  l->out_shape = nerve_shape_make (3, s->dim[0], p->g.Ho, p->g.Wo);
  return TRUE;
}

static gsize
maxpool2d_cache_size (const NerveLayer *l, int batch)
{
  return (gsize) batch * nerve_shape_numel (&l->out_shape); /* argmax as int32 */
}

static void
maxpool2d_forward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  nerve_maxpool2d_forward (io->out, (int *) io->cache, io->in[0], io->batch * p->planes, &p->g);
}

static void
maxpool2d_backward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  if (io->din[0])
    nerve_maxpool2d_backward (io->din[0], io->dout, (const int *) io->cache, io->batch * p->planes, &p->g);
}

static void
avgpool2d_forward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  nerve_avgpool2d_forward (io->out, io->in[0], io->batch * p->planes, &p->g);
}

static void
avgpool2d_backward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  if (io->din[0])
    nerve_avgpool2d_backward (io->din[0], io->dout, io->batch * p->planes, &p->g);
}

/* [C, spatial...] -> [C] */
static gboolean
global_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Pool *p = (Pool *) l;
  const NerveShape *s = &l->in_shape[0];
  char buf[64];
  if (s->ndim < 2)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "needs a [C,H,W] (or [C,L]) input, got %s",
                              nerve_shape_format (s, buf, sizeof buf));
  p->planes = s->dim[0];
  p->F = (int) (nerve_shape_numel (s) / s->dim[0]); /* elements per plane */
  l->out_shape = nerve_shape_make (1, s->dim[0]);
  return TRUE;
}

static gsize
global_maxpool_cache_size (const NerveLayer *l, int batch)
{
  return (gsize) batch * l->out_shape.dim[0];
}

static void
global_forward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  if (pool_is (l, "global_maxpool"))
    nerve_global_maxpool_forward (io->out, (int *) io->cache, io->in[0], io->batch * p->planes, p->F);
  else
    nerve_global_avgpool_forward (io->out, io->in[0], io->batch * p->planes, p->F);
}

static void
global_backward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  if (!io->din[0])
    return;
  if (pool_is (l, "global_maxpool"))
    nerve_global_maxpool_backward (io->din[0], io->dout, (const int *) io->cache, io->batch * p->planes, p->F);
  else
    nerve_global_avgpool_backward (io->din[0], io->dout, io->batch * p->planes, p->F);
}

static const char *const time_pool_modes[] = { "max", "mean", NULL };

static gboolean
time_pool_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Pool *p = (Pool *) l;
  const NerveShape *s = &l->in_shape[0];
  char buf[64];
  int mode;
  if (!nerve_cfg_enum (cfg, "mode", "mean", time_pool_modes, &mode, error))
    return FALSE;
  p->mode = (NerveTimePool) mode;
  if (s->ndim != 2)
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE, "needs a sequence [T,F] input, got %s",
                              nerve_shape_format (s, buf, sizeof buf));
  p->T = s->dim[0];
  p->F = s->dim[1];
  l->out_shape = nerve_shape_make (1, p->F);
  return TRUE;
}

static gsize
time_pool_cache_size (const NerveLayer *l, int batch)
{
  const Pool *p = (const Pool *) l;
  return p->mode == NERVE_TIME_POOL_MAX ? (gsize) batch * p->F : 0;
}

static void
time_pool_forward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  nerve_time_pool_forward (io->out, (int *) io->cache, io->in[0], io->lengths, io->batch, p->T, p->F, p->mode);
}

static void
time_pool_backward (NerveLayer *l, NerveLayerIO *io)
{
  Pool *p = (Pool *) l;
  if (io->din[0])
    nerve_time_pool_backward (io->din[0], io->dout, (const int *) io->cache, io->lengths, io->batch, p->T,
                              p->F, p->mode);
}

const NerveLayerClass nerve_maxpool2d_class = {
  .type = "maxpool2d", .size = sizeof (Pool), .min_inputs = 1, .max_inputs = 1,
  .configure = pool2d_configure, .cache_size = maxpool2d_cache_size,
  .forward = maxpool2d_forward, .backward = maxpool2d_backward,
};

const NerveLayerClass nerve_avgpool2d_class = {
  .type = "avgpool2d", .size = sizeof (Pool), .min_inputs = 1, .max_inputs = 1,
  .configure = pool2d_configure, .forward = avgpool2d_forward, .backward = avgpool2d_backward,
};

const NerveLayerClass nerve_global_avgpool_class = {
  .type = "global_avgpool", .size = sizeof (Pool), .min_inputs = 1, .max_inputs = 1,
  .configure = global_configure, .forward = global_forward, .backward = global_backward,
};

const NerveLayerClass nerve_global_maxpool_class = {
  .type = "global_maxpool", .size = sizeof (Pool), .min_inputs = 1, .max_inputs = 1,
  .configure = global_configure, .cache_size = global_maxpool_cache_size,
  .forward = global_forward, .backward = global_backward,
};

const NerveLayerClass nerve_time_pool_class = {
  .type = "time_pool", .size = sizeof (Pool), .min_inputs = 1, .max_inputs = 1,
  .configure = time_pool_configure, .cache_size = time_pool_cache_size,
  .forward = time_pool_forward, .backward = time_pool_backward,
};
#endif

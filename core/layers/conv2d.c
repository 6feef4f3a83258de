/* conv2d: im2col + GEMM kernels, direct loops for one input channel per group, the
 * naive reference loops, and the "conv2d" layer class. */
#include "conv2d.h"

#include <string.h>

#include "../gemm.h"
#include "../layer.h"
#include "../real.h"
#include "vec.h"

static nreal
sum_n (const nreal *a, int n)
{
  nvec acc = { 0 };
  int i = 0;
  for (; i + VL <= n; i += VL)
    acc += vload (a + i);
  nreal s = vsum (acc);
  for (; i < n; i++)
    s += a[i];
  return s;
}

static nreal
dot_n (const nreal *a, const nreal *b, int n)
{
  nvec acc0 = { 0 }, acc1 = { 0 };
  int i = 0;
  for (; i + 2 * VL <= n; i += 2 * VL) {
    acc0 += vload (a + i) * vload (b + i);
    acc1 += vload (a + i + VL) * vload (b + i + VL);
  }
  for (; i + VL <= n; i += VL)
    acc0 += vload (a + i) * vload (b + i);
  nreal s = vsum (acc0 + acc1);
  for (; i < n; i++)
    s += a[i] * b[i];
  return s;
}

/* One input channel per group: output channel o reads input channel o / (O/groups).
 * Each input plane is zero-padded once (see nerve_conv2d_direct_layout), then every
 * output is a plain sum over the taps of flat, unit-offset reads, accumulated in
 * registers: 4 output channels at a time when they share the input plane (a
 * 1-channel first layer), else 4 blocks of positions of one channel. */
static void
pad_plane (nreal *xp, const nreal *xc, const NerveConv2dGeom *g, int Wp, gsize plane)
{
  memset (xp, 0, sizeof (nreal) * plane);
  for (int h = 0; h < g->H; h++)
    memcpy (xp + (gsize) (h + g->ph) * Wp + g->pw, xc + (gsize) h * g->W, sizeof (nreal) * (gsize) g->W);
}

/* Where wide output p starts reading: flat at stride 1, row by row above. */
static inline gsize
wide_base (int p, int s, int Wp, int OWp)
{
  return s == 1 ? (gsize) p : (gsize) (p / OWp) * s * Wp + (gsize) (p % OWp) * s;
}

/* wide[r][p] for 4 output channels' weights wo[r] over the L wide outputs. */
static void
direct_4ch (nreal *wide, const nreal *xp, const nreal *const wo[4], const nreal bo[4],
            const NerveConv2dGeom *g, int Wp, int OWp, int L)
{
  const int s = g->sh;
  for (int p0 = 0; p0 < L; p0 += VL) {
    const nreal *x0 = xp + wide_base (p0, s, Wp, OWp);
    nvec a0 = vsplat (bo[0]), a1 = vsplat (bo[1]), a2 = vsplat (bo[2]), a3 = vsplat (bo[3]);
    for (int i = 0, t = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++, t++) {
        nvec v = vload_strided (x0 + (gsize) i * g->dh * Wp + j * g->dw, s);
        a0 += wo[0][t] * v, a1 += wo[1][t] * v, a2 += wo[2][t] * v, a3 += wo[3][t] * v;
      }
    vstore (wide + p0, a0);
    vstore (wide + L + p0, a1);
    vstore (wide + 2 * (gsize) L + p0, a2);
    vstore (wide + 3 * (gsize) L + p0, a3);
  }
}

/* wide[p] for one output channel: 4 blocks of positions at once at stride 1. */
static void
direct_1ch (nreal *wide, const nreal *xp, const nreal *wo, nreal bo, const NerveConv2dGeom *g,
            int Wp, int OWp, int L)
{
  const int s = g->sh;
  int p0 = 0;
  if (s == 1)
    for (; p0 + 4 * VL <= L; p0 += 4 * VL) {
      const nreal *x0 = xp + p0;
      nvec a0 = vsplat (bo), a1 = a0, a2 = a0, a3 = a0;
      for (int i = 0, t = 0; i < g->kh; i++)
        for (int j = 0; j < g->kw; j++, t++) {
          const nreal *src = x0 + (gsize) i * g->dh * Wp + j * g->dw;
          const nreal wt = wo[t];
          a0 += wt * vload (src), a1 += wt * vload (src + VL);
          a2 += wt * vload (src + 2 * VL), a3 += wt * vload (src + 3 * VL);
        }
      vstore (wide + p0, a0);
      vstore (wide + p0 + VL, a1);
      vstore (wide + p0 + 2 * VL, a2);
      vstore (wide + p0 + 3 * VL, a3);
    }
  for (; p0 < L; p0 += VL) {
    const nreal *x0 = xp + wide_base (p0, s, Wp, OWp);
    nvec a = vsplat (bo);
    for (int i = 0, t = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++, t++)
        a += wo[t] * vload_strided (x0 + (gsize) i * g->dh * Wp + j * g->dw, s);
    vstore (wide + p0, a);
  }
}

/* The valid columns of a wide map into an NCHW plane. */
static void
unwiden (nreal *yo, const nreal *wide, gboolean accumulate, const NerveConv2dGeom *g, int OWp)
{
  for (int oh = 0; oh < g->OH; oh++) {
    nreal *dst = yo + (gsize) oh * g->OW;
    const nreal *src = wide + (gsize) oh * OWp;
    if (accumulate)
      for (int ow = 0; ow < g->OW; ow++)
        dst[ow] += src[ow];
    else
      memcpy (dst, src, sizeof (nreal) * (gsize) g->OW);
  }
}

static void
direct_forward (nreal *y, gboolean accumulate, nreal *work, const nreal *x, const nreal *w,
                const nreal *b, const NerveConv2dGeom *g, int N)
{
  int Wp, OWp, L;
  gsize plane;
  nerve_conv2d_direct_layout (g, &Wp, &OWp, &L, &plane);
  const int ohw = g->OH * g->OW, Og = g->O / g->groups, taps = g->kh * g->kw;
  nreal *xp = work, *wide = work + plane;
  for (int n = 0; n < N; n++)
    for (int c = 0; c < g->C; c++) {
      pad_plane (xp, x + ((gsize) n * g->C + c) * g->H * g->W, g, Wp, plane);
      int o = c * Og;
      for (; o + 4 <= (c + 1) * Og; o += 4) {
        const nreal *wo[4];
        nreal bo[4];
        for (int r = 0; r < 4; r++) {
          wo[r] = w + (gsize) (o + r) * taps;
          bo[r] = accumulate || !b ? 0 : b[o + r];
        }
        direct_4ch (wide, xp, wo, bo, g, Wp, OWp, L);
        for (int r = 0; r < 4; r++)
          unwiden (y + ((gsize) n * g->O + o + r) * ohw, wide + (gsize) r * L, accumulate, g, OWp);
      }
      for (; o < (c + 1) * Og; o++) {
        direct_1ch (wide, xp, w + (gsize) o * taps, accumulate || !b ? 0 : b[o], g, Wp, OWp, L);
        unwiden (y + ((gsize) n * g->O + o) * ohw, wide, accumulate, g, OWp);
      }
    }
}

static void
direct_backward (nreal *dx, nreal *dw, nreal *db, nreal *work, const nreal *dy, const nreal *x,
                 const nreal *w, const NerveConv2dGeom *g, int N)
{
  int Wp, OWp, L;
  gsize plane;
  nerve_conv2d_direct_layout (g, &Wp, &OWp, &L, &plane);
  const int s = g->sh, ohw = g->OH * g->OW, Og = g->O / g->groups, taps = g->kh * g->kw;
  nreal *xp = work, *dxp = work + plane, *dyw = work + 2 * plane;
  for (int n = 0; n < N; n++)
    for (int c = 0; c < g->C; c++) {
      if (dw)
        pad_plane (xp, x + ((gsize) n * g->C + c) * g->H * g->W, g, Wp, plane);
      if (dx)
        memset (dxp, 0, sizeof (nreal) * plane);
      for (int o = c * Og; o < (c + 1) * Og; o++) {
        const nreal *dyo = dy + ((gsize) n * g->O + o) * ohw;
        if (db)
          db[o] += sum_n (dyo, ohw);
        if (!dw && !dx)
          continue;
        if (s > 1) { /* row by row over the valid outputs */
          for (int i = 0; i < g->kh; i++)
            for (int j = 0; j < g->kw; j++) {
              const gsize off = (gsize) i * g->dh * Wp + (gsize) j * g->dw, t = (gsize) o * taps + i * g->kw + j;
              nreal acc = 0;
              for (int oh = 0; oh < g->OH; oh++) {
                const nreal *d = dyo + (gsize) oh * g->OW;
                const gsize row = off + (gsize) oh * s * Wp;
                if (dw)
                  for (int ow = 0; ow < g->OW; ow++)
                    acc += d[ow] * xp[row + (gsize) ow * s];
                if (dx)
                  for (int ow = 0; ow < g->OW; ow++)
                    dxp[row + (gsize) ow * s] += w[t] * d[ow];
              }
              if (dw)
                dw[t] += acc;
            }
          continue;
        }
        /* stride 1: dy in the wide layout, zeros in the extra columns so they add nothing */
        memset (dyw, 0, sizeof (nreal) * (gsize) L);
        for (int oh = 0; oh < g->OH; oh++)
          memcpy (dyw + (gsize) oh * OWp, dyo + (gsize) oh * g->OW, sizeof (nreal) * (gsize) g->OW);
        for (int i = 0; i < g->kh; i++)
          for (int j = 0; j < g->kw; j++) {
            const gsize off = (gsize) i * g->dh * Wp + (gsize) j * g->dw, t = (gsize) o * taps + i * g->kw + j;
            if (dw)
              dw[t] += dot_n (dyw, xp + off, L);
            if (dx) {
              const nreal wt = w[t];
              nreal *d = dxp + off;
              for (int p = 0; p < L; p++)
                d[p] += wt * dyw[p];
            }
          }
      }
      if (dx) {
        nreal *dxc = dx + ((gsize) n * g->C + c) * g->H * g->W;
        for (int h = 0; h < g->H; h++) {
          const nreal *src = dxp + (gsize) (h + g->ph) * Wp + g->pw;
          for (int ww = 0; ww < g->W; ww++)
            dxc[(gsize) h * g->W + ww] += src[ww];
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
im2col_chunk (nreal *cols, nreal *pad, const nreal *x, const NerveConv2dGeom *g, int n0, int m)
{
  const int ohw = g->OH * g->OW, ld = m * ohw;
  for (int i = 0; i < m; i++)
    NK (nerve_im2col) (cols + (gsize) i * ohw, pad, x + (gsize) (n0 + i) * g->C * g->H * g->W, g, ld);
}

static void
conv2d_apply (nreal *y, gboolean accumulate, nreal *work, const nreal *x, const nreal *w,
              const nreal *b, const NerveConv2dGeom *g, int N, gboolean weights_unchanged)
{
  if (nerve_conv2d_is_direct (g)) {
    direct_forward (y, accumulate, work, x, w, b, g, N);
    return;
  }
  if (nerve_winograd_applies (g)) {
    NK (nerve_winograd_forward) (y, accumulate, work, x, w, b, g, N, weights_unchanged);
    return;
  }
  const int ohw = g->OH * g->OW, Og = g->O / g->groups, Cg = g->C / g->groups;
  const int Kg = Cg * g->kh * g->kw, K = g->C * g->kh * g->kw;
  const gsize xs = (gsize) g->C * g->H * g->W, ys = (gsize) g->O * ohw;
  const int nb = nerve_conv2d_chunk (g, N);
  nreal *cols = work, *tmp = work + (gsize) K * nb * ohw;
  nreal *pad = tmp + (nb > 1 ? (gsize) g->O * nb * ohw : 0);
  for (int n0 = 0; n0 < N; n0 += nb) {
    const int m = MIN (nb, N - n0), ld = m * ohw;
    const nreal *B = cols;
    if (m == 1 && is_pointwise (g))
      B = x + (gsize) n0 * xs;
    else
      im2col_chunk (cols, pad, x, g, n0, m);
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
  conv2d_apply (y, FALSE, work, x, w, b, g, N, FALSE);
}

void
NK (nerve_conv2d_forward_cached) (nreal *y, nreal *work, const nreal *x, const nreal *w, const nreal *b,
                                  const NerveConv2dGeom *g, int N, gboolean weights_unchanged)
{
  conv2d_apply (y, FALSE, work, x, w, b, g, N, weights_unchanged);
}

void
NK (nerve_conv2d_forward_add) (nreal *y,        /* [N,O,OH,OW], accumulated */
                               nreal *work,     /* [nerve_conv2d_work_size] */
                               const nreal *x,  /* [N,C,H,W] */
                               const nreal *w,  /* [O,C/groups,kh,kw] */
                               const NerveConv2dGeom *g, int N)
{
  conv2d_apply (y, TRUE, work, x, w, NULL, g, N, FALSE);
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
    direct_backward (dx, dw, db, work, dy, x, w, g, N);
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
  if (nerve_winograd_applies (g)) {
    NK (nerve_winograd_backward) (dx, dw, work, dy, x, w, g, N);
    return;
  }
  const int nb = nerve_conv2d_chunk (g, N);
  nreal *cols = work, *dyt = work + (gsize) K * nb * ohw;
  nreal *pad = dyt + (nb > 1 ? (gsize) g->O * nb * ohw : 0);
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
        im2col_chunk (cols, pad, x, g, n0, m);
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
      NK (nerve_col2im) (dx + (gsize) (n0 + i) * xs, pad, cols + (gsize) i * ohw, g, ld);
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

/* The work area, then one slot recording the weights generation its weight-derived
 * part (Winograd's filter transform) was computed for. */
static gsize
conv2d_cache_size (const NerveLayer *l, int batch)
{
  return nerve_conv2d_work_size (&((const Conv2d *) l)->g, batch) + 16;
}

static void
conv2d_forward (NerveLayer *l, NerveLayerIO *io)
{
  Conv2d *c = (Conv2d *) l;
  guint *stamp = (guint *) (io->cache + nerve_conv2d_work_size (&c->g, io->max_batch));
  gboolean same = io->weights_generation != 0 && *stamp == io->weights_generation;
  nerve_conv2d_forward_cached (io->out, io->cache, io->in[0], l->params[0].data,
                               c->bias ? l->params[1].data : NULL, &c->g, io->batch, same);
  *stamp = io->weights_generation;
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

/* Convolution geometry shared by conv1d, conv2d and conv_transpose2d, and the
 * im2col/col2im gathers that turn a convolution into one GEMM.
 *
 * A geometry states the output size explicitly instead of a bottom/right padding,
 * so asymmetric padding ("same" with an even kernel, "causal") needs nothing more:
 * ph/pw are the top/left padding and the bottom/right padding is whatever makes
 * OH/OW fit. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int C, H, W;    /* input channels and size */
  int O, OH, OW;  /* output channels and size */
  int kh, kw;     /* kernel */
  int sh, sw;     /* stride */
  int ph, pw;     /* top/left padding */
  int dh, dw;     /* dilation */
  int groups;     /* C and O are multiples of groups */
} NerveConv2dGeom;

/* Channels-last 1-D convolution: input [T, C], output [TO, O]. */
typedef struct {
  int C, T;
  int O, TO;
  int k, stride, pad, dilation; /* pad = left padding */
  int groups;
} NerveConv1dGeom;

/* A conv2d geometry with symmetric padding; OH/OW are PyTorch's
 * floor((H + 2p - d(k-1) - 1) / s) + 1 (<= 0 when the kernel does not fit). */
static inline NerveConv2dGeom
nerve_conv2d_geom (int C, int H, int W, int O, int kh, int kw, int sh, int sw, int ph, int pw,
                   int dh, int dw, int groups)
{
  NerveConv2dGeom g = { C, H, W, O, 0, 0, kh, kw, sh, sw, ph, pw, dh, dw, groups };
  int eh = H + 2 * ph - dh * (kh - 1) - 1, ew = W + 2 * pw - dw * (kw - 1) - 1;
  g.OH = eh < 0 ? 0 : eh / sh + 1;
  g.OW = ew < 0 ? 0 : ew / sw + 1;
  return g;
}

/* Outputs o in [*lo, *hi) read an input o * stride + off inside [0, n_in). */
static inline void
nerve_conv_valid_range (int n_out, int stride, int off, int n_in, int *lo, int *hi)
{
  int l = off >= 0 ? 0 : (-off + stride - 1) / stride;
  int h = n_in - 1 - off < 0 ? 0 : (n_in - 1 - off) / stride + 1;
  if (h > n_out)
    h = n_out;
  if (l > h)
    l = h;
  *lo = l;
  *hi = h;
}

/* The zero-padded input plane that im2col reads and col2im scatters into: big enough
 * for every tap of every output, so the copy loops need no bounds checks. */
static inline void
nerve_conv2d_padded (const NerveConv2dGeom *g, int *Hp, int *Wp)
{
  *Hp = MAX (g->ph + g->H, (g->OH - 1) * g->sh + (g->kh - 1) * g->dh + 1);
  *Wp = MAX (g->pw + g->W, (g->OW - 1) * g->sw + (g->kw - 1) * g->dw + 1);
}

/* Scratch for im2col/col2im: 0 when the convolution never reads outside the input. */
static inline gsize
nerve_im2col_pad_size (const NerveConv2dGeom *g)
{
  int Hp, Wp;
  nerve_conv2d_padded (g, &Hp, &Wp);
  return g->ph == 0 && g->pw == 0 && Hp <= g->H && Wp <= g->W ? 0 : (gsize) Hp * Wp;
}

/* cols[(c*kh + i)*kw + j, p] = x[c, oh*sh - ph + i*dh, ow*sw - pw + j*dw] (0 outside),
 * p = oh*OW + ow, for every input channel; ldc is the row stride of cols so that
 * several samples can sit side by side. pad is nerve_im2col_pad_size() scratch. */
void nerve_im2col (float *cols, float *pad, const float *x, const NerveConv2dGeom *g, int ldc);
/* The adjoint: dx += the columns scattered back. */
void nerve_col2im (float *dx, float *pad, const float *cols, const NerveConv2dGeom *g, int ldc);
void nerve_im2col_f64 (double *cols, double *pad, const double *x, const NerveConv2dGeom *g, int ldc);
void nerve_col2im_f64 (double *dx, double *pad, const double *cols, const NerveConv2dGeom *g, int ldc);

/* Channels-last rows for conv1d, `rows` output frames starting at flat row r0 of a
 * [N*TO] batch: cols[r, c*k + j] = x[n, t*stride - pad + j*dilation, c] (0 outside). */
void nerve_im2row_1d (float *cols, const float *x, const NerveConv1dGeom *g, gsize r0, int rows);
void nerve_row2im_1d (float *dx, const float *cols, const NerveConv1dGeom *g, gsize r0, int rows);
void nerve_im2row_1d_f64 (double *cols, const double *x, const NerveConv1dGeom *g, gsize r0, int rows);
void nerve_row2im_1d_f64 (double *dx, const double *cols, const NerveConv1dGeom *g, gsize r0, int rows);

/* For the conv layer classes: reads "padding" as one of words (*word = its index) or
 * as numbers (*word = -1): an int, or also [ph, pw] when pair. */
typedef struct _NerveCfg NerveCfg;
gboolean nerve_conv_cfg_padding (NerveCfg *cfg, gboolean pair, const char *const *words, int *word,
                                 int pad[2], GError **error);

G_END_DECLS

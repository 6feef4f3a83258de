/* im2col/col2im for conv2d and conv_transpose2d, im2row/row2im for channels-last
 * conv1d. im2col reads a zero-padded copy of each input plane, so its loops are plain
 * strided copies with no border tests (small maps have short rows: per-row
 * overhead is what costs). */
#include "im2col.h"

#include <string.h>

#include "../real.h"

/* Channel c of x, zero-padded into pad as [Hp, Wp] (or x itself when no tap reads
 * outside it); *ld gets the row stride. */
static const nreal *
padded_plane (nreal *pad, const nreal *xc, const NerveConv2dGeom *g, int *ld)
{
  int Hp, Wp;
  nerve_conv2d_padded (g, &Hp, &Wp);
  if (nerve_im2col_pad_size (g) == 0) {
    *ld = g->W;
    return xc;
  }
  memset (pad, 0, sizeof (nreal) * (gsize) Hp * Wp);
  for (int h = 0; h < g->H; h++)
    memcpy (pad + (gsize) (h + g->ph) * Wp + g->pw, xc + (gsize) h * g->W, sizeof (nreal) * (gsize) g->W);
  *ld = Wp;
  return pad;
}

void
NK (nerve_im2col) (nreal *cols,      /* [C*kh*kw, ldc] */
                   nreal *pad,       /* [nerve_im2col_pad_size] scratch */
                   const nreal *x,   /* [C,H,W] */
                   const NerveConv2dGeom *g, int ldc)
{
  const int OW = g->OW, OH = g->OH, sw = g->sw;
  for (int c = 0; c < g->C; c++) {
    int ld;
    const nreal *xp = padded_plane (pad, x + (gsize) c * g->H * g->W, g, &ld);
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        nreal *row = cols + (gsize) ((c * g->kh + i) * g->kw + j) * ldc;
        for (int oh = 0; oh < OH; oh++) {
          nreal *dst = row + (gsize) oh * OW;
          const nreal *src = xp + (gsize) (oh * g->sh + i * g->dh) * ld + j * g->dw;
          if (sw == 1)
            for (int ow = 0; ow < OW; ow++)
              dst[ow] = src[ow];
          else
            for (int ow = 0; ow < OW; ow++)
              dst[ow] = src[ow * sw];
        }
      }
  }
}

void
NK (nerve_col2im) (nreal *dx,          /* [C,H,W], accumulated */
                   nreal *pad,         /* [nerve_im2col_pad_size] scratch */
                   const nreal *cols,  /* [C*kh*kw, ldc] */
                   const NerveConv2dGeom *g, int ldc)
{
  const int OW = g->OW, OH = g->OH, sw = g->sw;
  int Hp, Wp;
  nerve_conv2d_padded (g, &Hp, &Wp);
  const gboolean direct = nerve_im2col_pad_size (g) == 0;
  const int ld = direct ? g->W : Wp;
  for (int c = 0; c < g->C; c++) {
    nreal *xc = dx + (gsize) c * g->H * g->W;
    nreal *xp = direct ? xc : pad;
    if (!direct)
      memset (pad, 0, sizeof (nreal) * (gsize) Hp * Wp);
    for (int i = 0; i < g->kh; i++)
      for (int j = 0; j < g->kw; j++) {
        const nreal *row = cols + (gsize) ((c * g->kh + i) * g->kw + j) * ldc;
        for (int oh = 0; oh < OH; oh++) {
          const nreal *src = row + (gsize) oh * OW;
          nreal *dst = xp + (gsize) (oh * g->sh + i * g->dh) * ld + j * g->dw;
          if (sw == 1)
            for (int ow = 0; ow < OW; ow++)
              dst[ow] += src[ow];
          else
            for (int ow = 0; ow < OW; ow++)
              dst[ow * sw] += src[ow];
        }
      }
    if (!direct)
      for (int h = 0; h < g->H; h++) {
        const nreal *src = pad + (gsize) (h + g->ph) * Wp + g->pw;
        nreal *dst = xc + (gsize) h * g->W;
        for (int w = 0; w < g->W; w++)
          dst[w] += src[w];
      }
  }
}

void
NK (nerve_im2row_1d) (nreal *cols,     /* [rows, C*k] */
                      const nreal *x,  /* [N,T,C] */
                      const NerveConv1dGeom *g, gsize r0, int rows)
{
  const int C = g->C, k = g->k, K = C * k;
  for (int r = 0; r < rows; r++) {
    gsize n = (r0 + (gsize) r) / (gsize) g->TO;
    int t = (int) ((r0 + (gsize) r) % (gsize) g->TO);
    nreal *dst = cols + (gsize) r * K;
    for (int j = 0; j < k; j++) {
      int ti = t * g->stride - g->pad + j * g->dilation;
      if (ti < 0 || ti >= g->T) {
        for (int c = 0; c < C; c++)
          dst[c * k + j] = 0;
        continue;
      }
      const nreal *src = x + (n * (gsize) g->T + (gsize) ti) * C;
      for (int c = 0; c < C; c++)
        dst[c * k + j] = src[c];
    }
  }
}

void
NK (nerve_row2im_1d) (nreal *dx,          /* [N,T,C], accumulated */
                      const nreal *cols,  /* [rows, C*k] */
                      const NerveConv1dGeom *g, gsize r0, int rows)
{
  const int C = g->C, k = g->k, K = C * k;
  for (int r = 0; r < rows; r++) {
    gsize n = (r0 + (gsize) r) / (gsize) g->TO;
    int t = (int) ((r0 + (gsize) r) % (gsize) g->TO);
    const nreal *src = cols + (gsize) r * K;
    for (int j = 0; j < k; j++) {
      int ti = t * g->stride - g->pad + j * g->dilation;
      if (ti < 0 || ti >= g->T)
        continue;
      nreal *dst = dx + (n * (gsize) g->T + (gsize) ti) * C;
      for (int c = 0; c < C; c++)
        dst[c] += src[c * k + j];
    }
  }
}

/* im2col/col2im for conv2d and conv_transpose2d, im2row/row2im for channels-last
 * conv1d. The valid output range of each kernel tap is computed once, so the inner
 * loops are plain copies (a memcpy at stride 1) with zero-filled borders. */
#include "im2col.h"

#include <string.h>

#include "../real.h"

void
NK (nerve_im2col) (nreal *cols,      /* [C*kh*kw, ldc] */
                   const nreal *x,   /* [C,H,W] */
                   const NerveConv2dGeom *g, int ldc)
{
  const int OW = g->OW, OH = g->OH;
  for (int i = 0; i < g->kh; i++) {
    int ilo, ihi;
    nerve_conv_valid_range (OH, g->sh, i * g->dh - g->ph, g->H, &ilo, &ihi);
    for (int j = 0; j < g->kw; j++) {
      int jlo, jhi;
      int off = j * g->dw - g->pw;
      nerve_conv_valid_range (OW, g->sw, off, g->W, &jlo, &jhi);
      for (int c = 0; c < g->C; c++) {
        nreal *row = cols + (gsize) ((c * g->kh + i) * g->kw + j) * ldc;
        const nreal *xc = x + (gsize) c * g->H * g->W;
        if (ilo > 0)
          memset (row, 0, sizeof (nreal) * (gsize) ilo * OW);
        for (int oh = ilo; oh < ihi; oh++) {
          nreal *dst = row + (gsize) oh * OW;
          const nreal *src = xc + (gsize) (oh * g->sh + i * g->dh - g->ph) * g->W + off;
          for (int ow = 0; ow < jlo; ow++)
            dst[ow] = 0;
          if (g->sw == 1)
            memcpy (dst + jlo, src + jlo, sizeof (nreal) * (gsize) (jhi - jlo));
          else
            for (int ow = jlo; ow < jhi; ow++)
              dst[ow] = src[ow * g->sw];
          for (int ow = jhi; ow < OW; ow++)
            dst[ow] = 0;
        }
        if (ihi < OH)
          memset (row + (gsize) ihi * OW, 0, sizeof (nreal) * (gsize) (OH - ihi) * OW);
      }
    }
  }
}

void
NK (nerve_col2im) (nreal *dx,          /* [C,H,W], accumulated */
                   const nreal *cols,  /* [C*kh*kw, ldc] */
                   const NerveConv2dGeom *g, int ldc)
{
  const int OW = g->OW, OH = g->OH;
  for (int c = 0; c < g->C; c++) {
    nreal *xc = dx + (gsize) c * g->H * g->W;
    for (int i = 0; i < g->kh; i++) {
      int ilo, ihi;
      nerve_conv_valid_range (OH, g->sh, i * g->dh - g->ph, g->H, &ilo, &ihi);
      for (int j = 0; j < g->kw; j++) {
        int jlo, jhi;
        int off = j * g->dw - g->pw;
        nerve_conv_valid_range (OW, g->sw, off, g->W, &jlo, &jhi);
        const nreal *row = cols + (gsize) ((c * g->kh + i) * g->kw + j) * ldc;
        for (int oh = ilo; oh < ihi; oh++) {
          const nreal *src = row + (gsize) oh * OW;
          nreal *dst = xc + (gsize) (oh * g->sh + i * g->dh - g->ph) * g->W + off;
          if (g->sw == 1)
            for (int ow = jlo; ow < jhi; ow++)
              dst[ow] += src[ow];
          else
            for (int ow = jlo; ow < jhi; ow++)
              dst[ow * g->sw] += src[ow];
        }
      }
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

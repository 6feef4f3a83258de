/* Winograd F(2x2, 3x3) for conv2d's commonest case, 3x3 stride 1 without dilation or
 * groups: each 4x4 input tile and 3x3 filter go to a 4x4 transform domain where the
 * convolution is 16 independent GEMMs [O, C] x [C, tiles] of 4 multiplications per
 * output instead of 9 (2.25x fewer flops), then 2x2 output tiles come back.
 * The backward runs the same transforms' adjoints: 16 GEMMs for the weight gradient
 * and 16 for the input gradient. Transforms use only 0, +-1, +-1/2, so rounding stays
 * close to the direct sum's. conv2d picks this path itself (nerve_winograd_applies). */
#pragma once
#include <glib.h>

#include "im2col.h"

G_BEGIN_DECLS

/* Output tiles per chunk of samples transformed together. */
#define NERVE_WINOGRAD_TILES 256

static inline gboolean
nerve_winograd_applies (const NerveConv2dGeom *g)
{
  return g->kh == 3 && g->kw == 3 && g->sh == 1 && g->sw == 1 && g->dh == 1 && g->dw == 1 &&
         g->groups == 1 && g->C >= 8 && g->O >= 8;
}

/* Tiles per sample as the kernels store them: TH rows of TW+1 (one spare column keeps
 * every tile's reads at a fixed offset, so the transforms run on whole vectors). */
static inline int
nerve_winograd_tiles (const NerveConv2dGeom *g)
{
  return ((g->OH + 1) / 2) * ((g->OW + 1) / 2 + 1);
}

static inline int
nerve_winograd_chunk (const NerveConv2dGeom *g, int N)
{
  int tiles = nerve_winograd_tiles (g);
  int nb = (NERVE_WINOGRAD_TILES + tiles - 1) / tiles;
  return nb > N ? (N > 0 ? N : 1) : nb;
}

static inline gsize
nerve_winograd_work_size (const NerveConv2dGeom *g, int N)
{
  gsize T = (gsize) nerve_winograd_chunk (g, N) * nerve_winograd_tiles (g);
  gsize phase = (gsize) ((g->OH + 1) / 2 + 2) * ((g->OW + 1) / 2 + 1) + 16;
  return 32 * (gsize) g->O * g->C + 16 * T * ((gsize) g->C + g->O) + 8 * phase;
}

/* y = conv(x, w) + b, or y += conv(x, w) when accumulate (b unused then).
 * filters_ready: work still holds w's transform from an earlier call (same w). */
void nerve_winograd_forward (float *y, gboolean accumulate, float *work, const float *x,
                             const float *w, const float *b, const NerveConv2dGeom *g, int N,
                             gboolean filters_ready);
/* dx += convᵀ(dy, w), dw += dy ⋆ x; either may be NULL. */
void nerve_winograd_backward (float *dx, float *dw, float *work, const float *dy, const float *x,
                              const float *w, const NerveConv2dGeom *g, int N);
void nerve_winograd_forward_f64 (double *y, gboolean accumulate, double *work, const double *x,
                                 const double *w, const double *b, const NerveConv2dGeom *g, int N,
                                 gboolean filters_ready);
void nerve_winograd_backward_f64 (double *dx, double *dw, double *work, const double *dy,
                                  const double *x, const double *w, const NerveConv2dGeom *g, int N);

G_END_DECLS

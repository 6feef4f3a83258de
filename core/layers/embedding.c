/* Embedding: a lookup table from token ids to vectors (PyTorch nn.Embedding). */
#include "embedding.h"

#include "../layer.h"
#include "../real.h"

#include <string.h>

/* The row of an id, or -1 for anything that must not be read: NaN, ±inf, fractions,
 * out of range, the padding id. Range is checked before the cast (a cast of an
 * out-of-range float to int is undefined behaviour). */
static inline int
NK (row_of) (nreal id, int vocab, int padding_idx)
{
  if (!(id >= 0 && id < (nreal) vocab) || id != floor (id))
    return -1;
  int r = (int) id;
  return r == padding_idx ? -1 : r;
}

void
NK (nerve_embedding_forward) (nreal *y,         /* [N,dim] */
                              const nreal *ids, /* [N] */
                              const nreal *w,   /* [vocab,dim] */
                              int N, int vocab, int dim, int padding_idx)
{
  for (int n = 0; n < N; n++) {
    int r = NK (row_of) (ids[n], vocab, padding_idx);
    nreal *yn = y + (gsize) n * dim;
    if (r < 0)
      memset (yn, 0, sizeof (nreal) * (gsize) dim);
    else
      memcpy (yn, w + (gsize) r * dim, sizeof (nreal) * (gsize) dim);
  }
}

void
NK (nerve_embedding_backward) (nreal *dw,        /* [vocab,dim] */
                               const nreal *dy,  /* [N,dim] */
                               const nreal *ids, /* [N] */
                               int N, int vocab, int dim, int padding_idx)
{
  for (int n = 0; n < N; n++) {
    int r = NK (row_of) (ids[n], vocab, padding_idx);
    if (r < 0)
      continue;
    nreal *d = dw + (gsize) r * dim;
    const nreal *g = dy + (gsize) n * dim;
    for (int k = 0; k < dim; k++)
      d[k] += g[k];
  }
}

#ifndef NERVE_F64
typedef struct {
  NerveLayer parent;
  int vocab, dim, padding_idx, rows;
} Embedding;

static gboolean
embedding_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Embedding *e = (Embedding *) l;
  const NerveShape *s = &l->in_shape[0];
  if (!nerve_cfg_int (cfg, "vocab", 0, 1, 1 << 24, &e->vocab, error) ||
      !nerve_cfg_int (cfg, "dim", 0, 1, 1 << 20, &e->dim, error))
    return FALSE;
  if (e->vocab == 0 || e->dim == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'vocab' and 'dim' are required");
  e->padding_idx = -1;
  if (nerve_cfg_has (cfg, "padding_idx")) {
    /* PyTorch accepts negative indices counted from the end */
    if (!nerve_cfg_int (cfg, "padding_idx", 0, -e->vocab, e->vocab - 1, &e->padding_idx, error))
      return FALSE;
    if (e->padding_idx < 0)
      e->padding_idx += e->vocab;
  }
  if (s->ndim >= NERVE_MAX_DIMS - 1) {
    char buf[64];
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "input %s has too many dimensions: expected token ids [T] (at most %d dims)",
                              nerve_shape_format (s, buf, sizeof buf), NERVE_MAX_DIMS - 2);
  }
  e->rows = (int) nerve_shape_numel (s);
  l->out_shape = *s;
  l->out_shape.dim[l->out_shape.ndim++] = e->dim;
  /* N(0,1) as PyTorch; the padding row is never read, so it acts as zero */
  nerve_layer_add_param (l, "weight", nerve_shape_make (2, e->vocab, e->dim), NERVE_INIT_NORMAL, 1.0f, 0);
  return TRUE;
}

static void
embedding_forward (NerveLayer *l, NerveLayerIO *io)
{
  Embedding *e = (Embedding *) l;
  nerve_embedding_forward (io->out, io->in[0], l->params[0].data, io->batch * e->rows, e->vocab, e->dim,
                           e->padding_idx);
}

static void
embedding_backward (NerveLayer *l, NerveLayerIO *io)
{
  Embedding *e = (Embedding *) l;
  if (l->params[0].grad)
    nerve_embedding_backward (l->params[0].grad, io->dout, io->in[0], io->batch * e->rows, e->vocab,
                              e->dim, e->padding_idx);
}

static void
embedding_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Embedding *e = (Embedding *) l;
  const NerveShape *s = &l->in_shape[0];
  int n = s->ndim > 1 ? e->rows / s->dim[0] : 1; /* one time step */
  nerve_embedding_forward (out, in, l->params[0].data, n, e->vocab, e->dim, e->padding_idx);
}

const NerveLayerClass nerve_embedding_class = {
  .type = "embedding",
  .size = sizeof (Embedding),
  .min_inputs = 1,
  .max_inputs = 1,
  .configure = embedding_configure,
  .forward = embedding_forward,
  .backward = embedding_backward,
  .step = embedding_step,
};
#endif

/* Merging and re-viewing layers: "add", "concat", "flatten", "reshape". */
#include "merge.h"

#include <string.h>

#include "../layer.h"
#include "../real.h"

void
NK (nerve_add_forward) (nreal *y,              /* [n] */
                        const nreal *const *x, /* k × [n] */
                        int k, gsize n)
{
  for (gsize j = 0; j < n; j++)
    y[j] = x[0][j];
  for (int i = 1; i < k; i++) {
    const nreal *xi = x[i];
    for (gsize j = 0; j < n; j++)
      y[j] += xi[j];
  }
}

void
NK (nerve_add_backward) (nreal *const *dx, /* k × [n], entries may be NULL */
                         const nreal *dy,  /* [n] */
                         int k, gsize n)
{
  for (int i = 0; i < k; i++) {
    nreal *d = dx[i];
    if (d)
      for (gsize j = 0; j < n; j++)
        d[j] += dy[j];
  }
}

void
NK (nerve_concat_forward) (nreal *y,              /* [outer, Σ inner] */
                           const nreal *const *x, /* k × [outer, inner[i]] */
                           const gsize *inner,    /* [k] */
                           int k, gsize outer)
{
  gsize total = 0;
  for (int i = 0; i < k; i++)
    total += inner[i];
  for (gsize o = 0; o < outer; o++) {
    nreal *yo = y + o * total;
    for (int i = 0; i < k; i++) {
      memcpy (yo, x[i] + o * inner[i], inner[i] * sizeof (nreal));
      yo += inner[i];
    }
  }
}

void
NK (nerve_concat_backward) (nreal *const *dx,  /* k × [outer, inner[i]], entries may be NULL */
                            const nreal *dy,   /* [outer, Σ inner] */
                            const gsize *inner, /* [k] */
                            int k, gsize outer)
{
  gsize total = 0;
  for (int i = 0; i < k; i++)
    total += inner[i];
  for (gsize o = 0; o < outer; o++) {
    const nreal *dyo = dy + o * total;
    for (int i = 0; i < k; i++) {
      if (dx[i]) {
        nreal *d = dx[i] + o * inner[i];
        for (gsize j = 0; j < inner[i]; j++)
          d[j] += dyo[j];
      }
      dyo += inner[i];
    }
  }
}

#ifndef NERVE_F64

typedef struct {
  NerveLayer parent;
  gsize outer;                    /* per sample, for concat */
  gsize inner[NERVE_MAX_INPUTS];  /* concat */
  int axis;                       /* concat */
} Merge;

static gsize
merge_numel (const NerveLayer *l)
{
  return nerve_shape_numel (&l->out_shape);
}

/* Elements of one time step (see step() in layer.h: time first when ndim > 1). */
static gsize
step_numel (const NerveShape *s)
{
  return s->ndim > 1 ? nerve_shape_numel (s) / (gsize) s->dim[0] : nerve_shape_numel (s);
}

static gboolean
add_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  char a[64], b[64];
  for (int i = 1; i < l->n_inputs; i++)
    if (!nerve_shape_equal (&l->in_shape[i], &l->in_shape[0]))
      return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                                "input %d has shape %s but input 0 has %s; 'add' needs identical shapes",
                                i, nerve_shape_format (&l->in_shape[i], a, sizeof a),
                                nerve_shape_format (&l->in_shape[0], b, sizeof b));
  l->out_shape = l->in_shape[0];
  return TRUE;
}

static void
add_forward (NerveLayer *l, NerveLayerIO *io)
{
  nerve_add_forward (io->out, io->in, l->n_inputs, io->batch * merge_numel (l));
}

static void
add_backward (NerveLayer *l, NerveLayerIO *io)
{
  nerve_add_backward (io->din, io->dout, l->n_inputs, io->batch * merge_numel (l));
}

static gboolean
concat_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  Merge *m = (Merge *) l;
  const NerveShape *s0 = &l->in_shape[0];
  int nd = s0->ndim, axis;
  char a[64], b[64];
  if (!nerve_cfg_int (cfg, "axis", -1, -nd, nd - 1, &axis, error))
    return FALSE;
  if (axis < 0)
    axis += nd;
  m->axis = axis;
  l->out_shape = *s0;
  l->out_shape.dim[axis] = 0;
  for (int i = 0; i < l->n_inputs; i++) {
    const NerveShape *s = &l->in_shape[i];
    gboolean ok = s->ndim == nd;
    for (int d = 0; ok && d < nd; d++)
      ok = d == axis || s->dim[d] == s0->dim[d];
    if (!ok)
      return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                                "input %d has shape %s but input 0 has %s; shapes must agree "
                                "except on axis %d",
                                i, nerve_shape_format (s, a, sizeof a),
                                nerve_shape_format (s0, b, sizeof b), axis);
    l->out_shape.dim[axis] += s->dim[axis];
  }
  m->outer = 1;
  for (int d = 0; d < axis; d++)
    m->outer *= (gsize) s0->dim[d];
  for (int i = 0; i < l->n_inputs; i++)
    m->inner[i] = nerve_shape_numel (&l->in_shape[i]) / m->outer;
  return TRUE;
}

static void
concat_forward (NerveLayer *l, NerveLayerIO *io)
{
  Merge *m = (Merge *) l;
  nerve_concat_forward (io->out, io->in, m->inner, l->n_inputs, io->batch * m->outer);
}

static void
concat_backward (NerveLayer *l, NerveLayerIO *io)
{
  Merge *m = (Merge *) l;
  nerve_concat_backward (io->din, io->dout, m->inner, l->n_inputs, io->batch * m->outer);
}

/* Steps get their inputs back to back (layer.h). */
static void
add_step (NerveLayer *l, const float *in, float *out, float *state)
{
  const gsize n = step_numel (&l->out_shape);
  const float *x[NERVE_MAX_INPUTS];
  for (int i = 0; i < l->n_inputs; i++)
    x[i] = in + (gsize) i * n;
  nerve_add_forward (out, x, l->n_inputs, n);
}

/* A frame of [T,...] inputs joined on a non-time axis: the same concat with the
 * time dimension taken out of outer. */
static void
concat_step (NerveLayer *l, const float *in, float *out, float *state)
{
  Merge *m = (Merge *) l;
  const NerveShape *s0 = &l->in_shape[0];
  const gsize outer = s0->ndim > 1 ? m->outer / (gsize) s0->dim[0] : m->outer;
  if (outer == 1) { /* the usual [T,F] feature concat: the inputs already lie in order */
    memcpy (out, in, step_numel (&l->out_shape) * sizeof (float));
    return;
  }
  const float *x[NERVE_MAX_INPUTS];
  for (int i = 0; i < l->n_inputs; i++) {
    x[i] = in;
    in += outer * m->inner[i];
  }
  nerve_concat_forward (out, x, m->inner, l->n_inputs, outer);
}

static gboolean
concat_can_step (const NerveLayer *l, GError **error)
{
  if (l->in_shape[0].ndim == 1 || ((const Merge *) l)->axis != 0)
    return TRUE;
  return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                            "joins its inputs along the time axis (axis 0), which a stream cannot do "
                            "frame by frame; concatenate features (axis -1)");
}

static gboolean
flatten_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  l->out_shape = nerve_shape_make (1, (int) nerve_shape_numel (&l->in_shape[0]));
  return TRUE;
}

/* "shape": a list of 1 to NERVE_MAX_DIMS-1 sizes per sample, one of which may be -1
 * (inferred from the input's size). */
static gboolean
reshape_configure (NerveLayer *l, NerveCfg *cfg, GError **error)
{
  const NerveShape *in = &l->in_shape[0];
  NerveShape *s = &l->out_shape;
  char a[64];
  int dims[NERVE_MAX_DIMS - 1], len;
  if (!nerve_cfg_int_list (cfg, "shape", NERVE_MAX_DIMS - 1, -1, 1 << 24, dims, &len, error))
    return FALSE;
  if (len == 0)
    return nerve_layer_error (l, error, NERVE_ERROR_INVALID, "'shape' is required");
  int infer = -1;
  gsize known = 1;
  s->ndim = len;
  for (int i = 0; i < len; i++) {
    int v = dims[i];
    if (v == -1 && infer < 0)
      infer = i, v = 1;
    else if (v < 1)
      goto bad;
    s->dim[i] = v;
    known *= (gsize) v;
  }
  gsize numel = nerve_shape_numel (in);
  if (infer >= 0 && numel % known == 0)
    s->dim[infer] = (int) (numel / known);
  if (nerve_shape_numel (s) != numel) {
    char b[64];
    if (infer >= 0)
      s->dim[infer] = -1;
    return nerve_layer_error (l, error, NERVE_ERROR_SHAPE,
                              "cannot reshape input %s (%zu elements) to %s",
                              nerve_shape_format (in, a, sizeof a), numel,
                              nerve_shape_format (s, b, sizeof b));
  }
  return TRUE;
bad:
  return nerve_layer_error (l, error, NERVE_ERROR_INVALID,
                            "'shape' must be a list of 1 to %d positive sizes (one may be -1)",
                            NERVE_MAX_DIMS - 1);
}

static void
view_forward (NerveLayer *l, NerveLayerIO *io)
{
  memcpy (io->out, io->in[0], io->batch * merge_numel (l) * sizeof (float));
}

static void
view_backward (NerveLayer *l, NerveLayerIO *io)
{
  nerve_add_backward (io->din, io->dout, 1, io->batch * merge_numel (l));
}

static void
view_step (NerveLayer *l, const float *in, float *out, float *state)
{
  memcpy (out, in, step_numel (&l->out_shape) * sizeof (float));
}

/* A view streams when it keeps the time axis (or has none on either side); merging
 * time into features would need the whole sequence. */
static gboolean
view_can_step (const NerveLayer *l, GError **error)
{
  const NerveShape *in = &l->in_shape[0], *out = &l->out_shape;
  if ((in->ndim == 1 && out->ndim == 1) || (in->ndim > 1 && out->ndim > 1 && in->dim[0] == out->dim[0]))
    return TRUE;
  char a[64], b[64];
  return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                            "%s -> %s does not keep the leading time axis, so it cannot stream frame by "
                            "frame",
                            nerve_shape_format (in, a, sizeof a), nerve_shape_format (out, b, sizeof b));
}

const NerveLayerClass nerve_add_class = {
  .type = "add", .size = sizeof (Merge), .min_inputs = 2, .max_inputs = NERVE_MAX_INPUTS,
  .configure = add_configure, .forward = add_forward, .backward = add_backward, .step = add_step,
};

const NerveLayerClass nerve_concat_class = {
  .type = "concat", .size = sizeof (Merge), .min_inputs = 2, .max_inputs = NERVE_MAX_INPUTS,
  .configure = concat_configure, .forward = concat_forward, .backward = concat_backward,
  .step = concat_step, .can_step = concat_can_step,
};

const NerveLayerClass nerve_flatten_class = {
  .type = "flatten", .size = sizeof (Merge), .min_inputs = 1, .max_inputs = 1,
  .configure = flatten_configure, .forward = view_forward, .backward = view_backward,
  .step = view_step, .can_step = view_can_step,
};

const NerveLayerClass nerve_reshape_class = {
  .type = "reshape", .size = sizeof (Merge), .min_inputs = 1, .max_inputs = 1,
  .configure = reshape_configure, .forward = view_forward, .backward = view_backward,
  .step = view_step, .can_step = view_can_step,
};
#endif

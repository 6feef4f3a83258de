/* NerveStream: a model run one frame at a time through each layer's step(). Every
 * buffer (per-layer outputs, states, gathered inputs of multi-input layers) lies in one
 * arena allocated by nerve_stream_new, so a step allocates nothing and costs the layers'
 * own work plus one indirect call per layer. */
#include "stream.h"

#include <string.h>

#define STREAM_ALIGN(n) (((gsize) (n) + 15) & ~(gsize) 15) /* 64-byte aligned slots */

typedef struct {
  NerveLayer *layer;
  void (*step) (NerveLayer *l, const float *in, float *out, float *state);
  float *out;    /* one frame of the output */
  float *state;  /* state_size() floats, or NULL */
  float *gather; /* inputs back to back when there are several, else NULL */
  const float *src[NERVE_MAX_INPUTS]; /* the inputs' frames; NULL = the stream input */
  gsize src_n[NERVE_MAX_INPUTS];
} StreamNode;

struct _NerveStream {
  NerveModel *model;
  int n_nodes;
  StreamNode *nodes;
  int in_size, out_size;
  float *arena;
  gsize state_begin, state_end; /* the states' span in the arena, cleared by reset */
};

/* One frame of a shape: time comes first when it has more than one dimension. */
static gsize
frame_numel (const NerveShape *s)
{
  return s->ndim > 1 ? nerve_shape_numel (s) / (gsize) s->dim[0] : nerve_shape_numel (s);
}

void
nerve_stream_free (NerveStream *s)
{
  if (!s)
    return;
  nerve_free_floats (s->arena);
  g_free (s->nodes);
  nerve_model_unref (s->model);
  g_free (s);
}

/* Every shape with a time axis must keep the input's T frames, or frame t of a layer
 * would not be frame t of its input. */
static gboolean
check_time_axis (const NerveLayer *l, int T, GError **error)
{
  char buf[64];
  for (int k = 0; k <= l->n_inputs; k++) {
    const NerveShape *sh = k < l->n_inputs ? &l->in_shape[k] : &l->out_shape;
    if (sh->ndim > 1 && sh->dim[0] != T)
      return nerve_layer_error ((NerveLayer *) l, error, NERVE_ERROR_UNSUPPORTED,
                                "%s %s does not keep the input's %d time frames as its first axis, so "
                                "the model cannot stream",
                                k < l->n_inputs ? "input" : "output", nerve_shape_format (sh, buf, sizeof buf),
                                T);
  }
  return TRUE;
}

NerveStream *
nerve_stream_new (NerveModel *m, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  char buf[64];
  if (m->input_shape.ndim != 2) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED,
                 "the model input is %s per sample; streaming needs a sequence [time, features]",
                 nerve_shape_format (&m->input_shape, buf, sizeof buf));
    return NULL;
  }
  const int T = m->input_shape.dim[0];
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    if (!l->klass->step) {
      nerve_layer_error (l, error, NERVE_ERROR_UNSUPPORTED,
                         "has no streaming step(), so the model cannot run frame by frame");
      return NULL;
    }
    if ((l->klass->can_step && !l->klass->can_step (l, error)) || !check_time_axis (l, T, error))
      return NULL;
  }

  g_autoptr (NerveStream) s = g_new0 (NerveStream, 1);
  s->model = nerve_model_ref (m);
  s->n_nodes = m->n_layers;
  s->nodes = g_new0 (StreamNode, m->n_layers);
  s->in_size = m->input_shape.dim[1];
  s->out_size = (int) frame_numel (&m->layers[m->output]->out_shape);

  /* arena layout: outputs and gathers first, then every state in one span */
  g_autofree gsize *out_at = g_new (gsize, m->n_layers);
  g_autofree gsize *gather_at = g_new (gsize, m->n_layers);
  g_autofree gsize *state_at = g_new (gsize, m->n_layers);
  gsize at = 0;
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    out_at[i] = at;
    at += STREAM_ALIGN (frame_numel (&l->out_shape));
    gather_at[i] = G_MAXSIZE;
    if (l->n_inputs > 1) {
      gsize n = 0;
      for (int k = 0; k < l->n_inputs; k++)
        n += frame_numel (&l->in_shape[k]);
      gather_at[i] = at;
      at += STREAM_ALIGN (n);
    }
  }
  s->state_begin = at;
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    gsize n = l->klass->state_size ? l->klass->state_size (l) : 0;
    state_at[i] = n ? at : G_MAXSIZE;
    at += STREAM_ALIGN (n);
  }
  s->state_end = at;
  if (!(s->arena = nerve_alloc_floats (MAX (at, 1)))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate %zu floats of streaming state", at);
    return NULL;
  }

  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    StreamNode *nd = &s->nodes[i];
    nd->layer = l;
    nd->step = l->klass->step;
    nd->out = s->arena + out_at[i];
    nd->state = state_at[i] == G_MAXSIZE ? NULL : s->arena + state_at[i];
    nd->gather = gather_at[i] == G_MAXSIZE ? NULL : s->arena + gather_at[i];
    for (int k = 0; k < l->n_inputs; k++) {
      nd->src[k] = l->inputs[k] < 0 ? NULL : s->nodes[l->inputs[k]].out;
      nd->src_n[k] = frame_numel (&l->in_shape[k]);
    }
  }
  return g_steal_pointer (&s);
}

void
nerve_stream_reset (NerveStream *s)
{
  g_return_if_fail (s != NULL);
  memset (s->arena, 0, s->state_end * sizeof (float)); /* outputs too: layer_output reads 0 */
}

int
nerve_stream_in_size (const NerveStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->in_size;
}

int
nerve_stream_out_size (const NerveStream *s)
{
  g_return_val_if_fail (s != NULL, 0);
  return s->out_size;
}

const float *
nerve_stream_step (NerveStream *s, const float *in)
{
  g_return_val_if_fail (s != NULL && in != NULL, NULL);
  for (int i = 0; i < s->n_nodes; i++) {
    StreamNode *nd = &s->nodes[i];
    const int k = nd->layer->n_inputs;
    const float *x = nd->src[0] ? nd->src[0] : in;
    if (nd->gather) { /* several inputs: back to back, as step() takes them */
      float *g = nd->gather;
      for (int j = 0; j < k; j++) {
        memcpy (g, nd->src[j] ? nd->src[j] : in, nd->src_n[j] * sizeof (float));
        g += nd->src_n[j];
      }
      x = nd->gather;
    }
    nd->step (nd->layer, x, nd->out, nd->state);
  }
  return s->nodes[s->model->output].out;
}

const float *
nerve_stream_layer_output (NerveStream *s, const char *name)
{
  g_return_val_if_fail (s != NULL && name != NULL, NULL);
  for (int i = 0; i < s->n_nodes; i++)
    if (g_str_equal (s->nodes[i].layer->name, name))
      return s->nodes[i].out;
  return NULL;
}

/* NerveRunner: activations, their gradients and layer caches for one batch size,
 * allocated once, so forward and backward never allocate. */
#include "model.h"

#include <string.h>

struct _NerveRunner {
  NerveModel *model;
  int max_batch;
  guint flags;
  float **out;     /* per layer [max_batch, out_shape] */
  float **dout;    /* per layer, when training */
  float **cache;   /* per layer */
  float *din_input;
  const float *input;
  const int *lengths;
  int batch;
  gboolean training;
  NerveRng *rng;
  guint generation; /* see NerveLayerIO.weights_generation */
};

void
nerve_runner_free (NerveRunner *r)
{
  if (!r)
    return;
  for (int i = 0; i < r->model->n_layers; i++) {
    nerve_free_floats (r->out[i]);
    nerve_free_floats (r->dout ? r->dout[i] : NULL);
    nerve_free_floats (r->cache[i]);
  }
  g_free (r->out);
  g_free (r->dout);
  g_free (r->cache);
  nerve_free_floats (r->din_input);
  nerve_model_unref (r->model);
  g_free (r);
}

NerveRunner *
nerve_runner_new (NerveModel *m, int max_batch, guint flags, GError **error)
{
  g_return_val_if_fail (m != NULL && max_batch > 0, NULL);
  if ((flags & NERVE_RUNNER_GRADS) && !nerve_model_enable_grads (m, error))
    return NULL;
  g_autoptr (NerveRunner) r = g_new0 (NerveRunner, 1);
  r->model = nerve_model_ref (m);
  r->max_batch = max_batch;
  r->flags = flags;
  r->generation = (flags & NERVE_RUNNER_GRADS) ? 0 : 1;
  r->out = g_new0 (float *, m->n_layers);
  r->cache = g_new0 (float *, m->n_layers);
  if (flags & NERVE_RUNNER_GRADS)
    r->dout = g_new0 (float *, m->n_layers);
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    gsize n = (gsize) max_batch * nerve_shape_numel (&l->out_shape);
    gsize c = l->klass->cache_size ? l->klass->cache_size (l, max_batch) : 0;
    if (!(r->out[i] = nerve_alloc_floats (n)) || (r->dout && !(r->dout[i] = nerve_alloc_floats (n))) ||
        (c && !(r->cache[i] = nerve_alloc_floats (c)))) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM,
                   "cannot allocate activations for layer '%s' at batch %d", l->name, max_batch);
      return NULL;
    }
  }
  if ((flags & NERVE_RUNNER_INPUT_GRAD) &&
      !(r->din_input = nerve_alloc_floats ((gsize) max_batch * nerve_shape_numel (&m->input_shape)))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate the input gradient");
    return NULL;
  }
  return g_steal_pointer (&r);
}

static void
fill_io (NerveRunner *r, int i, NerveLayerIO *io)
{
  NerveLayer *l = r->model->layers[i];
  *io = (NerveLayerIO) {
    .batch = r->batch, .training = r->training, .rng = r->rng, .lengths = r->lengths,
    .out = r->out[i], .dout = r->dout ? r->dout[i] : NULL, .cache = r->cache[i],
    .max_batch = r->max_batch, .weights_generation = r->generation,
  };
  for (int k = 0; k < l->n_inputs; k++) {
    int src = l->inputs[k];
    io->in[k] = src < 0 ? r->input : r->out[src];
    if (r->dout)
      io->din[k] = src < 0 ? r->din_input : r->dout[src];
  }
}

const float *
nerve_runner_forward_seq (NerveRunner *r, const float *input, const int *lengths, int batch,
                          gboolean training, NerveRng *rng)
{
  g_return_val_if_fail (batch > 0 && batch <= r->max_batch, NULL);
  g_return_val_if_fail (!training || rng != NULL, NULL);
  r->input = input;
  r->lengths = lengths;
  r->batch = batch;
  r->training = training;
  r->rng = rng;
  for (int i = 0; i < r->model->n_layers; i++) {
    NerveLayerIO io;
    fill_io (r, i, &io);
    r->model->layers[i]->klass->forward (r->model->layers[i], &io);
  }
  return r->out[r->model->output];
}

const float *
nerve_runner_forward (NerveRunner *r, const float *input, int batch, gboolean training, NerveRng *rng)
{
  return nerve_runner_forward_seq (r, input, NULL, batch, training, rng);
}

const float *
nerve_runner_backward (NerveRunner *r, const float *dout)
{
  g_return_val_if_fail (r->dout != NULL, NULL);
  NerveModel *m = r->model;
  for (int i = 0; i < m->n_layers; i++)
    memset (r->dout[i], 0, (gsize) r->batch * nerve_shape_numel (&m->layers[i]->out_shape) * sizeof (float));
  if (r->din_input)
    memset (r->din_input, 0, (gsize) r->batch * nerve_shape_numel (&m->input_shape) * sizeof (float));
  memcpy (r->dout[m->output], dout,
          (gsize) r->batch * nerve_shape_numel (&m->layers[m->output]->out_shape) * sizeof (float));
  for (int i = m->output; i >= 0; i--) {
    NerveLayerIO io;
    fill_io (r, i, &io);
    m->layers[i]->klass->backward (m->layers[i], &io);
  }
  return r->din_input;
}

const float *
nerve_runner_layer_output (NerveRunner *r, const char *name)
{
  for (int i = 0; i < r->model->n_layers; i++)
    if (g_str_equal (r->model->layers[i]->name, name))
      return r->out[i];
  return NULL;
}

void
nerve_runner_weights_changed (NerveRunner *r)
{
  if (r->generation != 0 && ++r->generation == 0)
    r->generation = 1;
}

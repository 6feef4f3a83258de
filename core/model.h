/* A model: a graph of layers built from an architecture JSON, with every parameter in
 * one 64-byte aligned arena (gradients mirror it, so an optimizer step is one flat
 * loop). Weights are immutable once loaded and the model is ref-counted so several
 * streams may share it; per-batch activations live in a NerveRunner.
 *
 * Architecture JSON:
 *   { "input": [1, 28, 28],                       per-sample input shape
 *     "layers": [ { "type": "conv2d", "name": "c1", "filters": 32, ... },
 *                 { "type": "add", "inputs": ["c1", "r2"] }, ... ],
 *     "output": "fc2" }                            optional, default: last layer
 * A layer's input defaults to the previous layer (the model input for the first);
 * "inputs" names other layers or "input". Names default to "<type><index>". */
#pragma once
#include "layer.h"

G_BEGIN_DECLS

typedef struct {
  int ref_count;
  char *architecture;      /* the JSON it was built from */
  GHashTable *metadata;    /* string -> string, saved in the model file */
  NerveShape input_shape;
  int n_layers;
  NerveLayer **layers;     /* topological order */
  int output;              /* index of the output layer */
  gsize n_floats;          /* arena size */
  float *arena;            /* all parameters and buffers */
  float *grad;             /* same layout; NULL until nerve_model_enable_grads() */
  GHashTable *blobs;       /* name -> GBytes: raw bytes saved as U8 tensors (modelfile.h) */
} NerveModel;

NerveModel *nerve_model_new (const char *architecture_json, GError **error);
/* Same, but fails (NERVE_ERROR_FORMAT) before allocating the arena when the parameters
 * add up to more than max_values floats: loaders bound it by the bytes they hold. */
NerveModel *nerve_model_new_bounded (const char *architecture_json, gsize max_values, GError **error);
NerveModel *nerve_model_ref (NerveModel *m);
void nerve_model_unref (NerveModel *m);

/* Initialise every parameter from its declared init, deterministically from seed. */
void nerve_model_init_params (NerveModel *m, guint64 seed);
gboolean nerve_model_enable_grads (NerveModel *m, GError **error);
void nerve_model_zero_grads (NerveModel *m);

const NerveShape *nerve_model_output_shape (const NerveModel *m);
NerveLayer *nerve_model_find_layer (NerveModel *m, const char *name);
NerveParam *nerve_model_find_param (NerveModel *m, const char *name);
gsize nerve_model_n_trainable (const NerveModel *m);
/* Calls fn for every parameter (buffers included) in arena order. */
void nerve_model_foreach_param (NerveModel *m, void (*fn) (NerveParam *p, gpointer data), gpointer data);

void nerve_model_set_meta (NerveModel *m, const char *key, const char *value);
const char *nerve_model_get_meta (const NerveModel *m, const char *key);

/* Activations, gradients and caches for batches of up to max_batch samples. */
typedef struct _NerveRunner NerveRunner;

typedef enum {
  NERVE_RUNNER_GRADS = 1 << 0,      /* keep what backward needs; model grads must be enabled */
  NERVE_RUNNER_INPUT_GRAD = 1 << 1, /* also compute the gradient w.r.t. the model input */
} NerveRunnerFlags;

NerveRunner *nerve_runner_new (NerveModel *m, int max_batch, guint flags, GError **error);
void nerve_runner_free (NerveRunner *r);
/* input is [batch, input_shape]; returns the output [batch, output_shape], owned by r
 * and valid until the next call. rng is used by dropout when training. */
const float *nerve_runner_forward (NerveRunner *r, const float *input, int batch, gboolean training,
                                   NerveRng *rng);
/* Like forward, with per-sample valid lengths of the leading (time) dimension. */
const float *nerve_runner_forward_seq (NerveRunner *r, const float *input, const int *lengths,
                                       int batch, gboolean training, NerveRng *rng);
/* Backpropagates dout ([batch, output_shape]) from the last forward; ADDS into the
 * model's grads. Returns the gradient w.r.t. the input (owned by r) when the runner
 * was made with NERVE_RUNNER_INPUT_GRAD, else NULL. */
const float *nerve_runner_backward (NerveRunner *r, const float *dout);
/* Runners made without NERVE_RUNNER_GRADS assume the model's weights stay as they
 * were at their first forward and may reuse values derived from them; call this after
 * changing weights in place. */
void nerve_runner_weights_changed (NerveRunner *r);
/* The output of a named layer after forward, or NULL. */
const float *nerve_runner_layer_output (NerveRunner *r, const char *name);

/* TRUE when no array/object in json (len bytes, -1 = NUL-terminated) nests deeper than
 * max_depth. json-glib recurses without a limit, so a few MB of "[[[[" overflows the
 * stack: every parser of outside JSON calls this first. */
gboolean nerve_json_depth_ok (const char *json, gssize len, int max_depth);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveModel, nerve_model_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveRunner, nerve_runner_free)

G_END_DECLS

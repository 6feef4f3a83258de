/* The layer interface. A layer is a kernel pair (nerve_<layer>_forward/_backward on
 * raw arrays, in core/layers/<layer>.c) plus a small class that the model graph uses:
 * it reads its JSON config, checks its input shapes, declares its parameters and
 * output shape once at build time, then runs forward/backward on whole batches.
 *
 * Conventions every class follows:
 *  - Tensors are row-major, batch first: an input is [batch, in_shape[i]...].
 *    Sequences are [batch, time, features]; images [batch, channels, height, width].
 *  - backward ADDS into io->din[i] (when not NULL) and into the parameters' grad
 *    arrays; zeroing is the caller's job. This makes fan-out (residuals) free.
 *  - Nothing allocates in forward/backward: scratch that must live from forward to
 *    backward is io->cache (cache_size() floats, 64-byte aligned).
 *  - Token ids travel as floats holding exact integers (< 2^24). */
#pragma once
#include <glib.h>
#include <json-glib/json-glib.h>

#include "error.h"
#include "rng.h"
#include "tensor.h"

G_BEGIN_DECLS

#define NERVE_MAX_INPUTS 8

typedef enum {
  NERVE_INIT_ZERO,
  NERVE_INIT_ONE,
  NERVE_INIT_UNIFORM, /* U(-scale, scale) */
  NERVE_INIT_NORMAL,  /* N(0, scale^2) */
} NerveInit;

typedef enum {
  NERVE_PARAM_NO_DECAY = 1 << 0, /* weight decay / L1 skip it (biases, norm gains) */
  NERVE_PARAM_BUFFER = 1 << 1,   /* saved with the model but not trained (running stats) */
} NerveParamFlags;

typedef struct {
  char *name;     /* full name "<layer>.<suffix>", the key in the model file */
  NerveShape shape;
  NerveInit init;
  float scale;
  guint flags;
  gsize offset;   /* into the model's arena, in floats, 16-float aligned */
  float *data;    /* set when the model is built */
  float *grad;    /* NULL for buffers and for models built without gradients */
} NerveParam;

typedef struct {
  int batch;
  gboolean training;
  NerveRng *rng;                        /* for dropout; valid while training */
  const int *lengths;                   /* [batch] valid time steps, or NULL = all */
  const float *in[NERVE_MAX_INPUTS];
  float *din[NERVE_MAX_INPUTS];         /* NULL when that gradient is not needed */
  float *out;
  const float *dout;
  float *cache;
  int max_batch;                        /* the batch the cache was sized for */
  /* Nonzero in inference runners: the weights are the same as in the last call that
   * saw this value, so weight-derived scratch kept in the cache may be reused. 0 in
   * training runners: always recompute. */
  guint weights_generation;
} NerveLayerIO;

typedef struct _NerveLayer NerveLayer;
typedef struct _NerveCfg NerveCfg;

typedef struct {
  const char *type; /* the "type" in the architecture JSON */
  gsize size;       /* sizeof the struct that embeds NerveLayer as its first member */
  int min_inputs, max_inputs;
  /* Read config, check l->in_shape[0..n_inputs), set l->out_shape, add parameters. */
  gboolean (*configure) (NerveLayer *l, NerveCfg *cfg, GError **error);
  gsize (*cache_size) (const NerveLayer *l, int batch); /* floats; NULL = none */
  void (*forward) (NerveLayer *l, NerveLayerIO *io);
  void (*backward) (NerveLayer *l, NerveLayerIO *io);
  /* Optional streaming: one sample, one time step, carrying state_size() floats.
   * in is in_shape[0] without its time dimension; state starts zeroed. A shape with
   * more than one dimension has time first; a 1-D shape has no time dimension (e.g.
   * the last state of an RNN without return_sequences) and is the whole step. A layer
   * with several inputs gets them back to back in in, in the order of l->inputs. */
  gsize (*state_size) (const NerveLayer *l);
  void (*step) (NerveLayer *l, const float *in, float *out, float *state);
  /* Optional: FALSE (NERVE_ERROR_UNSUPPORTED, saying why) when this configuration has
   * a step() that cannot stream, e.g. a bidirectional RNN; NULL = step() always works. */
  gboolean (*can_step) (const NerveLayer *l, GError **error);
  void (*finalize) (NerveLayer *l); /* free what configure allocated; optional */
} NerveLayerClass;

struct _NerveLayer {
  const NerveLayerClass *klass;
  char *name;
  int n_inputs;
  int inputs[NERVE_MAX_INPUTS];        /* node indices; -1 is the model input */
  NerveShape in_shape[NERVE_MAX_INPUTS];
  NerveShape out_shape;
  int n_params;
  NerveParam *params;
};

/* Helpers for configure(). */
NerveParam *nerve_layer_add_param (NerveLayer *l, const char *suffix, NerveShape shape,
                                   NerveInit init, float scale, guint flags);
gboolean nerve_layer_error (NerveLayer *l, GError **error, int code, const char *fmt, ...)
  G_GNUC_PRINTF (4, 5);

/* Layer configuration read from the layer's JSON object. Keys never read by
 * configure() are reported as errors so a typo cannot silently use a default. */
gboolean nerve_cfg_int (NerveCfg *c, const char *key, int def, int min, int max, int *out, GError **error);
/* An int or a [h, w] pair. */
gboolean nerve_cfg_int2 (NerveCfg *c, const char *key, int def, int min, int max, int out[2], GError **error);
gboolean nerve_cfg_float (NerveCfg *c, const char *key, double def, double min, double max, float *out, GError **error);
gboolean nerve_cfg_bool (NerveCfg *c, const char *key, gboolean def, gboolean *out, GError **error);
/* One of choices (NULL-terminated); *out is its index. */
gboolean nerve_cfg_enum (NerveCfg *c, const char *key, const char *def, const char *const *choices, int *out, GError **error);
gboolean nerve_cfg_has (NerveCfg *c, const char *key);
/* A list of 1..max_len integers in [min, max] into out; *len = 0 when the key is absent. */
gboolean nerve_cfg_int_list (NerveCfg *c, const char *key, int max_len, int min, int max, int *out, int *len,
                             GError **error);

const NerveLayerClass *nerve_layer_class_find (const char *type);
/* NULL-terminated list of every registered class. */
const NerveLayerClass *const *nerve_layer_classes (void);

G_END_DECLS

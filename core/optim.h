/* Optimizers with torch.optim 1.13 semantics: SGD (momentum, dampening, Nesterov,
 * coupled weight decay), Adagrad (lr_decay = 0), Adam (coupled L2 weight decay) and
 * AdamW (decoupled decay). The moments mirror the model's parameter arena, so a step is
 * one flat loop per parameter tensor and a checkpoint saves them as one float array.
 *
 * Parameters flagged NERVE_PARAM_BUFFER are never touched; NERVE_PARAM_NO_DECAY ones
 * get neither weight decay nor the L1 penalty. l1 adds l1·sign(w) to the gradient
 * before the update (sign(0) = 0). The optimizer reads m->grad and never zeroes it. */
#pragma once
#include "model.h"

G_BEGIN_DECLS

typedef enum {
  NERVE_OPTIM_SGD,
  NERVE_OPTIM_ADAGRAD,
  NERVE_OPTIM_ADAM,
  NERVE_OPTIM_ADAMW,
} NerveOptimType;

typedef struct {
  NerveOptimType type;
  float momentum;        /* SGD */
  gboolean nesterov;     /* SGD; needs momentum > 0 and dampening 0 */
  float dampening;       /* SGD */
  float weight_decay;    /* coupled (L2 on the gradient) except for AdamW */
  float l1;              /* L1 penalty, 0 = off */
  float beta1, beta2;    /* Adam, AdamW */
  float eps;             /* Adam, AdamW, Adagrad */
  float adagrad_initial; /* Adagrad's initial_accumulator_value */
} NerveOptimConfig;

typedef struct _NerveOptimizer NerveOptimizer;

/* PyTorch's defaults for the type (the learning rate is passed to each step):
 * SGD momentum 0, dampening 0, no Nesterov, no decay; Adagrad eps 1e-10, initial
 * accumulator 0; Adam betas (0.9, 0.999), eps 1e-8, decay 0; AdamW the same with
 * decay 0.01. l1 is 0 for all. */
void nerve_optim_config_defaults (NerveOptimConfig *c, NerveOptimType t);
/* "sgd", "adagrad", "adam" or "adamw": the defaults of that type. */
gboolean nerve_optim_config_parse (NerveOptimConfig *c, const char *type_name, GError **error);
const char *nerve_optim_type_name (NerveOptimType t);

/* Checks the config (NERVE_ERROR_INVALID with the offending field otherwise), enables
 * the model's gradients if needed and allocates zeroed moments. Holds a model ref. */
NerveOptimizer *nerve_optimizer_new (NerveModel *m, const NerveOptimConfig *c, GError **error);
void nerve_optimizer_step (NerveOptimizer *o, float lr);
void nerve_optimizer_free (NerveOptimizer *o);
const NerveOptimConfig *nerve_optimizer_get_config (NerveOptimizer *o);

/* For checkpoints and --resume: every moment as one float array of state_size floats
 * (k copies of the arena layout: SGD with momentum 1, Adagrad 1, Adam/AdamW 2; plain SGD
 * 0 and state NULL), owned by the optimizer and writable, plus the number of steps taken
 * (Adam's bias correction and SGD's first momentum step depend on it). */
gsize nerve_optimizer_state_size (NerveOptimizer *o);
float *nerve_optimizer_state (NerveOptimizer *o);
gint64 nerve_optimizer_get_step (NerveOptimizer *o);
void nerve_optimizer_set_step (NerveOptimizer *o, gint64 step);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveOptimizer, nerve_optimizer_free)

G_END_DECLS

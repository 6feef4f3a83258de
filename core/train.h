/* Supervised training of classifiers: the epoch loop, validation, early stopping that
 * keeps the best model, atomic checkpoints every epoch and exact resumption. */
#pragma once
#include "dataset.h"
#include "early-stop.h"
#include "model.h"
#include "optim.h"
#include "schedule.h"

G_BEGIN_DECLS

typedef struct {
  int epochs;
  int batch;
  guint64 seed;
  NerveOptimConfig optim;
  NerveSchedule schedule;      /* base_lr, warm-up, decay; total_steps filled in by the trainer */
  float clip_norm;             /* 0 = off */
  int patience;                /* early stopping on validation accuracy; 0 = off */
  float min_delta;
  const float *class_weights;  /* [n_classes] or NULL */
  gboolean augment_flip;       /* random horizontal flips of [C,H,W] images */
  const char *out;             /* best model (by validation accuracy) written here */
  const char *checkpoint;      /* written atomically after every epoch; NULL = none */
  gboolean resume;             /* continue from checkpoint if it exists */
  int stop_after;              /* end this run after so many epochs (0 = run them all);
                                * resuming later continues as if never stopped */
  gboolean baseline_first;     /* validate the starting weights first (fine-tuning): they stay
                                * the best, and are written to out, unless an epoch beats them */
} NerveTrainConfig;

typedef enum {
  NERVE_TRAIN_BATCH,     /* during an epoch, every few batches */
  NERVE_TRAIN_EPOCH_END, /* after validation */
} NerveTrainPhase;

typedef struct {
  NerveTrainPhase phase;
  int epoch, epochs;           /* 1-based */
  int batch_index, batches;    /* within the epoch */
  double train_loss, train_acc;/* running means over the epoch so far */
  double val_loss, val_acc;    /* EPOCH_END only */
  double items_per_s, elapsed_s, eta_s;
  float lr;
  gboolean improved;           /* EPOCH_END: new best, model written */
  gboolean stopping;           /* EPOCH_END: early stopping ends training */
} NerveTrainProgress;

typedef void (*NerveTrainProgressFn) (const NerveTrainProgress *p, gpointer user_data);

/* Trains m in place (it ends holding the best weights). Returns FALSE with error on
 * bad configuration, data/model mismatch, I/O failure or a non-finite loss.
 * Sequence data (train->lengths set) goes through nerve_runner_forward_seq, and its
 * batches are bucketed by length: each epoch's shuffled order is sorted by length
 * within windows of NERVE_TRAIN_BUCKET_WINDOW batches, then the batches are shuffled,
 * so a batch holds sequences of similar length and recurrent layers stop at the
 * batch's longest one. Everything stays a function of (seed, epoch). */
#define NERVE_TRAIN_BUCKET_WINDOW 50
gboolean nerve_train_classifier (NerveModel *m, const NerveDataset *train, const NerveDataset *val,
                                 const NerveTrainConfig *cfg, NerveTrainProgressFn progress,
                                 gpointer user_data, GError **error);

typedef struct {
  double loss, accuracy;
  int n_classes;
  int *confusion;   /* [n_classes * n_classes], row = true class, column = predicted */
} NerveEvalResult;

/* Eval-mode forward over the whole dataset in batches (sequences sorted by length,
 * which changes nothing but the speed). */
gboolean nerve_evaluate_classifier (NerveModel *m, const NerveDataset *d, int batch,
                                    NerveEvalResult *result, GError **error);
void nerve_eval_result_clear (NerveEvalResult *r);

/* The trainer's checkpoint (shared by every task's training loop): the model with its
 * metadata, the optimizer's moments and step, the early-stopping state and the number
 * of epochs done, written atomically. load returns the epochs done (m's weights, es
 * and opt restored), or -1 with error when the file is not a checkpoint of m's
 * architecture and optimizer. */
gboolean nerve_train_save_checkpoint (NerveModel *m, const char *path, int epoch, const NerveEarlyStop *es,
                                      NerveOptimizer *opt, GError **error);
int nerve_train_load_checkpoint (NerveModel *m, const char *path, NerveEarlyStop *es, NerveOptimizer *opt,
                                 GError **error);

G_END_DECLS

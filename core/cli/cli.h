/* The `nerve` command-line tool: one file per subcommand. */
#pragma once
#include "nerve.h"

int nerve_cli_train (int argc, char **argv);
int nerve_cli_eval (int argc, char **argv);
int nerve_cli_info (int argc, char **argv);
int nerve_cli_finetune (int argc, char **argv);
int nerve_cli_split (int argc, char **argv);
int nerve_cli_import (int argc, char **argv);
int nerve_cli_score (int argc, char **argv);
int nerve_cli_denoise (int argc, char **argv);

/* Text tasks (text.c, train-text.c) */
typedef struct {
  const char *out, *checkpoint, *data_root;
  gboolean resume;
  int stop_after, threads;
  int steps_per_epoch; /* denoise: overrides [train] steps_per_epoch when > 0 */
} NerveCliTrainOptions;
int nerve_cli_train_text (NerveRecipe *r, const NerveCliTrainOptions *o);
/* Denoise tasks (train-denoise.c): a recipe with task = denoise, and
 * `nerve finetune MODEL --speech DIR --noise DIR` (argv as nerve_cli_finetune's). */
int nerve_cli_train_denoise (NerveRecipe *r, const NerveCliTrainOptions *o);
int nerve_cli_finetune_denoise (int argc, char **argv);
/* TRUE for models whose nerve.task is a text task. */
gboolean nerve_cli_is_text_model (NerveModel *m);
/* The model's label names (nerve.labels, a JSON list), NULL-terminated. */
char **nerve_cli_model_labels (NerveModel *m, GError **error);
char *nerve_cli_labels_json (char **labels, int n);
/* Loads a text file with the model's labels and encodes it with its tokenizer and
 * max_length; *text_out (may be NULL) gets the texts. Prints what it loaded. */
NerveDataset *nerve_cli_load_text_for_model (NerveModel *m, const NerveTokenizer *t, const char *path,
                                             const NerveTextLoadOptions *o, NerveTextDataset **text_out,
                                             GError **error);
/* accuracy, per-class precision/recall/F1, confusion matrix */
void nerve_cli_print_report (const NerveEvalResult *r, char **labels, int n);

/* Prints "nerve <cmd>: <message>" to stderr and returns the exit status 1. */
int nerve_cli_fail (const char *cmd, GError *error);
/* Parses options; on --help or bad options prints and returns FALSE with *status set. */
gboolean nerve_cli_parse (GOptionContext *ctx, int *argc, char ***argv, int want_args, int *status);

/* Progress output for long work: a live bar on a terminal, plain lines otherwise. */
void nerve_cli_train_progress (const NerveTrainProgress *p, gpointer user_data);

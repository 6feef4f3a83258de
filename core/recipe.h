/* Training recipes: key files in models/<family>/ naming the architecture, data,
 * optimizer, schedule, regularisation, epochs and early stopping. Unknown groups or
 * keys are errors, so a typo never silently trains with a default. */
#pragma once
#include "denoise-train.h"
#include "textdata.h"
#include "tokenizer.h"
#include "train.h"
#include "word2vec.h"

G_BEGIN_DECLS

typedef struct {
  char *path;
  char *architecture;   /* JSON text (from [model] architecture = FILE, relative to the recipe) */
  char *task;           /* [model] task, default "classify" */
  char *data_format;    /* [data] format: "idx" */
  char *data_path;      /* [data] path */
  int validation;       /* [data] validation: samples held out of train */
  float mean, std;      /* [data] normalisation applied to inputs, stored in the model */
  NerveTrainConfig train;
  float lr;

  /* Text tasks (task = sentiment or text-classify; data formats tsv, sst2, sst-trees).
   * Data paths are relative to data_root, itself relative to the recipe. */
  gboolean text;             /* a text task */
  char *data_root;           /* [data] root, resolved; default: the recipe's folder */
  NerveTextFormat text_format;
  gboolean phrases;          /* [data] phrases: SST trees, train on every phrase */
  gboolean fine_grained;     /* [data] fine_grained: SST's 5 classes, not binary */
  gboolean dedup;            /* [data] dedup: drop repeated training texts (default on with phrases) */
  char **labels;             /* [data] labels: names for integer labels, or NULL */
  char *validation_path;     /* [data] validation_path, or NULL */
  double validation_fraction;/* [data] validation_fraction: held out of train (default 0.1) */
  char *test_path;           /* [data] test_path: reported after training, never used for selection */
  NerveTextFormat test_format; /* [data] test_format (default: format) */
  double test_fraction;      /* [data] test_fraction: held out of train first, by test_seed */
  int test_seed;             /* [data] test_seed (default 1) */
  int max_length;            /* [text] max_length: tokens per text (default 64) */
  NerveTokenizerTrainOptions tokenizer; /* [tokenizer] vocab_size, model_type, lowercase, ... */
  char **corpus;             /* [tokenizer] corpus: extra text files, one text per line */
  int corpus_max_lines;      /* [tokenizer] corpus_max_lines: lines read per corpus file (0 = all) */
  char *tok_strings[2];      /* owned model_type and normalization */
  /* [pretrain] method = word2vec: skip-gram vectors learned from the tokenizer's
   * training text initialise an embedding layer before training. */
  gboolean pretrain;
  char *pretrain_layer;      /* [pretrain] layer (default: the first embedding) */
  NerveWord2VecOptions word2vec; /* [pretrain] epochs, window, negatives, subsample, lr, seed */
  /* task = denoise: the data, mixing, front end and loss (denoise-train.h); data
   * paths are relative to data_root ([data] root, relative to the recipe). */
  NerveDenoiseRecipe *denoise;
} NerveRecipe;

NerveRecipe *nerve_recipe_load (const char *path, GError **error);
/* A data path of the recipe: absolute paths as they are, others under data_root. */
char *nerve_recipe_data_path (const NerveRecipe *r, const char *path);
void nerve_recipe_free (NerveRecipe *r);

/* Typed optional values of a recipe's key file, for the task parsers: an absent key
 * keeps *v, a malformed or out-of-range one fails naming path, group and key. */
gboolean nerve_recipe_get_double (GKeyFile *kf, const char *path, const char *g, const char *k, double min,
                                  double max, double *v, GError **error);
gboolean nerve_recipe_get_float (GKeyFile *kf, const char *path, const char *g, const char *k, double min,
                                 double max, float *v, GError **error);
gboolean nerve_recipe_get_int (GKeyFile *kf, const char *path, const char *g, const char *k, int min, int max,
                               int *v, GError **error);
gboolean nerve_recipe_get_bool (GKeyFile *kf, const char *path, const char *g, const char *k, gboolean *v,
                                GError **error);

/* task = denoise (denoise-recipe.c): whether group/key is one of its own keys, and the
 * parser of those (*data_root gets [data] root resolved from dir, the recipe's folder). */
gboolean nerve_denoise_recipe_known_key (const char *group, const char *key);
NerveDenoiseRecipe *nerve_denoise_recipe_parse (GKeyFile *kf, const char *path, const char *dir, char **data_root,
                                                GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveRecipe, nerve_recipe_free)

G_END_DECLS

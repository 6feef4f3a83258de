/* Training recipes: key files in models/<family>/ naming the architecture, data,
 * optimizer, schedule, regularisation, epochs and early stopping. Unknown groups or
 * keys are errors, so a typo never silently trains with a default. */
#pragma once
#include "train.h"

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
} NerveRecipe;

NerveRecipe *nerve_recipe_load (const char *path, GError **error);
void nerve_recipe_free (NerveRecipe *r);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveRecipe, nerve_recipe_free)

G_END_DECLS

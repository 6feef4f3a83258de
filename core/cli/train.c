/* nerve train RECIPE: train a model from a recipe, writing the best model and an
 * atomic checkpoint after every epoch (--resume continues from it). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void
set_classify_meta (NerveModel *m, const NerveRecipe *r, const NerveDataset *d)
{
  nerve_model_set_meta (m, "nerve.task", r->task);
  g_autofree char *base = g_path_get_basename (r->path);
  nerve_model_set_meta (m, "nerve.recipe", base);
  char buf[G_ASCII_DTOSTR_BUF_SIZE];
  nerve_model_set_meta (m, "nerve.input.mean", g_ascii_dtostr (buf, sizeof buf, r->mean));
  nerve_model_set_meta (m, "nerve.input.std", g_ascii_dtostr (buf, sizeof buf, r->std));
  g_autoptr (JsonBuilder) b = json_builder_new ();
  json_builder_begin_array (b);
  for (int i = 0; i < d->n_classes; i++)
    json_builder_add_string_value (b, d->labels ? d->labels[i] : "");
  json_builder_end_array (b);
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autofree char *labels = json_to_string (root, FALSE);
  nerve_model_set_meta (m, "nerve.labels", labels);
}

int
nerve_cli_train (int argc, char **argv)
{
  g_autofree char *out = NULL, *data_root = NULL;
  gboolean resume = FALSE;
  int epochs = 0, stop_after = 0, threads = 1, steps_per_epoch = 0;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the trained model here (default: RECIPE-NAME.nerve)", "FILE" },
    { "resume", 0, 0, G_OPTION_ARG_NONE, &resume, "Continue from FILE.ckpt left by an interrupted run", NULL },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Override the recipe's epoch count", "N" },
    { "stop-after", 0, 0, G_OPTION_ARG_INT, &stop_after, "Stop after N epochs in this run (continue later with --resume)", "N" },
    { "steps-per-epoch", 0, 0, G_OPTION_ARG_INT, &steps_per_epoch, "Denoise tasks: override [train] steps_per_epoch (quick runs)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default 1; more helps only large layers)", "N" },
    { "data-root", 0, 0, G_OPTION_ARG_FILENAME, &data_root, "Text and denoise tasks: read relative data paths under DIR instead of the recipe's [data] root", "DIR" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("RECIPE - train a model");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 1, &status))
    return status;
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRecipe) r = nerve_recipe_load (argv[1], &err);
  if (!r)
    return nerve_cli_fail ("train", err);
  if (epochs > 0)
    r->train.epochs = epochs;
  if (!out) {
    g_autofree char *base = g_path_get_basename (argv[1]);
    char *dot = strrchr (base, '.');
    if (dot)
      *dot = 0;
    out = g_strconcat (base, ".nerve", NULL);
  }
  g_autofree char *ckpt = g_strconcat (out, ".ckpt", NULL);
  nerve_set_threads (threads);
  if (r->text || r->denoise) {
    NerveCliTrainOptions o = { .out = out, .checkpoint = ckpt, .data_root = data_root, .resume = resume,
                               .stop_after = stop_after, .threads = threads,
                               .steps_per_epoch = steps_per_epoch };
    return r->denoise ? nerve_cli_train_denoise (r, &o) : nerve_cli_train_text (r, &o);
  }

  g_autoptr (NerveDataset) train = nerve_dataset_load_idx (r->data_path, "train", &err);
  if (!train)
    return nerve_cli_fail ("train", err);
  g_autoptr (NerveDataset) val = nerve_dataset_split (train, r->validation, r->train.seed, &err);
  if (!val)
    return nerve_cli_fail ("train", err);
  nerve_dataset_normalize (train, r->mean, r->std);
  nerve_dataset_normalize (val, r->mean, r->std);

  g_autoptr (NerveModel) m = nerve_model_new (r->architecture, &err);
  if (!m) {
    g_prefix_error (&err, "%s: ", argv[1]);
    return nerve_cli_fail ("train", err);
  }
  nerve_model_init_params (m, r->train.seed);
  set_classify_meta (m, r, train);
  printf ("training %s: %zu parameters, %d train / %d validation samples, %d epochs, batch %d, %d thread%s\n",
          argv[1], nerve_model_n_trainable (m), train->n, val->n, r->train.epochs, r->train.batch, threads,
          threads == 1 ? "" : "s");
  if (resume && g_file_test (ckpt, G_FILE_TEST_EXISTS))
    printf ("resuming from %s\n", ckpt);
  fflush (stdout);

  NerveTrainConfig cfg = r->train;
  cfg.out = out;
  cfg.checkpoint = ckpt;
  cfg.resume = resume;
  cfg.stop_after = stop_after;
  g_autoptr (GTimer) timer = g_timer_new ();
  if (!nerve_train_classifier (m, train, val, &cfg, nerve_cli_train_progress, NULL, &err))
    return nerve_cli_fail ("train", err);
  if (stop_after == 0)
    unlink (ckpt);
  printf ("trained in %.1f s; best model (by validation accuracy) in %s\n", g_timer_elapsed (timer, NULL), out);
  return 0;
}

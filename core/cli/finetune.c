/* nerve finetune MODEL DATA: continue training a text model on a user's labelled file
 * with its tokenizer fixed: a seeded held-out part for early stopping, a lower
 * learning rate, and the starting weights kept unless an epoch beats them. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
nerve_cli_finetune (int argc, char **argv)
{
  /* denoise models take their data as --speech and --noise folders */
  for (int i = 1; i < argc; i++)
    if (g_str_has_prefix (argv[i], "--speech") || g_str_has_prefix (argv[i], "--noise"))
      return nerve_cli_finetune_denoise (argc, argv);
  g_autofree char *out = NULL, *format = NULL;
  int epochs = 4, threads = 1, batch = 32, seed = 1, patience = 2;
  double lr = 3e-4, val_fraction = 0.1;
  GOptionEntry entries[] = {
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the fine-tuned model here (default: MODEL-finetuned.nerve)", "FILE" },
    { "epochs", 0, 0, G_OPTION_ARG_INT, &epochs, "Epochs at most (default 4)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam learning rate (default 3e-4, below the training recipes')", "X" },
    { "val-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &val_fraction, "Share of DATA held out for early stopping (default 0.1)", "F" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed of the held-out split, shuffles and dropout (default 1)", "N" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 32)", "N" },
    { "patience", 0, 0, G_OPTION_ARG_INT, &patience, "Stop after N epochs without a better validation accuracy (default 2)", "N" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "Data format: tsv (default), sst2, sst-trees or auto", "FMT" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default 1)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL DATA - fine-tune a text classifier");
  g_option_context_set_summary (ctx, "DATA holds label<TAB>text lines (optionally a header naming label and text;\n"
                                     "labels are the model's names or their indices). The tokenizer stays fixed.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 2, &status))
    return status;
  if (epochs < 1 || epochs > 10000 || batch < 1 || batch > 65536 || !(lr > 0 && lr < 10) ||
      !(val_fraction > 0 && val_fraction < 1) || seed < 0 || patience < 0) {
    fprintf (stderr, "nerve finetune: --epochs, --batch, --lr, --patience or --val-fraction out of range\n");
    return 2;
  }
  nerve_set_threads (threads);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load (argv[1], &err);
  if (!m)
    return nerve_cli_fail ("finetune", err);
  if (!nerve_cli_is_text_model (m)) {
    fprintf (stderr, "nerve finetune: %s is not a text model (nerve.task is %s; denoise models take --speech DIR "
                     "--noise DIR)\n", argv[1],
             nerve_model_get_meta (m, "nerve.task") ? nerve_model_get_meta (m, "nerve.task") : "unset");
    return 1;
  }
  g_autoptr (NerveTokenizer) tok = nerve_tokenizer_from_model (m, &err);
  if (!tok)
    return nerve_cli_fail ("finetune", err);
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.format = NERVE_TEXT_FORMAT_TSV;
  if (format && !nerve_text_format_parse (format, &o.format, &err))
    return nerve_cli_fail ("finetune", err);
  g_autoptr (NerveDataset) train = nerve_cli_load_text_for_model (m, tok, argv[2], &o, NULL, &err);
  if (!train)
    return nerve_cli_fail ("finetune", err);
  int held = (int) (train->n * val_fraction + 0.5);
  g_autoptr (NerveDataset) val = nerve_dataset_split (train, CLAMP (held, 1, MAX (train->n - 1, 1)), (guint64) seed, &err);
  if (!val)
    return nerve_cli_fail ("finetune", err);
  if (!out) {
    g_autofree char *base = g_path_get_basename (argv[1]);
    if (g_str_has_suffix (base, ".nerve"))
      base[strlen (base) - 6] = 0;
    out = g_strconcat (base, "-finetuned.nerve", NULL);
  }
  g_autofree char *from = g_path_get_basename (argv[1]), *data = g_path_get_basename (argv[2]);
  nerve_model_set_meta (m, "nerve.finetuned_from", from);
  g_autofree char *desc = g_strdup_printf ("%s, %d train / %d validation texts, lr %g", data, train->n, val->n, lr);
  nerve_model_set_meta (m, "nerve.finetune.data", desc);

  NerveTrainConfig cfg = { .epochs = epochs, .batch = batch, .seed = (guint64) seed, .clip_norm = 5,
                           .patience = patience, .out = out, .baseline_first = TRUE };
  nerve_optim_config_defaults (&cfg.optim, NERVE_OPTIM_ADAM);
  if (!nerve_schedule_parse (&cfg.schedule, "constant", &err))
    return nerve_cli_fail ("finetune", err);
  cfg.schedule.base_lr = (float) lr;
  printf ("fine-tuning %s on %d texts (%d held out), at most %d epochs, lr %g, batch %d\n", argv[1], train->n,
          val->n, epochs, lr, batch);
  fflush (stdout);
  g_autoptr (GTimer) timer = g_timer_new ();
  if (!nerve_train_classifier (m, train, val, &cfg, nerve_cli_train_progress, NULL, &err))
    return nerve_cli_fail ("finetune", err);
  printf ("fine-tuned in %.1f s; best model (by validation accuracy) in %s\n", g_timer_elapsed (timer, NULL), out);
  return 0;
}

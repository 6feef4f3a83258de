/* nerve eval MODEL DATA: accuracy, per-class precision/recall/F1 and the confusion
 * matrix of a classifier on a dataset. */
#include <stdio.h>

#include "cli.h"

void
nerve_cli_print_report (const NerveEvalResult *r, char **labels, int n)
{
  int C = r->n_classes;
  printf ("samples   %d\naccuracy  %.2f%%\nloss      %.4f\n\n", n, r->accuracy * 100, r->loss);
  printf ("%-14s %9s %9s %9s %8s\n", "class", "precision", "recall", "f1", "support");
  double macro_f1 = 0;
  for (int c = 0; c < C; c++) {
    int tp = r->confusion[c * C + c], pred = 0, support = 0;
    for (int k = 0; k < C; k++) {
      pred += r->confusion[k * C + c];
      support += r->confusion[c * C + k];
    }
    double p = pred ? (double) tp / pred : 0, rc = support ? (double) tp / support : 0;
    double f1 = p + rc > 0 ? 2 * p * rc / (p + rc) : 0;
    macro_f1 += f1 / C;
    printf ("%-14.14s %9.4f %9.4f %9.4f %8d\n", labels && labels[c] ? labels[c] : "", p, rc, f1, support);
  }
  printf ("%-14s %29.4f\n\nconfusion matrix (rows: true class, columns: predicted)\n", "macro f1", macro_f1);
  printf ("%6s", "");
  for (int c = 0; c < C; c++)
    printf (" %6d", c);
  printf ("\n");
  for (int c = 0; c < C; c++) {
    printf ("%6d", c);
    for (int k = 0; k < C; k++)
      printf (" %6d", r->confusion[c * C + k]);
    printf ("\n");
  }
}

int
nerve_cli_eval (int argc, char **argv)
{
  g_autofree char *split = NULL, *format = NULL;
  int batch = 256, threads = 1;
  gboolean phrases = FALSE;
  GOptionEntry entries[] = {
    { "split", 's', 0, G_OPTION_ARG_STRING, &split, "IDX file prefix to evaluate (default: t10k, the test split)", "NAME" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format,
      "Data format: idx (a folder), tsv, sst2, sst-trees or auto (default: idx for folders, else by name and content)", "FMT" },
    { "phrases", 0, 0, G_OPTION_ARG_NONE, &phrases, "SST trees: every labelled phrase, not just the sentences", NULL },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Batch size (default 256)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default 1)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL DATA - evaluate a classifier");
  g_option_context_set_summary (ctx, "DATA is an IDX folder for image models, or a text file for text models:\n"
                                     "label<TAB>text (.tsv, .tsv.gz, optional header naming label and text),\n"
                                     "SST-2 sentences (\"LABEL sentence\") or SST trees.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 2, &status))
    return status;
  if (batch < 1 || batch > 65536) {
    fprintf (stderr, "nerve eval: --batch must be in [1, 65536]\n");
    return 2;
  }
  nerve_set_threads (threads);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load (argv[1], &err);
  if (!m)
    return nerve_cli_fail ("eval", err);
  gboolean idx = format ? g_str_equal (format, "idx")
                        : g_file_test (argv[2], G_FILE_TEST_IS_DIR) || !nerve_cli_is_text_model (m);
  if (!idx) {
    NerveTextLoadOptions o;
    nerve_text_load_options_init (&o);
    o.phrases = phrases;
    if (format && !nerve_text_format_parse (format, &o.format, &err))
      return nerve_cli_fail ("eval", err);
    g_autoptr (NerveTokenizer) t = nerve_tokenizer_from_model (m, &err);
    if (!t)
      return nerve_cli_fail ("eval", err);
    g_autoptr (NerveDataset) d = nerve_cli_load_text_for_model (m, t, argv[2], &o, NULL, &err);
    if (!d)
      return nerve_cli_fail ("eval", err);
    NerveEvalResult r;
    if (!nerve_evaluate_classifier (m, d, batch, &r, &err))
      return nerve_cli_fail ("eval", err);
    nerve_cli_print_report (&r, d->labels, d->n);
    nerve_eval_result_clear (&r);
    return 0;
  }
  g_autoptr (NerveDataset) d = nerve_dataset_load_idx (argv[2], split ? split : "t10k", &err);
  if (!d)
    return nerve_cli_fail ("eval", err);
  const char *mean = nerve_model_get_meta (m, "nerve.input.mean"), *std = nerve_model_get_meta (m, "nerve.input.std");
  float fs = std ? (float) g_ascii_strtod (std, NULL) : 1;
  nerve_dataset_normalize (d, mean ? (float) g_ascii_strtod (mean, NULL) : 0, fs > 0 ? fs : 1);
  NerveEvalResult r;
  if (!nerve_evaluate_classifier (m, d, batch, &r, &err))
    return nerve_cli_fail ("eval", err);
  nerve_cli_print_report (&r, d->labels, d->n);
  nerve_eval_result_clear (&r);
  return 0;
}

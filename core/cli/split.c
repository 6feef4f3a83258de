/* nerve split DATA: the seeded held-out part of a text data file, as sample indices
 * or as the data itself, so other tools (baseline scripts) use the very split a
 * recipe's test_fraction / validation_fraction makes. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int
nerve_cli_split (int argc, char **argv)
{
  g_autofree char *format = NULL, *print = NULL;
  double fraction = 0.1;
  int seed = 1;
  gboolean phrases = FALSE;
  GOptionEntry entries[] = {
    { "fraction", 0, 0, G_OPTION_ARG_DOUBLE, &fraction, "Share held out (default 0.1)", "F" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed (default 1; recipes use [data] test_seed)", "N" },
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "tsv, sst2, sst-trees or auto (default)", "FMT" },
    { "phrases", 0, 0, G_OPTION_ARG_NONE, &phrases, "SST trees: split whole trees of phrases (indices are tree groups)", NULL },
    { "print", 'p', 0, G_OPTION_ARG_STRING, &print,
      "indices (default: held-out sample indices, one per line), heldout or rest (label<TAB>text lines)", "WHAT" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("DATA - print a seeded held-out split");
  g_option_context_set_summary (ctx,
    "Sample i is the i-th data line (0-based; a header line and blank lines do not count).\n"
    "With n samples, k = round(n * fraction) are held out: the first k entries of 0..n-1\n"
    "shuffled by Nerve's generator seeded with --seed (see docs/models/sentiment.md).");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 1, &status))
    return status;
  if (print && !g_strv_contains ((const char *const[]) { "indices", "heldout", "rest", NULL }, print)) {
    fprintf (stderr, "nerve split: --print must be indices, heldout or rest\n");
    return 2;
  }
  g_autoptr (GError) err = NULL;
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.phrases = phrases;
  if (format && !nerve_text_format_parse (format, &o.format, &err))
    return nerve_cli_fail ("split", err);
  g_autoptr (NerveTextDataset) d = nerve_text_dataset_load (argv[1], &o, &err);
  if (!d)
    return nerve_cli_fail ("split", err);
  int units = d->n;
  if (d->groups) {
    units = 0;
    for (int i = 0; i < d->n; i++)
      units = MAX (units, d->groups[i] + 1);
  }
  g_autofree guint8 *held = nerve_holdout_mask (units, fraction, (guint64) seed, NULL, &err);
  if (!held)
    return nerve_cli_fail ("split", err);
  gboolean indices = !print || g_str_equal (print, "indices"), want = !print || !g_str_equal (print, "rest");
  if (indices) {
    for (int i = 0; i < units; i++)
      if (held[i])
        printf ("%d\n", i);
    return 0;
  }
  for (int i = 0; i < d->n; i++)
    if (held[d->groups ? d->groups[i] : i] == want)
      printf ("%s\t%s\n", d->label_names[d->labels[i]], d->texts[i]);
  return 0;
}

/* nerve: train, evaluate and inspect models. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
  const char *name, *summary;
  int (*fn) (int argc, char **argv);
} commands[] = {
  { "train", "train a model from a recipe", nerve_cli_train },
  { "eval", "evaluate a model on a dataset", nerve_cli_eval },
  { "info", "print what a model file holds", nerve_cli_info },
  { "finetune", "continue training a text model (label<TAB>text file) or a denoise model (--speech/--noise folders)", nerve_cli_finetune },
  { "split", "print the seeded held-out split of a text data file", nerve_cli_split },
  { "import", "convert a pretrained model (DTLN ONNX, RNNoise .rnnn) into a Nerve model file", nerve_cli_import },
  { "score", "speech-enhancement metrics (SI-SDR, SNR, STOI) of audio files", nerve_cli_score },
  { "denoise", "remove noise from speech in an audio file", nerve_cli_denoise },
  { "import", "convert a pretrained model (DTLN...) into a Nerve model file", nerve_cli_import },
};

static void
usage (FILE *f)
{
  fprintf (f, "usage: nerve COMMAND [OPTIONS] ARGS\n\ncommands:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    fprintf (f, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (f, "\nnerve COMMAND --help shows a command's options.\n");
}

int
nerve_cli_fail (const char *cmd, GError *error)
{
  fprintf (stderr, "nerve %s: %s\n", cmd, error ? error->message : "failed");
  return 1;
}

gboolean
nerve_cli_parse (GOptionContext *ctx, int *argc, char ***argv, int want_args, int *status)
{
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (ctx, argc, argv, &err)) {
    fprintf (stderr, "nerve: %s\n", err->message);
    *status = 2;
    return FALSE;
  }
  if (*argc - 1 != want_args) {
    g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "%s", help);
    *status = 2;
    return FALSE;
  }
  return TRUE;
}

int
main (int argc, char **argv)
{
  if (argc < 2 || !strcmp (argv[1], "--help") || !strcmp (argv[1], "-h") || !strcmp (argv[1], "help")) {
    usage (argc < 2 ? stderr : stdout);
    return argc < 2 ? 2 : 0;
  }
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (!strcmp (argv[1], commands[i].name))
      return commands[i].fn (argc - 1, argv + 1);
  fprintf (stderr, "nerve: unknown command '%s'\n\n", argv[1]);
  usage (stderr);
  return 2;
}

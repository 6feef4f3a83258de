/* nerve info MODEL: everything a model file holds, without running it. */
#include <stdio.h>

#include "cli.h"

int
nerve_cli_info (int argc, char **argv)
{
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL - print a model file's metadata, architecture and tensors");
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 1, &status))
    return status;
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load (argv[1], &err);
  if (!m)
    return nerve_cli_fail ("info", err);
  g_autoptr (GString) s = g_string_new (NULL);
  g_string_append_printf (s, "file: %s\n", argv[1]);
  nerve_model_describe (m, s);
  fputs (s->str, stdout);
  return 0;
}

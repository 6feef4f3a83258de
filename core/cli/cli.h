/* The `nerve` command-line tool: one file per subcommand. */
#pragma once
#include "nerve.h"

int nerve_cli_train (int argc, char **argv);
int nerve_cli_eval (int argc, char **argv);
int nerve_cli_info (int argc, char **argv);

/* Prints "nerve <cmd>: <message>" to stderr and returns the exit status 1. */
int nerve_cli_fail (const char *cmd, GError *error);
/* Parses options; on --help or bad options prints and returns FALSE with *status set. */
gboolean nerve_cli_parse (GOptionContext *ctx, int *argc, char ***argv, int want_args, int *status);

/* Progress output for long work: a live bar on a terminal, plain lines otherwise. */
void nerve_cli_train_progress (const NerveTrainProgress *p, gpointer user_data);

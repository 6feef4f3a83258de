/* nerve import [--format F] SOURCE OUT: converts another project's pretrained model into
 * a Nerve model file. One row of formats[] per importer (the importers live in core/). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static gboolean
detect_dtln (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_autofree char *p = g_build_filename (path, "model_1.onnx", NULL);
    return g_file_test (p, G_FILE_TEST_EXISTS);
  }
  return g_str_has_suffix (path, ".onnx");
}

/* .rnnn files start with their format line, whatever their name. */
static gboolean
detect_rnnoise (const char *path)
{
  if (g_str_has_suffix (path, ".rnnn"))
    return TRUE;
  guint8 head[64];
  FILE *f = fopen (path, "rb");
  gsize n = f ? fread (head, 1, sizeof head, f) : 0;
  if (f)
    fclose (f);
  return nerve_rnnn_detect (head, n);
}

static const struct {
  const char *name, *help;
  gboolean (*detect) (const char *path); /* may this SOURCE be in this format? */
  NerveModel *(*import) (const char *path, GError **error);
} formats[] = {
  { "dtln", "DTLN denoiser (breizhn/DTLN): its folder or model_1.onnx (model_2.onnx beside it)", detect_dtln,
    nerve_import_dtln },
  { "rnnoise", "RNNoise weights as ffmpeg's arnndn reads them (.rnnn, 'rnnoise-nu model file version 1')",
    detect_rnnoise, nerve_import_rnnoise },
};

int
nerve_cli_import (int argc, char **argv)
{
  g_autofree char *format = NULL, *scaling = NULL;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, "source format (default: from SOURCE)", "FORMAT" },
    { "scaling", 0, 0, G_OPTION_ARG_STRING, &scaling,
      "rnnoise: the level features are computed at, 'rnnoise' (as trained, default) or 'arnndn' (as ffmpeg "
      "runs the model)", "S" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("SOURCE OUT.nerve - convert a pretrained model into a "
                                                         "Nerve model file");
  g_autoptr (GString) desc = g_string_new ("formats:\n");
  for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
    g_string_append_printf (desc, "  %-8s %s\n", formats[i].name, formats[i].help);
  g_string_append (desc, "\nThe weights keep their authors' licence: see `nerve info OUT.nerve` (nerve.license).");
  g_option_context_set_description (ctx, desc->str);
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 2, &status))
    return status;
  const char *src = argv[1], *out = argv[2];

  int f = -1;
  for (gsize i = 0; format && i < G_N_ELEMENTS (formats); i++)
    if (!strcmp (format, formats[i].name))
      f = (int) i;
  for (gsize i = 0; !format && i < G_N_ELEMENTS (formats); i++)
    if (formats[i].detect (src)) {
      f = (int) i;
      break;
    }
  if (f < 0) {
    if (format)
      fprintf (stderr, "nerve import: unknown format '%s'; known:", format);
    else
      fprintf (stderr, "nerve import: cannot tell the format of '%s'; give --format, one of:", src);
    for (gsize i = 0; i < G_N_ELEMENTS (formats); i++)
      fprintf (stderr, " %s", formats[i].name);
    fprintf (stderr, "\n");
    return 2;
  }
  if (!g_file_test (src, G_FILE_TEST_EXISTS)) {
    fprintf (stderr, "nerve import: %s: no such file or folder\n", src);
    return 1;
  }

  if (scaling && (strcmp (formats[f].name, "rnnoise") ||
                  (strcmp (scaling, "rnnoise") && strcmp (scaling, "arnndn")))) {
    fprintf (stderr, "nerve import: --scaling is for --format rnnoise, and is 'rnnoise' or 'arnndn'\n");
    return 2;
  }

  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = formats[f].import (src, &err);
  if (m && scaling)
    nerve_model_set_meta (m, "nerve.rnnoise.scaling", scaling);
  if (!m || !nerve_model_save (m, out, &err))
    return nerve_cli_fail ("import", err);
  gsize n = 0;
  for (int i = 0; i < m->n_layers; i++)
    for (int k = 0; k < m->layers[i]->n_params; k++)
      n += nerve_shape_numel (&m->layers[i]->params[k].shape);
  printf ("imported %s (%s) -> %s: %" G_GSIZE_FORMAT " parameters in the main network%s\n", src, formats[f].name, out,
          n, g_hash_table_size (m->blobs) ? " (more in its blobs: see nerve info)" : "");
  return 0;
}

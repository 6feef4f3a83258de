/* The human-readable summary of a model that `nerve info` prints. */
#include "modelfile.h"
#include "modelfile-private.h"

#include <string.h>

#define VALUE_MAX_CHARS 72

/* One line: control characters escaped, long values cut at a character boundary with
 * their full size noted. Text that is not UTF-8 is shown as a byte count only. */
static void
append_value (GString *out, const char *v)
{
  gsize len = strlen (v);
  if (!g_utf8_validate (v, (gssize) len, NULL)) {
    g_string_append_printf (out, "(%zu bytes, not UTF-8)", len);
    return;
  }
  glong chars = 0;
  const char *p = v;
  for (; *p && chars < VALUE_MAX_CHARS; p = g_utf8_next_char (p), chars++) {
    gunichar c = g_utf8_get_char (p);
    if (c == '\n')
      g_string_append (out, "\\n");
    else if (c == '\t')
      g_string_append (out, "\\t");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf (out, "\\x%02x", c);
    else
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
  }
  if (*p)
    g_string_append_printf (out, "... (%zu bytes)", len);
}

void
nerve_model_describe (NerveModel *m, GString *out)
{
  g_return_if_fail (m != NULL && out != NULL);
  char buf[96], buf2[96];
  const char *task = nerve_model_get_meta (m, "nerve.task");
  g_string_append_printf (out, "format:      Nerve model, format version %s (safetensors layout)\n",
                          NERVE_FORMAT_VERSION);
  g_string_append_printf (out, "task:        %s\n", task ? task : "(none)");
  g_string_append_printf (out, "input:       %s per sample\n", nerve_shape_format (&m->input_shape, buf, sizeof buf));
  g_string_append_printf (out, "output:      %s from layer '%s'\n",
                          nerve_shape_format (nerve_model_output_shape (m), buf, sizeof buf),
                          m->layers[m->output]->name);

  int wname = 4, wtype = 4, wshape = 5;
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    wname = MAX (wname, (int) strlen (l->name));
    wtype = MAX (wtype, (int) strlen (l->klass->type));
  }
  g_autoptr (GPtrArray) ins = g_ptr_array_new_with_free_func (g_free);
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    GString *s = g_string_new (NULL);
    for (int j = 0; j < l->n_inputs; j++)
      g_string_append_printf (s, "%s%s", j ? " + " : "", nerve_shape_format (&l->in_shape[j], buf, sizeof buf));
    wshape = MAX (wshape, (int) s->len);
    g_ptr_array_add (ins, g_string_free (s, FALSE));
  }
  g_string_append_printf (out, "layers:      %d\n", m->n_layers);
  g_string_append_printf (out, "  %-*s  %-*s  %-*s -> %-12s %s\n", wname, "name", wtype, "type", wshape, "input",
                          "output", "params");
  gsize trainable = 0, buffers = 0;
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    gsize n = 0;
    for (int j = 0; j < l->n_params; j++) {
      gsize k = nerve_shape_numel (&l->params[j].shape);
      n += k;
      *((l->params[j].flags & NERVE_PARAM_BUFFER) ? &buffers : &trainable) += k;
    }
    g_string_append_printf (out, "  %-*s  %-*s  %-*s -> %-12s %zu\n", wname, l->name, wtype, l->klass->type, wshape,
                            (const char *) ins->pdata[i], nerve_shape_format (&l->out_shape, buf2, sizeof buf2), n);
  }
  g_string_append_printf (out, "parameters:  %zu trainable + %zu in buffers (%.1f KiB as F32)\n", trainable,
                          buffers, (double) (trainable + buffers) * 4 / 1024);

  g_autoptr (GPtrArray) keys = nerve_modelfile_sorted_keys (m->metadata);
  g_string_append_printf (out, "metadata:    %u keys\n", keys->len);
  for (guint i = 0; i < keys->len; i++) {
    g_string_append_printf (out, "  %s = ", (const char *) keys->pdata[i]);
    append_value (out, g_hash_table_lookup (m->metadata, keys->pdata[i]));
    g_string_append_c (out, '\n');
  }

  g_autoptr (GPtrArray) blobs = nerve_modelfile_sorted_keys (m->blobs);
  guint n_tensors = blobs->len;
  for (int i = 0; i < m->n_layers; i++)
    n_tensors += (guint) m->layers[i]->n_params;
  g_string_append_printf (out, "tensors:     %u\n", n_tensors);
  int wt = 4;
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      wt = MAX (wt, (int) strlen (m->layers[i]->params[j].name));
  for (guint i = 0; i < blobs->len; i++)
    wt = MAX (wt, (int) strlen (blobs->pdata[i]));
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++) {
      NerveParam *p = &m->layers[i]->params[j];
      g_string_append_printf (out, "  %-*s  F32 %s%s\n", wt, p->name, nerve_shape_format (&p->shape, buf, sizeof buf),
                              (p->flags & NERVE_PARAM_BUFFER) ? "  (buffer)" : "");
    }
  for (guint i = 0; i < blobs->len; i++)
    g_string_append_printf (out, "  %-*s  U8 [%zu]  (blob)\n", wt, (const char *) blobs->pdata[i],
                            g_bytes_get_size (g_hash_table_lookup (m->blobs, blobs->pdata[i])));
}

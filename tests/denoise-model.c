#include "denoise-model.h"

#include <math.h>
#include <string.h>

NerveModel *
nerve_test_mask_model (int size, int hop, const char *window, int hidden, gboolean vad, float bias,
                       guint64 seed, GError **error)
{
  int bins = size / 2 + 1, out = bins + (vad ? 1 : 0);
  g_autofree char *rnn = hidden ? g_strdup_printf ("{\"type\": \"gru\", \"hidden\": %d},", hidden) : g_strdup ("");
  g_autofree char *json = g_strdup_printf ("{\"input\": [50, %d], \"layers\": [%s"
                                           "{\"type\": \"dense\", \"name\": \"gains\", \"units\": %d},"
                                           "{\"type\": \"sigmoid\"}]}",
                                           bins, rnn, out);
  NerveModel *m = nerve_model_new (json, error);
  if (!m)
    return NULL;
  nerve_model_init_params (m, seed);
  if (isfinite (bias)) {
    NerveParam *w = nerve_model_find_param (m, "gains.weight"), *b = nerve_model_find_param (m, "gains.bias");
    memset (w->data, 0, sizeof (float) * nerve_shape_numel (&w->shape));
    for (int i = 0; i < out; i++)
      b->data[i] = bias;
  }
  char v[32];
  nerve_model_set_meta (m, "nerve.task", "denoise");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "mask");
  nerve_model_set_meta (m, "nerve.audio.rate", "16000");
  g_snprintf (v, sizeof v, "%d", size);
  nerve_model_set_meta (m, "nerve.stft.size", v);
  g_snprintf (v, sizeof v, "%d", hop);
  nerve_model_set_meta (m, "nerve.stft.hop", v);
  nerve_model_set_meta (m, "nerve.stft.window", window);
  nerve_model_set_meta (m, "nerve.denoise.vad", vad ? "1" : "0");
  return m;
}

/* libFuzzer target for the .rnnn importer (import-rnnoise.h). Invariants that trap:
 * exactly one of model and error; errors name the input and a line; an imported model
 * streams 42 features into 22 gains + 1 voice probability, finite for finite input.
 * Seeds: fuzz/corpus/rnnn/ (a minimal valid model, the tests' tiny model, broken
 * variants); dictionary fuzz/dict/rnnn.dict. */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nerve.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *err = NULL;
  NerveModel *m = nerve_import_rnnoise_from_data ((const char *) data, size, "fuzz", &err);
  if (!m == !err)
    abort ();
  if (err) {
    if (!g_str_has_prefix (err->message, "fuzz") || !g_utf8_validate (err->message, -1, NULL))
      abort ();
    g_error_free (err);
    return 0;
  }
  NerveStream *s = nerve_stream_new (m, NULL);
  if (!s || nerve_stream_in_size (s) != 42 || nerve_stream_out_size (s) != 23)
    abort ();
  float x[42];
  for (int i = 0; i < 42; i++)
    x[i] = (float) (i % 7) - 3.0f;
  for (int t = 0; t < 2; t++) {
    const float *y = nerve_stream_step (s, x);
    for (int i = 0; i < 23; i++)
      if (!isfinite (y[i]))
        abort ();
  }
  nerve_stream_free (s);
  nerve_model_unref (m);
  return 0;
}

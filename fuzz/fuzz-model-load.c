/* libFuzzer target: any bytes through the model loader (and, when they load, through
 * the description `nerve info` prints). Everything is freed so leaks are reported. */
#include <stddef.h>
#include <stdint.h>

#include "nerve.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a g_return_if_fail tripping inside the loader is a bug: make it crash */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  GError *err = NULL;
  GHashTable *extras = NULL;
  NerveModel *m = nerve_model_load_from_data_with_extras (data, size, "fuzz", &extras, &err);
  if (m) {
    GString *s = g_string_new (NULL);
    nerve_model_describe (m, s);
    g_string_free (s, TRUE);
    nerve_model_unref (m);
  } else if (!err || err->domain != NERVE_ERROR || !err->message[0]) {
    __builtin_trap (); /* a failed load must explain itself */
  }
  if (extras)
    g_hash_table_unref (extras);
  g_clear_error (&err);
  return 0;
}

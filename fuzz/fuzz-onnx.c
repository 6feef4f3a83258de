/* libFuzzer target: any bytes through the ONNX reader and the DTLN importer. The input
 * is a 4-byte little-endian length L, then L bytes of stage 1 and the rest as stage 2
 * (shorter inputs: all of it as both), so that seeds made from tiny DTLN-shaped exports
 * (tests/gen/dtln.py) reach the importer's shape checks. Everything is freed so leaks
 * are reported. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nerve.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a g_return_if_fail tripping inside the reader is a bug: make it crash */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  return 0;
}

/* A failed parse or import must explain itself. */
static void
check_error (GError *err)
{
  if (!err || err->domain != NERVE_ERROR || !err->message[0])
    __builtin_trap ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *a = data, *b = data;
  size_t na = size, nb = size;
  if (size >= 4) {
    uint32_t l = (uint32_t) data[0] | (uint32_t) data[1] << 8 | (uint32_t) data[2] << 16 | (uint32_t) data[3] << 24;
    if (l <= size - 4) {
      a = data + 4, na = l;
      b = data + 4 + l, nb = size - 4 - l;
    }
  }
  GError *err = NULL;
  NerveOnnxGraph *g1 = nerve_onnx_parse (a, na, "stage1", &err);
  if (!g1) {
    check_error (err);
    g_clear_error (&err);
    return 0;
  }
  NerveOnnxGraph *g2 = nb ? nerve_onnx_parse (b, nb, "stage2", &err) : NULL;
  if (!g2 && nb) {
    check_error (err);
    g_clear_error (&err);
  }
  NerveModel *m = nerve_import_dtln_onnx (g1, "stage1", g2 ? g2 : g1, "stage2", &err);
  if (m) {
    /* an imported model must build a denoiser and run a hop without trouble */
    NerveDenoiser *d = nerve_denoiser_new (m, &err);
    if (!d)
      __builtin_trap ();
    int hop = nerve_denoiser_hop (d);
    float *x = g_new0 (float, hop), *y = g_new (float, hop);
    x[0] = 1;
    nerve_denoiser_process (d, x, y, NULL);
    g_free (x);
    g_free (y);
    nerve_denoiser_free (d);
    nerve_model_unref (m);
  } else {
    check_error (err);
  }
  g_clear_error (&err);
  nerve_onnx_free (g1);
  nerve_onnx_free (g2);
  return 0;
}

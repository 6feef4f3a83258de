/* libFuzzer target for the text dataset loaders. The first byte picks the format
 * (bits 0-1: auto, tsv, sst2, sst-trees), SST phrases (bit 2), five classes (bit 3)
 * and known label names (bit 4); the rest is the file. Invariants that trap: exactly
 * one of dataset and error; texts valid UTF-8 without NUL; labels in range; groups and
 * roots consistent; split, dedup and keep_roots keep those true.
 * Seeds: fuzz/corpus/textdata/ (hand-written; the first byte as above). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nerve.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static void
check (const NerveTextDataset *d)
{
  for (int i = 0; i < d->n; i++) {
    if (!d->texts[i] || !g_utf8_validate (d->texts[i], -1, NULL) || d->labels[i] < 0 || d->labels[i] >= d->n_classes)
      abort ();
    if (d->groups && (d->groups[i] < 0 || d->roots[i] > 1))
      abort ();
  }
  if (d->texts[d->n] || (int) g_strv_length (d->label_names) != d->n_classes)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  static const char *const known[] = { "negative", "positive", NULL };
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.format = (NerveTextFormat) (data[0] & 3);
  o.phrases = (data[0] >> 2) & 1;
  o.fine_grained = (data[0] >> 3) & 1;
  o.labels = (data[0] >> 4) & 1 ? known : NULL;
  GError *err = NULL;
  NerveTextDataset *d = nerve_text_dataset_load_data ((const char *) data + 1, size - 1, "fuzz", &o, &err);
  if ((d == NULL) == (err == NULL) || (err && (err->domain != NERVE_ERROR || !err->message[0])))
    abort ();
  if (err) {
    g_error_free (err);
    return 0;
  }
  check (d);
  NerveTextDataset *v = nerve_text_dataset_split (d, 0.3, 1, &err);
  if ((v == NULL) == (err == NULL))
    abort ();
  g_clear_error (&err);
  check (d);
  if (v) {
    check (v);
    nerve_text_dataset_keep_roots (v);
    check (v);
    nerve_text_dataset_free (v);
  }
  nerve_text_dataset_dedup (d);
  check (d);
  nerve_text_dataset_free (d);
  return 0;
}

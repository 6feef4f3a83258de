/* Sentences per second through the text classification C API (one thread):
 *   build/bench/bench-sentiment MODEL TEXT-FILE [BATCH (default 32)]
 * TEXT-FILE has one text per line (an SST-2 file's "LABEL " prefix is dropped).
 * bench/sentiment.py runs it beside fastText's predict on the same lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve.h"

int
main (int argc, char **argv)
{
  if (argc < 3) {
    fprintf (stderr, "usage: bench-sentiment MODEL TEXT-FILE [BATCH]\n");
    return 2;
  }
  int batch = argc > 3 ? atoi (argv[3]) : 32;
  nerve_set_threads (1);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load (argv[1], &err);
  g_autofree char *text = NULL;
  if (!m || !g_file_get_contents (argv[2], &text, NULL, &err)) {
    fprintf (stderr, "bench-sentiment: %s\n", err->message);
    return 1;
  }
  g_autoptr (NerveTextClassifier) c = nerve_text_classifier_new (m, batch, &err);
  if (!c) {
    fprintf (stderr, "bench-sentiment: %s\n", err->message);
    return 1;
  }
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  GPtrArray *texts = g_ptr_array_new ();
  for (int i = 0; lines[i]; i++)
    if (lines[i][0])
      g_ptr_array_add (texts, (lines[i][0] == '0' || lines[i][0] == '1') && lines[i][1] == ' ' ? lines[i] + 2 : lines[i]);
  int n = (int) texts->len;
  NerveTextResult *res = g_new (NerveTextResult, n);
  /* warm-up, then the median of 5 passes over all lines */
  nerve_text_classifier_run (c, (const char *const *) texts->pdata, MIN (n, batch), NULL, res, NULL);
  double best[5];
  for (int rep = 0; rep < 5; rep++) {
    gint64 t0 = g_get_monotonic_time ();
    if (!nerve_text_classifier_run (c, (const char *const *) texts->pdata, n, NULL, res, &err)) {
      fprintf (stderr, "bench-sentiment: %s\n", err->message);
      return 1;
    }
    best[rep] = (g_get_monotonic_time () - t0) / 1e6;
  }
  for (int i = 0; i < 5; i++)
    for (int j = i + 1; j < 5; j++)
      if (best[j] < best[i]) {
        double t = best[i];
        best[i] = best[j], best[j] = t;
      }
  int pos = 0;
  for (int i = 0; i < n; i++)
    pos += res[i].label == 1;
  printf ("{\"impl\":\"nerve\",\"sentences\":%d,\"batch\":%d,\"seconds\":%.4f,\"per_s\":%.0f,\"positive\":%d}\n", n,
          batch, best[2], n / best[2], pos);
  g_free (res);
  g_ptr_array_free (texts, TRUE);
  return 0;
}

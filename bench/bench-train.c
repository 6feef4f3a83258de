/* Times one training step (forward, cross-entropy, backward, AdamW update) or one
 * batch-1 inference of the benchmark models; bench/compare.py runs it beside the same
 * models in PyTorch and prints the ratios. Output: one JSON line per measurement. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nerve.h"

static char *
read_arch (const char *root, const char *model)
{
  if (g_str_equal (model, "lstm"))
    return g_strdup ("{\"input\":[50,128],\"layers\":["
                     "{\"type\":\"lstm\",\"name\":\"lstm\",\"hidden\":256,\"layers\":2,\"return_sequences\":false},"
                     "{\"type\":\"dense\",\"name\":\"fc\",\"units\":10}]}");
  g_autofree char *path = g_strdup_printf ("%s/models/fashion/%s.json", root, model);
  char *text = NULL;
  if (!g_file_get_contents (path, &text, NULL, NULL)) {
    fprintf (stderr, "bench-train: cannot read %s\n", path);
    exit (2);
  }
  return text;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

int
main (int argc, char **argv)
{
  const char *model = argc > 1 ? argv[1] : "mlp";
  const char *mode = argc > 2 ? argv[2] : "train";
  int threads = argc > 3 ? atoi (argv[3]) : 1;
  const char *root = argc > 4 ? argv[4] : ".";
  gboolean train = g_str_equal (mode, "train");
  int batch = train ? (g_str_equal (model, "lstm") ? 32 : 64) : 1;
  nerve_set_threads (threads);

  g_autofree char *arch = read_arch (root, model);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (arch, &err);
  if (!m) {
    fprintf (stderr, "bench-train: %s\n", err->message);
    return 1;
  }
  nerve_model_init_params (m, 1);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, batch, train ? NERVE_RUNNER_GRADS : 0, &err);
  NerveOptimConfig oc;
  nerve_optim_config_defaults (&oc, NERVE_OPTIM_ADAMW);
  NerveOptimizer *opt = train ? nerve_optimizer_new (m, &oc, &err) : NULL;
  gsize in_n = nerve_shape_numel (&m->input_shape), C = nerve_shape_numel (nerve_model_output_shape (m));
  float *x = nerve_alloc_floats (batch * in_n), *dlogits = nerve_alloc_floats (batch * C);
  int *y = g_new (int, batch);
  NerveRng rng;
  nerve_rng_seed (&rng, 3);
  for (gsize i = 0; i < batch * in_n; i++)
    x[i] = nerve_rng_normal (&rng);
  for (int i = 0; i < batch; i++)
    y[i] = (int) nerve_rng_below (&rng, (guint32) C);

  /* enough steps per sample to take ~0.2 s; median of 7 samples after warm-up */
  int steps = 1;
  double samples[7];
  for (int rep = -2; rep < 7; rep++) {
    gint64 t0 = g_get_monotonic_time ();
    for (int s = 0; s < steps; s++) {
      const float *out = nerve_runner_forward (r, x, batch, train, &rng);
      if (train) {
        memset (dlogits, 0, sizeof (float) * batch * C);
        nerve_cross_entropy (dlogits, out, y, NULL, batch, (int) C, 1.0f);
        nerve_model_zero_grads (m);
        nerve_runner_backward (r, dlogits);
        nerve_optimizer_step (opt, 1e-4f);
      }
    }
    double ms = (g_get_monotonic_time () - t0) / 1000.0 / steps;
    if (rep == -2)
      steps = MAX (1, (int) (200.0 / MAX (ms, 1e-3)));
    if (rep >= 0)
      samples[rep] = ms;
  }
  qsort (samples, 7, sizeof (double), cmp_double);
  printf ("{\"impl\":\"nerve\",\"model\":\"%s\",\"mode\":\"%s\",\"threads\":%d,\"batch\":%d,\"ms\":%.4f}\n", model,
          mode, threads, batch, samples[3]);
  if (opt)
    nerve_optimizer_free (opt);
  nerve_free_floats (x);
  nerve_free_floats (dlogits);
  g_free (y);
  return 0;
}

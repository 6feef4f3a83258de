/* bench-fft: ns per real transform (forward + inverse pair, halved) for the frame sizes
 * the audio front ends use, beside scipy.fft (pocketfft, C++, single precision for
 * float32 input, 1 worker) measured in the same run on batches of 4096 frames so
 * Python's call overhead is amortised.
 *
 *   build/bench/bench-fft [--no-scipy]
 *
 * Times are CPU time of this process (the build machine is shared), median of 7 runs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "nerve.h"

static const int sizes[] = { 256, 400, 480, 512, 960, 1024 };

static double
now (void)
{
  struct timespec t;
  clock_gettime (CLOCK_PROCESS_CPUTIME_ID, &t);
  return (double) t.tv_sec + 1e-9 * (double) t.tv_nsec;
}

static int
cmp_double (const void *a, const void *b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return (x > y) - (x < y);
}

/* ns per transform, median of 7 runs of `reps` forward+inverse pairs */
static double
time_nerve (int n)
{
  NerveFft *f = nerve_fft_new (n, NULL);
  float *x = nerve_alloc_floats (n), *X = nerve_alloc_floats (n + 2);
  for (int i = 0; i < n; i++)
    x[i] = (float) ((i * 7919) % 1000) / 1000.0f - 0.5f;
  int reps = 20000000 / n;
  double t[7];
  for (int r = 0; r < 7; r++) {
    double t0 = now ();
    for (int k = 0; k < reps; k++) {
      nerve_fft_forward (f, x, X);
      nerve_fft_inverse (f, X, x);
    }
    t[r] = (now () - t0) / (2.0 * reps) * 1e9;
  }
  qsort (t, 7, sizeof (double), cmp_double);
  nerve_free_floats (x), nerve_free_floats (X);
  nerve_fft_free (f);
  return t[3];
}

/* same measure for scipy, one line "n ns" per size; NULL when python/scipy is missing */
static char *
time_scipy (void)
{
  GString *sz = g_string_new ("");
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    g_string_append_printf (sz, "%s%d", i ? "," : "", sizes[i]);
  g_autofree char *code = g_strdup_printf (
    "import numpy as np, scipy.fft as F, time\n"
    "for n in (%s,):\n"
    "  x = np.random.default_rng(0).standard_normal((4096, n)).astype(np.float32)\n"
    "  ts = []\n"
    "  for r in range(7):\n"
    "    t0 = time.process_time(); y = F.irfft(F.rfft(x, axis=1, workers=1), n, axis=1, workers=1)\n"
    "    ts.append((time.process_time() - t0) / (2 * 4096) * 1e9)\n"
    "  print(n, sorted(ts)[3])\n",
    sz->str);
  g_string_free (sz, TRUE);
  const char *argv[] = { "/usr/bin/python3", "-c", code, NULL };
  char *out = NULL;
  int status = 0;
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, &out, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL)) {
    g_free (out);
    return NULL;
  }
  return out;
}

int
main (int argc, char **argv)
{
  gboolean scipy = !(argc > 1 && strcmp (argv[1], "--no-scipy") == 0);
  g_autofree char *peer = scipy ? time_scipy () : NULL;
  printf ("%6s %12s %12s %8s\n", "n", "nerve ns", "scipy ns", "ratio");
  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++) {
    int n = sizes[i];
    double ns = time_nerve (n), np = 0;
    for (char *l = peer; l && *l; l = strchr (l, '\n') ? strchr (l, '\n') + 1 : NULL) {
      int m;
      double v;
      if (sscanf (l, "%d %lf", &m, &v) == 2 && m == n)
        np = v;
    }
    if (np > 0)
      printf ("%6d %12.0f %12.0f %8.2f\n", n, ns, np, ns / np);
    else
      printf ("%6d %12.0f %12s %8s\n", n, ns, "-", "-");
  }
  if (scipy && !peer)
    printf ("(scipy peer unavailable: /usr/bin/python3 with scipy not found)\n");
  printf ("ratio = nerve / scipy per transform (scipy.fft: rfft + irfft of 4096 float32 frames per call)\n");
  return 0;
}

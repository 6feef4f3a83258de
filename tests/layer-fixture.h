/* Running one model (usually a single layer) over a PyTorch fixture case through
 * NerveRunner, so the layer class is checked together with its kernels. Header-only,
 * shared by test-pool.c, test-norm.c and test-merge.c. */
#pragma once
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

/* Builds a model from a printf-style architecture; CUnit failure + NULL on error. */
G_GNUC_PRINTF (1, 2) static inline NerveModel *
test_model_new (const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *json = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (!m)
    fprintf (stderr, "  %s: %s\n", json, err->message);
  CU_ASSERT_PTR_NOT_NULL (m);
  return m;
}

#define test_model_error nerve_test_model_error

/* Copies fixture tensor `name` of case c into the parameter `param`. */
static inline void
test_set_param (NerveModel *m, NerveFixture *f, const char *c, const char *name, const char *param)
{
  NerveParam *p = nerve_model_find_param (m, param);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  gsize n;
  float *v = nerve_fixture_tensor (f, c, name, &n);
  CU_ASSERT_FATAL (v && n == nerve_shape_numel (&p->shape));
  memcpy (p->data, v, n * sizeof (float));
  nerve_free_floats (v);
}

/* Forward of the fixture's "x" (batch = its first dimension) vs "y", then backward
 * of "dy" vs the input gradient "dx". Model grads are zeroed first and left for the
 * caller to inspect. */
static inline void
test_runner_fixture (NerveModel *m, NerveFixture *f, const char *c, gboolean training,
                     const int *lengths, double tol)
{
  int dim[5];
  nerve_fixture_shape (f, c, "x", dim);
  int batch = dim[0];
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, batch, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  gsize nx, ny;
  float *x = nerve_fixture_tensor (f, c, "x", &nx), *y = nerve_fixture_tensor (f, c, "y", &ny);
  float *dy = nerve_fixture_tensor (f, c, "dy", NULL), *dx = nerve_fixture_tensor (f, c, "dx", NULL);
  CU_ASSERT_FATAL (x && y && dy && dx);
  CU_ASSERT_EQUAL (ny, batch * nerve_shape_numel (nerve_model_output_shape (m)));
  NerveRng rng;
  nerve_rng_seed (&rng, 1);
  g_autofree char *what = g_strdup_printf ("%s y", c);
  nerve_assert_close (what, nerve_runner_forward_seq (r, x, lengths, batch, training, &rng), y, ny, tol);
  nerve_model_zero_grads (m);
  const float *odx = nerve_runner_backward (r, dy);
  g_free (what);
  what = g_strdup_printf ("%s dx", c);
  nerve_assert_close (what, odx, dx, nx, tol);
  nerve_free_floats (x), nerve_free_floats (y), nerve_free_floats (dy), nerve_free_floats (dx);
}

/* A parameter's gradient against fixture tensor `name`. */
static inline void
test_param_grad (NerveModel *m, NerveFixture *f, const char *c, const char *name, const char *param,
                 double tol)
{
  NerveParam *p = nerve_model_find_param (m, param);
  CU_ASSERT_FATAL (p && p->grad);
  gsize n;
  float *v = nerve_fixture_tensor (f, c, name, &n);
  CU_ASSERT_FATAL (v && n == nerve_shape_numel (&p->shape));
  g_autofree char *what = g_strdup_printf ("%s %s", c, name);
  nerve_assert_close (what, p->grad, v, n, tol);
  nerve_free_floats (v);
}

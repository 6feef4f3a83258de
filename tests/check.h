/* Shared test helpers: the CUnit main, finite-difference gradient checks in double
 * precision, and the PyTorch reference fixtures made by tests/gen/ scripts. */
#pragma once
#include <CUnit/CUnit.h>
#include <glib.h>

#include "model.h"

typedef struct {
  const char *name;
  void (*fn) (void);
} TestCase;

/* Runs every test of one suite, prints CUnit's run summary, and returns the number
 * of failures (CU_basic_run_tests() itself reports success even when tests fail). */
int nerve_test_main (const char *suite, const TestCase *tests);
#define NERVE_TEST_MAIN(suite, ...)                                                               \
  int main (void)                                                                                  \
  {                                                                                                \
    static const TestCase tests[] = { __VA_ARGS__, { NULL, NULL } };                               \
    return nerve_test_main (suite, tests) ? 1 : 0;                                                 \
  }

/* Central finite differences: for each x[i], (L(x+h) - L(x-h)) / 2h against analytic[i].
 * loss() recomputes the scalar loss from the current x. Passes when
 * |fd - an| <= tol * max(1, |fd|, |an|) everywhere; records a CUnit failure naming
 * `what` and the worst index otherwise. Returns the worst relative error. */
double nerve_fd_check (const char *what, double *x, gsize n, const double *analytic,
                       double (*loss) (gpointer ctx), gpointer ctx, double h, double tol);

/* Fill with U(-1,1)·scale from a seeded generator. */
void nerve_test_fill_f64 (double *x, gsize n, guint64 seed, double scale);
void nerve_test_fill_f32 (float *x, gsize n, guint64 seed, float scale);
double nerve_test_dot_f64 (const double *a, const double *b, gsize n);

/* Largest |a-b| / max(1,|b|) over n floats; records a failure above tol. */
double nerve_assert_close (const char *what, const float *a, const float *b, gsize n, double tol);

/* A reference fixture: tests/fixtures/<file>.json as {"cases": {"name": {"config": {...},
 * "tensors": {"x": {"shape": [...], "data": [...]}, ...}}}}. */
typedef struct _NerveFixture NerveFixture;
NerveFixture *nerve_fixture_load (const char *file); /* CUnit failure + NULL if absent */
void nerve_fixture_free (NerveFixture *f);
/* Case names, NULL-terminated, owned by f. */
const char *const *nerve_fixture_cases (NerveFixture *f);
/* Config value of a case as int/double (def when missing). */
int nerve_fixture_int (NerveFixture *f, const char *c, const char *key, int def);
double nerve_fixture_double (NerveFixture *f, const char *c, const char *key, double def);
/* Tensor of a case as a newly allocated, 64-byte aligned float array (free with
 * nerve_free_floats); *n gets its element count. NULL + failure when absent. */
float *nerve_fixture_tensor (NerveFixture *f, const char *c, const char *name, gsize *n);
/* Same for shapes: returns ndim and fills dim[5]. */
int nerve_fixture_shape (NerveFixture *f, const char *c, const char *name, int dim[5]);

/* Where tests find their fixtures and data: NERVE_SOURCE_ROOT set by meson. */
char *nerve_test_path (const char *relative);

/* The shared data folder (datasets, pretrained weights): NERVE_DATA_DIR, else
 * ../shared/data beside the source tree. NULL, printing nothing, when it is not a
 * directory. */
char *nerve_test_data_dir (void);
/* <data folder>/RELATIVE (the folder itself when RELATIVE is NULL) when it exists; else
 * NULL after a SKIP line naming what is missing and NERVE_DATA_DIR. */
char *nerve_test_data_path (const char *relative);
/* Prints "  SKIP: <why>" to stderr, for a test that cannot run here and returns. */
void nerve_test_skip (const char *fmt, ...) G_GNUC_PRINTF (1, 2);

/* Writes <dir>/<prefix>-images-idx3-ubyte[.gz] and -labels-idx1-ubyte: n images of 2x3
 * with pixel k of image i = (i*6+k) % 256 and label i % 10 (label of image 0 replaced
 * by extra_label when >= 0), with the given image magic number. */
void nerve_test_write_idx (const char *dir, const char *prefix, int n, guint32 img_magic, int extra_label,
                           gboolean gz);

/* Runs the built `nerve` binary with args (NULL-terminated) and captures its output. */
typedef struct {
  int status; /* exit status, 128 when killed, -1 when it could not start */
  char *out, *err;
} NerveRun;
NerveRun nerve_test_run_cli (const char *const *args);
/* Checks status and that stdout / stderr contain the given strings (NULL = any),
 * printing both on a mismatch. Returns whether all held. */
gboolean nerve_test_run_check (const NerveRun *r, int status, const char *out_has, const char *err_has);
void nerve_test_run_clear (NerveRun *r);

/* Expects nerve_model_new (json) to fail with a message containing each non-NULL
 * needle; records CUnit failures (and prints the message) otherwise. */
void nerve_test_model_error (const char *json, const char *needle1, const char *needle2);

/* Coarse float finite differences through a whole runner (made with GRADS and
 * INPUT_GRAD): L = sum(forward(x) * rnd); backpropagates rnd, then compares every
 * stride-th element of x ([batch, input]) and of the model's arena with
 * (L(+h) - L(-h)) / 2h. Returns the worst |fd - analytic| / max(1, |fd|); the caller
 * asserts its own bound (the exact checks are per kernel, in double). */
double nerve_test_runner_fd (NerveRunner *r, NerveModel *m, float *x, gsize nx, const int *lengths, int batch,
                             const float *rnd, gsize nout, float h, gsize stride);

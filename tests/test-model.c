/* The model graph: building from JSON, clear errors for bad architectures, and
 * forward/backward through the runner matching finite differences. */
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *mlp =
  "{\"input\":[6],\"layers\":["
  "{\"type\":\"dense\",\"name\":\"fc1\",\"units\":8},"
  "{\"type\":\"tanh\"},"
  "{\"type\":\"dense\",\"name\":\"fc2\",\"units\":3}]}";

static void
test_build_mlp (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (mlp, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_EQUAL (m->n_layers, 3);
  CU_ASSERT_EQUAL (nerve_model_n_trainable (m), 6 * 8 + 8 + 8 * 3 + 3);
  CU_ASSERT_EQUAL (nerve_model_output_shape (m)->dim[0], 3);
  CU_ASSERT_PTR_NOT_NULL (nerve_model_find_param (m, "fc1.weight"));
  CU_ASSERT_PTR_NOT_NULL (nerve_model_find_layer (m, "tanh1"));
  /* parameters start 64-byte aligned */
  CU_ASSERT_EQUAL (((guintptr) nerve_model_find_param (m, "fc2.bias")->data) % 64, 0);
}

static void
test_bad_architectures (void)
{
  nerve_test_model_error ("{", "not valid JSON", NULL);
  nerve_test_model_error ("[]", "must be a JSON object", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[]}", "non-empty", NULL);
  nerve_test_model_error ("{\"input\":[0],\"layers\":[{\"type\":\"relu\"}]}", "positive integers", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"nope\"}]}", "unknown type 'nope'", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":3,\"unit\":3}]}", "unknown key 'unit'", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dense\"}]}", "'units' is required", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":-2}]}", "must be in", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":\"3\"}]}", "must be an integer", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"relu\",\"inputs\":[\"later\"]}]}", "not \"input\" or an earlier layer", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"relu\",\"name\":\"a\"},{\"type\":\"relu\",\"name\":\"a\"}]}", "used twice", NULL);
  nerve_test_model_error ("{\"input\":[4],\"layers\":[{\"type\":\"relu\"}],\"output\":\"x\"}", "output 'x'", NULL);
}

static void
test_runner_gradients (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (mlp, &err);
  nerve_model_init_params (m, 7);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 4, NERVE_RUNNER_GRADS | NERVE_RUNNER_INPUT_GRAD, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float *x = nerve_alloc_floats (4 * 6), *rnd = nerve_alloc_floats (4 * 3);
  nerve_test_fill_f32 (x, 24, 1, 1);
  nerve_test_fill_f32 (rnd, 12, 2, 1);
  /* float forward: a coarse step and loose tolerance, the exact checks are per kernel */
  double worst = nerve_test_runner_fd (r, m, x, 24, NULL, 4, rnd, 12, 1e-2f, 3);
  CU_ASSERT (worst < 2e-3);
  nerve_free_floats (x);
  nerve_free_floats (rnd);
}

/* Inference runners reuse weight-derived data (Winograd filter transforms) between
 * calls; nerve_runner_weights_changed() makes them see new weights. */
static void
test_inference_runner_weight_changes (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new (
    "{\"input\":[8,6,6],\"layers\":[{\"type\":\"conv2d\",\"filters\":8,\"kernel\":3,\"padding\":1}]}", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_init_params (m, 3);
  float *x = nerve_alloc_floats (2 * 288), *y1 = nerve_alloc_floats (2 * 288);
  nerve_test_fill_f32 (x, 2 * 288, 5, 1);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 2, 0, &err);
  memcpy (y1, nerve_runner_forward (r, x, 2, FALSE, NULL), sizeof (float) * 2 * 288);
  nerve_assert_close ("second call", nerve_runner_forward (r, x, 2, FALSE, NULL), y1, 2 * 288, 0);
  for (gsize i = 0; i < m->n_floats; i++)
    m->arena[i] *= 2; /* weights and bias doubled: output doubles */
  nerve_runner_weights_changed (r);
  const float *y2 = nerve_runner_forward (r, x, 2, FALSE, NULL);
  for (int i = 0; i < 2 * 288; i++)
    y1[i] *= 2;
  nerve_assert_close ("after weights changed", y2, y1, 2 * 288, 1e-5);
  nerve_free_floats (x);
  nerve_free_floats (y1);
}

NERVE_TEST_MAIN ("model",
                 { "inference runners see changed weights when told", test_inference_runner_weight_changes },
                 { "build an MLP from JSON", test_build_mlp },
                 { "bad architectures give clear errors", test_bad_architectures },
                 { "runner backward matches finite differences", test_runner_gradients })

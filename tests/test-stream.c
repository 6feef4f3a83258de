/* NerveStream: stepping a model frame by frame from a reset stream gives what
 * nerve_runner_forward_seq gives over the whole [1,T,F] input, for each streamable
 * layer kind and for graphs with branches; reset replays exactly; models that cannot
 * stream are refused naming the layer. */
#include "check.h"
#include "stream.h"

#include <string.h>

#define T 20
#define TOL 2e-5

/* Random statistics, gains and shifts (weight, bias, running_mean, running_var) so
 * that batchnorm's step is not the identity. */
static void
randomize_batchnorm (NerveModel *m, guint64 seed)
{
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    if (!g_str_equal (l->klass->type, "batchnorm"))
      continue;
    for (int k = 0; k < l->n_params; k++) {
      NerveParam *p = &l->params[k];
      gsize n = nerve_shape_numel (&p->shape);
      nerve_test_fill_f32 (p->data, n, seed++, 0.5f);
      if (k == 0 || k == 3) /* weight and running_var in [0.5, 1.5] */
        for (gsize j = 0; j < n; j++)
          p->data[j] += 1.0f;
    }
  }
}

static NerveModel *
make_model (const char *json, guint64 seed)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (json, &err);
  if (!m) {
    printf ("\n  model error: %s\n", err->message);
    CU_FAIL ("model builds");
    return NULL;
  }
  nerve_model_init_params (m, seed);
  randomize_batchnorm (m, seed + 1);
  return m;
}

/* Steps T frames through a fresh stream and compares every frame with forward_seq's
 * (only the last frame when the output has no time axis); then resets and checks the
 * replay is bit-identical. Returns the largest difference. */
static double
check_stream (const char *what, const char *json)
{
  g_autoptr (NerveModel) m = make_model (json, 4242);
  if (!m)
    return -1;
  const int F = m->input_shape.dim[1];
  const NerveShape *os = nerve_model_output_shape (m);
  const gboolean timed = os->ndim > 1;
  const gsize O = timed ? nerve_shape_numel (os) / (gsize) os->dim[0] : nerve_shape_numel (os);

  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  float *x = nerve_alloc_floats ((gsize) T * F);
  nerve_test_fill_f32 (x, (gsize) T * F, 99, 2.0f);
  const float *ref = nerve_runner_forward_seq (r, x, NULL, 1, FALSE, NULL);

  g_autoptr (NerveStream) s = nerve_stream_new (m, &err);
  if (!s)
    printf ("\n  %s: stream error: %s\n", what, err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_EQUAL (nerve_stream_in_size (s), F);
  CU_ASSERT_EQUAL (nerve_stream_out_size (s), (int) O);

  float *first = nerve_alloc_floats ((gsize) T * O);
  double worst = 0;
  for (int pass = 0; pass < 2; pass++) {
    for (int t = 0; t < T; t++) {
      const float *y = nerve_stream_step (s, x + (gsize) t * F);
      CU_ASSERT_PTR_NOT_NULL_FATAL (y);
      if (pass == 0) {
        memcpy (first + (gsize) t * O, y, O * sizeof (float));
        if (timed || t == T - 1) {
          g_autofree char *w = g_strdup_printf ("%s frame %d", what, t);
          double d = nerve_assert_close (w, y, ref + (timed ? (gsize) t * O : 0), O, TOL);
          worst = MAX (worst, d);
        }
      } else {
        CU_ASSERT (memcmp (first + (gsize) t * O, y, O * sizeof (float)) == 0);
      }
    }
    nerve_stream_reset (s);
  }
  /* the comparison is not vacuous: the output moves from frame to frame */
  gboolean moves = FALSE;
  for (gsize i = 0; i < O && T > 1; i++)
    moves |= first[i] != first[(gsize) (T - 1) * O + i];
  CU_ASSERT (moves);
  printf ("\n  %-26s max |stream - forward_seq| = %.2g", what, worst);
  nerve_free_floats (first);
  nerve_free_floats (x);
  return worst;
}

static void
test_dense_activation (void)
{
  check_stream ("dense+tanh", "{\"input\": [20, 9], \"layers\": ["
                              "{\"type\": \"dense\", \"units\": 7}, {\"type\": \"tanh\"},"
                              "{\"type\": \"dense\", \"units\": 5}, {\"type\": \"leaky_relu\"},"
                              "{\"type\": \"dropout\", \"rate\": 0.3}]}");
}

static void
test_gru_stack (void)
{
  check_stream ("gru x2 + dense + sigmoid", "{\"input\": [20, 11], \"layers\": ["
                                            "{\"type\": \"gru\", \"hidden\": 8, \"layers\": 2},"
                                            "{\"type\": \"dense\", \"units\": 11}, {\"type\": \"sigmoid\"}]}");
  check_stream ("gru, two layers", "{\"input\": [20, 6], \"layers\": ["
                                   "{\"type\": \"gru\", \"hidden\": 5}, {\"type\": \"gru\", \"hidden\": 4},"
                                   "{\"type\": \"dense\", \"units\": 3}]}");
}

static void
test_lstm (void)
{
  check_stream ("lstm x2 + dense + relu", "{\"input\": [20, 7], \"layers\": ["
                                          "{\"type\": \"lstm\", \"hidden\": 6, \"layers\": 2},"
                                          "{\"type\": \"dense\", \"units\": 4}, {\"type\": \"relu\"}]}");
  /* no return_sequences: each step is the output the sequence would have ended with */
  check_stream ("lstm last state", "{\"input\": [20, 5], \"layers\": ["
                                   "{\"type\": \"lstm\", \"hidden\": 6, \"return_sequences\": false},"
                                   "{\"type\": \"dense\", \"units\": 3}, {\"type\": \"softmax\"}]}");
}

static void
test_norms (void)
{
  check_stream ("layernorm", "{\"input\": [20, 10], \"layers\": ["
                             "{\"type\": \"dense\", \"units\": 12}, {\"type\": \"layernorm\"},"
                             "{\"type\": \"gelu\"}, {\"type\": \"log_softmax\"}]}");
  check_stream ("batchnorm (inference)", "{\"input\": [20, 10], \"layers\": ["
                                         "{\"type\": \"dense\", \"units\": 12}, {\"type\": \"batchnorm\"},"
                                         "{\"type\": \"gru\", \"hidden\": 4}, {\"type\": \"batchnorm\"}]}");
}

static void
test_concat_branches (void)
{
  check_stream ("concat of two branches",
                "{\"input\": [20, 8], \"layers\": ["
                "{\"type\": \"gru\", \"name\": \"g\", \"hidden\": 6},"
                "{\"type\": \"dense\", \"name\": \"d\", \"units\": 4, \"inputs\": [\"input\"]},"
                "{\"type\": \"concat\", \"name\": \"c\", \"inputs\": [\"g\", \"input\", \"d\"]},"
                "{\"type\": \"dense\", \"units\": 5}]}");
  /* [T,2,k] joined on the last axis: two rows per frame, the general concat path */
  check_stream ("concat inner axis + reshape",
                "{\"input\": [20, 8], \"layers\": ["
                "{\"type\": \"reshape\", \"name\": \"a\", \"shape\": [20, 2, 4]},"
                "{\"type\": \"dense\", \"name\": \"d\", \"units\": 6, \"inputs\": [\"input\"]},"
                "{\"type\": \"reshape\", \"name\": \"b\", \"shape\": [20, 2, 3]},"
                "{\"type\": \"concat\", \"inputs\": [\"a\", \"b\"], \"axis\": 2},"
                "{\"type\": \"softmax\"}, {\"type\": \"reshape\", \"shape\": [20, 14]}]}");
  /* 1-D outputs (last states) concatenated: no time axis on either side */
  check_stream ("concat of last states",
                "{\"input\": [20, 5], \"layers\": ["
                "{\"type\": \"gru\", \"name\": \"g\", \"hidden\": 4, \"return_sequences\": false},"
                "{\"type\": \"lstm\", \"name\": \"l\", \"hidden\": 3, \"return_sequences\": false,"
                " \"inputs\": [\"input\"]},"
                "{\"type\": \"concat\", \"inputs\": [\"g\", \"l\"]}, {\"type\": \"flatten\"},"
                "{\"type\": \"dense\", \"units\": 2}]}");
}

static void
test_add_residual (void)
{
  check_stream ("add residual", "{\"input\": [20, 8], \"layers\": ["
                                "{\"type\": \"dense\", \"name\": \"a\", \"units\": 8},"
                                "{\"type\": \"gru\", \"name\": \"b\", \"hidden\": 8},"
                                "{\"type\": \"dense\", \"name\": \"c\", \"units\": 8},"
                                "{\"type\": \"add\", \"inputs\": [\"a\", \"c\", \"input\"]},"
                                "{\"type\": \"layernorm\"}]}");
}

static void
test_conv1d_causal (void)
{
  check_stream ("conv1d causal",
                "{\"input\": [20, 4], \"layers\": ["
                "{\"type\": \"conv1d\", \"filters\": 6, \"kernel\": 3, \"padding\": \"causal\", \"dilation\": 2},"
                "{\"type\": \"relu\"},"
                "{\"type\": \"conv1d\", \"filters\": 5, \"kernel\": 1, \"padding\": \"same\"},"
                "{\"type\": \"gru\", \"hidden\": 3}]}");
}

/* nerve_stream_new fails with a message containing both needles. */
static void
expect_refused (const char *json, const char *needle1, const char *needle2)
{
  g_autoptr (NerveModel) m = make_model (json, 1);
  if (!m)
    return;
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveStream) s = nerve_stream_new (m, &err);
  CU_ASSERT_PTR_NULL (s);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT (g_error_matches (err, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED));
  gboolean ok = strstr (err->message, needle1) && (!needle2 || strstr (err->message, needle2));
  if (!ok)
    printf ("\n  unexpected message: %s (wanted '%s', '%s')\n", err->message, needle1, needle2);
  CU_ASSERT (ok);
}

static void
test_refuses_unstreamable (void)
{
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"dense\", \"units\": 4},"
                  "{\"type\": \"gru\", \"name\": \"bi\", \"hidden\": 3, \"bidirectional\": true}]}",
                  "layer 'bi' (gru)", "bidirectional");
  expect_refused ("{\"input\": [20, 6], \"layers\": ["
                  "{\"type\": \"conv1d\", \"name\": \"look\", \"filters\": 4, \"kernel\": 3, \"padding\": \"same\"}]}",
                  "layer 'look' (conv1d)", "causal");
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"dense\", \"units\": 4},"
                  "{\"type\": \"time_pool\", \"name\": \"avg\"}, {\"type\": \"dense\", \"units\": 2}]}",
                  "layer 'avg' (time_pool)", "step");
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"flatten\", \"name\": \"flat\"}]}",
                  "layer 'flat' (flatten)", "time axis");
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"reshape\", \"name\": \"r\", \"shape\": [10, 12]}]}",
                  "layer 'r' (reshape)", "time axis");
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"dense\", \"name\": \"d\", \"units\": 4},"
                  "{\"type\": \"concat\", \"name\": \"cat\", \"inputs\": [\"d\", \"d\"], \"axis\": 0}]}",
                  "layer 'cat' (concat)", "time axis");
  expect_refused ("{\"input\": [20, 6], \"layers\": [{\"type\": \"reshape\", \"shape\": [20, 2, 3]},"
                  "{\"type\": \"batchnorm\", \"name\": \"bn\"}]}",
                  "layer 'bn' (batchnorm)", "time");
  expect_refused ("{\"input\": [1, 8, 8], \"layers\": [{\"type\": \"conv2d\", \"filters\": 2, \"kernel\": 3}]}",
                  "[1,8,8]", "[time, features]");
}

static void
test_layer_output (void)
{
  const char *json = "{\"input\": [20, 6], \"layers\": ["
                     "{\"type\": \"gru\", \"name\": \"enc\", \"hidden\": 5},"
                     "{\"type\": \"dense\", \"name\": \"proj\", \"units\": 3},"
                     "{\"type\": \"sigmoid\", \"name\": \"mask\"}]}";
  g_autoptr (NerveModel) m = make_model (json, 7);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 1, 0, NULL);
  g_autoptr (NerveStream) s = nerve_stream_new (m, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  float x[T * 6];
  nerve_test_fill_f32 (x, T * 6, 5, 1.0f);
  nerve_runner_forward_seq (r, x, NULL, 1, FALSE, NULL);
  const float *y = NULL;
  for (int t = 0; t < T; t++)
    y = nerve_stream_step (s, x + t * 6);
  const float *enc = nerve_stream_layer_output (s, "enc");
  const float *mask = nerve_stream_layer_output (s, "mask");
  CU_ASSERT_PTR_NOT_NULL_FATAL (enc);
  CU_ASSERT_PTR_EQUAL (mask, y); /* the output layer's buffer is the step's result */
  nerve_assert_close ("enc last frame", enc, nerve_runner_layer_output (r, "enc") + (T - 1) * 5, 5, TOL);
  nerve_assert_close ("proj last frame", nerve_stream_layer_output (s, "proj"),
                      nerve_runner_layer_output (r, "proj") + (T - 1) * 3, 3, TOL);
  CU_ASSERT_PTR_NULL (nerve_stream_layer_output (s, "nope"));
  CU_ASSERT_PTR_NULL (nerve_stream_layer_output (s, "input"));
  /* reset clears the state: the first frame again equals forward_seq's first frame */
  nerve_stream_reset (s);
  y = nerve_stream_step (s, x);
  nerve_assert_close ("first frame after reset", y, nerve_runner_layer_output (r, "mask"), 3, TOL);
}

/* Two streams over one model are independent: interleaving them changes nothing. */
static void
test_streams_share_model (void)
{
  const char *json = "{\"input\": [20, 4], \"layers\": [{\"type\": \"lstm\", \"hidden\": 5},"
                     "{\"type\": \"dense\", \"units\": 2}]}";
  g_autoptr (NerveModel) m = make_model (json, 3);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (NerveStream) a = nerve_stream_new (m, NULL);
  g_autoptr (NerveStream) b = nerve_stream_new (m, NULL);
  g_autoptr (NerveStream) c = nerve_stream_new (m, NULL);
  float xa[T * 4], xb[T * 4];
  nerve_test_fill_f32 (xa, T * 4, 11, 1.0f);
  nerve_test_fill_f32 (xb, T * 4, 12, 1.0f);
  float ya[2] = { 0 }, yc[2] = { 0 };
  for (int t = 0; t < T; t++) {
    memcpy (ya, nerve_stream_step (a, xa + t * 4), sizeof ya);
    nerve_stream_step (b, xb + t * 4);
  }
  for (int t = 0; t < T; t++)
    memcpy (yc, nerve_stream_step (c, xa + t * 4), sizeof yc);
  CU_ASSERT (memcmp (ya, yc, sizeof ya) == 0);
  CU_ASSERT (memcmp (ya, nerve_stream_layer_output (b, "dense1"), sizeof ya) != 0);
}

NERVE_TEST_MAIN ("stream", { "dense + activations", test_dense_activation }, { "GRU stacks", test_gru_stack },
                 { "LSTM", test_lstm }, { "layernorm and batchnorm", test_norms },
                 { "concat of branches", test_concat_branches }, { "add residual", test_add_residual },
                 { "causal conv1d", test_conv1d_causal }, { "refuses what cannot stream", test_refuses_unstreamable },
                 { "layer_output by name", test_layer_output }, { "streams share a model", test_streams_share_model })

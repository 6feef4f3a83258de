/* Optimizers (10 steps against torch.optim, NO_DECAY and BUFFER handling, the L1
 * penalty, resuming from saved moments), learning-rate schedules against
 * torch.optim.lr_scheduler, clip_grad_norm_ and early stopping. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *tiny = "{\"input\":[3],\"layers\":[{\"type\":\"dense\",\"name\":\"fc\",\"units\":4}]}";

static NerveModel *
tiny_model (void)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (tiny, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_FATAL (nerve_model_enable_grads (m, &err));
  return m;
}

/* grad = a * (p - c): the fixture's quadratic */
static void
quadratic_grad (float *g, const float *p, const float *a, const float *c, gsize n)
{
  for (gsize i = 0; i < n; i++)
    g[i] = a[i] * (p[i] - c[i]);
}

static void
test_optimizers_match_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("optim");
  if (!f)
    return;
  const struct {
    const char *name;
    NerveOptimType type;
  } cases[] = {
    { "sgd", NERVE_OPTIM_SGD },         { "sgd_momentum", NERVE_OPTIM_SGD }, { "sgd_nesterov", NERVE_OPTIM_SGD },
    { "sgd_decay", NERVE_OPTIM_SGD },   { "adagrad", NERVE_OPTIM_ADAGRAD },  { "adam", NERVE_OPTIM_ADAM },
    { "adamw", NERVE_OPTIM_ADAMW },
  };
  for (gsize k = 0; k < G_N_ELEMENTS (cases); k++) {
    const char *c = cases[k].name;
    NerveOptimConfig cfg;
    nerve_optim_config_defaults (&cfg, cases[k].type);
    cfg.momentum = (float) nerve_fixture_double (f, c, "momentum", 0);
    cfg.dampening = (float) nerve_fixture_double (f, c, "dampening", 0);
    cfg.nesterov = nerve_fixture_int (f, c, "nesterov", 0);
    cfg.weight_decay = (float) nerve_fixture_double (f, c, "weight_decay", 0);
    cfg.eps = (float) nerve_fixture_double (f, c, "eps", cfg.eps);
    cfg.beta1 = (float) nerve_fixture_double (f, c, "beta1", cfg.beta1);
    cfg.beta2 = (float) nerve_fixture_double (f, c, "beta2", cfg.beta2);
    cfg.adagrad_initial = (float) nerve_fixture_double (f, c, "initial_accumulator_value", 0);
    g_autoptr (NerveModel) m = tiny_model ();
    NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
    CU_ASSERT_FATAL (w && b && (b->flags & NERVE_PARAM_NO_DECAY) && !(w->flags & NERVE_PARAM_NO_DECAY));
    float *w0 = nerve_fixture_tensor (f, c, "w0", NULL), *b0 = nerve_fixture_tensor (f, c, "b0", NULL);
    float *aw = nerve_fixture_tensor (f, c, "aw", NULL), *ab = nerve_fixture_tensor (f, c, "ab", NULL);
    float *cw = nerve_fixture_tensor (f, c, "cw", NULL), *cb = nerve_fixture_tensor (f, c, "cb", NULL);
    float *lrs = nerve_fixture_tensor (f, c, "lrs", NULL);
    float *ws = nerve_fixture_tensor (f, c, "w", NULL), *bs = nerve_fixture_tensor (f, c, "b", NULL);
    memcpy (w->data, w0, 12 * sizeof (float));
    memcpy (b->data, b0, 4 * sizeof (float));
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveOptimizer) o = nerve_optimizer_new (m, &cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (o);
    for (int s = 0; s < 10; s++) {
      quadratic_grad (w->grad, w->data, aw, cw, 12);
      quadratic_grad (b->grad, b->data, ab, cb, 4);
      nerve_optimizer_step (o, lrs[s]);
      g_autofree char *what = g_strdup_printf ("%s step %d", c, s + 1);
      nerve_assert_close (what, w->data, ws + 12 * s, 12, 1e-5);
      nerve_assert_close (what, b->data, bs + 4 * s, 4, 1e-5);
    }
    CU_ASSERT_EQUAL (nerve_optimizer_get_step (o), 10);
    float *all[] = { w0, b0, aw, ab, cw, cb, lrs, ws, bs };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  nerve_fixture_free (f);
}

static void
fill_params (NerveModel *m)
{
  NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
  nerve_test_fill_f32 (w->data, 12, 1, 1);
  nerve_test_fill_f32 (b->data, 4, 2, 1);
  w->data[5] = 0; /* sign(0) = 0: no L1 push */
  nerve_test_fill_f32 (m->grad, m->n_floats, 3, 1);
}

/* One plain SGD step with weight decay and L1, computed by hand. */
static void
test_l1_and_no_decay (void)
{
  g_autoptr (NerveModel) m = tiny_model ();
  fill_params (m);
  NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
  float w0[12], b0[4];
  memcpy (w0, w->data, sizeof w0);
  memcpy (b0, b->data, sizeof b0);
  NerveOptimConfig cfg;
  nerve_optim_config_defaults (&cfg, NERVE_OPTIM_SGD);
  cfg.weight_decay = 0.02f;
  cfg.l1 = 0.01f;
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveOptimizer) o = nerve_optimizer_new (m, &cfg, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_EQUAL (nerve_optimizer_state_size (o), 0);
  nerve_optimizer_step (o, 0.5f);
  for (int i = 0; i < 12; i++) {
    double sign = w0[i] > 0 ? 1 : w0[i] < 0 ? -1 : 0;
    double expect = w0[i] - 0.5 * (w->grad[i] + 0.02 * w0[i] + 0.01 * sign);
    CU_ASSERT_DOUBLE_EQUAL (w->data[i], expect, 1e-6);
  }
  CU_ASSERT_DOUBLE_EQUAL (w->data[5], -0.5 * w->grad[5], 1e-7);
  for (int i = 0; i < 4; i++) /* bias: NO_DECAY, so neither decay nor L1 */
    CU_ASSERT_DOUBLE_EQUAL (b->data[i], b0[i] - 0.5 * b->grad[i], 1e-7);
}

/* Buffers are never touched, whatever their gradient slot holds. */
static void
test_buffers_untouched (void)
{
  for (int t = 0; t <= NERVE_OPTIM_ADAMW; t++) {
    g_autoptr (NerveModel) m = tiny_model ();
    fill_params (m);
    NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
    b->flags |= NERVE_PARAM_BUFFER; /* as a running statistic would be */
    float w0[12], b0[4];
    memcpy (w0, w->data, sizeof w0);
    memcpy (b0, b->data, sizeof b0);
    NerveOptimConfig cfg;
    nerve_optim_config_defaults (&cfg, (NerveOptimType) t);
    cfg.momentum = 0.9f;
    cfg.weight_decay = 0.1f;
    cfg.l1 = 0.1f;
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveOptimizer) o = nerve_optimizer_new (m, &cfg, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (o);
    for (int s = 0; s < 3; s++)
      nerve_optimizer_step (o, 0.1f);
    CU_ASSERT_EQUAL (memcmp (b->data, b0, sizeof b0), 0);
    CU_ASSERT_NOT_EQUAL (memcmp (w->data, w0, sizeof w0), 0);
  }
}

/* Saving the moments and step count and loading them into a fresh optimizer continues
 * exactly where the first one was. */
static void
test_resume_from_state (void)
{
  for (int t = 0; t <= NERVE_OPTIM_ADAMW; t++) {
    g_autoptr (NerveModel) m1 = tiny_model ();
    g_autoptr (NerveModel) m2 = tiny_model ();
    fill_params (m1);
    NerveOptimConfig cfg;
    nerve_optim_config_defaults (&cfg, (NerveOptimType) t);
    cfg.momentum = 0.9f;
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveOptimizer) o1 = nerve_optimizer_new (m1, &cfg, &err);
    for (int s = 0; s < 4; s++) {
      nerve_test_fill_f32 (m1->grad, m1->n_floats, 100 + s, 1);
      nerve_optimizer_step (o1, 0.05f);
    }
    memcpy (m2->arena, m1->arena, m1->n_floats * sizeof (float));
    g_autoptr (NerveOptimizer) o2 = nerve_optimizer_new (m2, &cfg, &err);
    gsize n = nerve_optimizer_state_size (o1);
    CU_ASSERT_EQUAL (n, (t == NERVE_OPTIM_SGD || t == NERVE_OPTIM_ADAGRAD ? 1 : 2) * m1->n_floats);
    CU_ASSERT_EQUAL_FATAL (nerve_optimizer_state_size (o2), n);
    memcpy (nerve_optimizer_state (o2), nerve_optimizer_state (o1), n * sizeof (float));
    nerve_optimizer_set_step (o2, nerve_optimizer_get_step (o1));
    for (int s = 4; s < 10; s++) {
      nerve_test_fill_f32 (m1->grad, m1->n_floats, 100 + s, 1);
      nerve_test_fill_f32 (m2->grad, m2->n_floats, 100 + s, 1);
      nerve_optimizer_step (o1, 0.05f);
      nerve_optimizer_step (o2, 0.05f);
    }
    CU_ASSERT_EQUAL (memcmp (m1->arena, m2->arena, m1->n_floats * sizeof (float)), 0);
  }
}

static void
expect_invalid (const NerveOptimConfig *cfg, const char *needle)
{
  g_autoptr (NerveModel) m = tiny_model ();
  g_autoptr (GError) err = NULL;
  NerveOptimizer *o = nerve_optimizer_new (m, cfg, &err);
  CU_ASSERT_PTR_NULL (o);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  if (!strstr (err->message, needle)) {
    fprintf (stderr, "  error '%s' does not mention '%s'\n", err->message, needle);
    CU_FAIL ("error message");
  }
  nerve_optimizer_free (o);
}

static void
test_optim_config (void)
{
  NerveOptimConfig c;
  g_autoptr (GError) err = NULL;
  CU_ASSERT (nerve_optim_config_parse (&c, "adamw", &err));
  CU_ASSERT (c.type == NERVE_OPTIM_ADAMW && c.weight_decay == 0.01f && c.eps == 1e-8f && c.beta2 == 0.999f);
  CU_ASSERT (nerve_optim_config_parse (&c, "Adagrad", &err));
  CU_ASSERT (c.type == NERVE_OPTIM_ADAGRAD && c.eps == 1e-10f && c.weight_decay == 0);
  CU_ASSERT (nerve_optim_config_parse (&c, "sgd", &err));
  CU_ASSERT (c.type == NERVE_OPTIM_SGD && c.momentum == 0 && !c.nesterov && c.l1 == 0);
  CU_ASSERT_FALSE (nerve_optim_config_parse (&c, "rmsprop", &err));
  CU_ASSERT (err && strstr (err->message, "'rmsprop'") && strstr (err->message, "adamw"));

  nerve_optim_config_defaults (&c, NERVE_OPTIM_SGD);
  c.nesterov = TRUE;
  expect_invalid (&c, "nesterov needs momentum > 0");
  nerve_optim_config_defaults (&c, NERVE_OPTIM_ADAM);
  c.beta1 = 1.0f;
  expect_invalid (&c, "beta1 and beta2");
  nerve_optim_config_defaults (&c, NERVE_OPTIM_ADAMW);
  c.weight_decay = -1;
  expect_invalid (&c, "weight_decay");
}

static void
test_schedules_match_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("optim");
  if (!f)
    return;
  const char *names[] = { "sched_step", "sched_cosine", "sched_linear", "sched_warmup_cosine", "sched_warmup_step" };
  for (gsize k = 0; k < G_N_ELEMENTS (names); k++) {
    const char *c = names[k];
    NerveSchedule s;
    nerve_schedule_defaults (&s, (NerveScheduleType) nerve_fixture_int (f, c, "type", 0));
    s.base_lr = (float) nerve_fixture_double (f, c, "base_lr", 0);
    s.warmup_steps = nerve_fixture_int (f, c, "warmup_steps", 0);
    s.warmup_start_factor = (float) nerve_fixture_double (f, c, "warmup_start_factor", 1);
    s.step_size = nerve_fixture_int (f, c, "step_size", 1);
    s.gamma = (float) nerve_fixture_double (f, c, "gamma", 1);
    s.total_steps = nerve_fixture_int (f, c, "total_steps", 0);
    s.min_lr = (float) nerve_fixture_double (f, c, "min_lr", 0);
    g_autoptr (GError) err = NULL;
    CU_ASSERT (nerve_schedule_check (&s, &err));
    gsize n;
    float *ref = nerve_fixture_tensor (f, c, "lr", &n);
    float lr[64];
    CU_ASSERT_FATAL (n <= 64);
    for (gsize i = 0; i < n; i++)
      lr[i] = nerve_schedule_lr (&s, (int) i);
    /* relative: the rates are ~0.1 and nerve_assert_close is absolute below 1 */
    for (gsize i = 0; i < n; i++)
      lr[i] = ref[i] != 0 ? lr[i] / ref[i] : lr[i] + 1, ref[i] = 1;
    nerve_assert_close (c, lr, ref, n, 1e-6);
    nerve_free_floats (ref);
  }
  nerve_fixture_free (f);
}

static void
test_schedule_config (void)
{
  NerveSchedule s;
  g_autoptr (GError) err = NULL;
  CU_ASSERT (nerve_schedule_parse (&s, "cosine", &err));
  CU_ASSERT_EQUAL (s.type, NERVE_SCHEDULE_COSINE);
  CU_ASSERT_FALSE (nerve_schedule_check (&s, &err)); /* total_steps not set */
  CU_ASSERT (err && strstr (err->message, "total_steps"));
  g_clear_error (&err);
  s.total_steps = 100;
  s.base_lr = 0.5f;
  s.min_lr = 0.01f;
  CU_ASSERT (nerve_schedule_check (&s, &err));
  CU_ASSERT_DOUBLE_EQUAL (nerve_schedule_lr (&s, 50), 0.01 + 0.49 * 0.5, 1e-6);
  CU_ASSERT_EQUAL (nerve_schedule_lr (&s, 100), 0.01f); /* held at the floor after the end */
  CU_ASSERT_EQUAL (nerve_schedule_lr (&s, 1000), 0.01f);
  CU_ASSERT (nerve_schedule_parse (&s, "step", &err));
  s.step_size = 0;
  CU_ASSERT_FALSE (nerve_schedule_check (&s, &err));
  CU_ASSERT (err && strstr (err->message, "step_size"));
  g_clear_error (&err);
  CU_ASSERT (nerve_schedule_parse (&s, "constant", &err));
  CU_ASSERT_EQUAL (nerve_schedule_lr (&s, 12345), s.base_lr);
  CU_ASSERT_FALSE (nerve_schedule_parse (&s, "exponential", &err));
  CU_ASSERT (err && strstr (err->message, "'exponential'"));
}

static void
test_clip_matches_pytorch (void)
{
  NerveFixture *f = nerve_fixture_load ("optim");
  if (!f)
    return;
  const char *names[] = { "clip", "clip_noop" };
  for (int k = 0; k < 2; k++) {
    const char *c = names[k];
    g_autoptr (NerveModel) m = tiny_model ();
    NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
    float *gw = nerve_fixture_tensor (f, c, "gw", NULL), *gb = nerve_fixture_tensor (f, c, "gb", NULL);
    float *cw = nerve_fixture_tensor (f, c, "cw", NULL), *cb = nerve_fixture_tensor (f, c, "cb", NULL);
    float *norm = nerve_fixture_tensor (f, c, "norm", NULL);
    memcpy (w->grad, gw, 12 * sizeof (float));
    memcpy (b->grad, gb, 4 * sizeof (float));
    float got = nerve_clip_grad_norm (m, (float) nerve_fixture_double (f, c, "max_norm", 0));
    nerve_assert_close (c, &got, norm, 1, 1e-6);
    nerve_assert_close (c, w->grad, cw, 12, 1e-6);
    nerve_assert_close (c, b->grad, cb, 4, 1e-6);
    if (k == 0) { /* the clipped norm is max_norm */
      double s = 0;
      for (int i = 0; i < 12; i++)
        s += (double) w->grad[i] * w->grad[i];
      for (int i = 0; i < 4; i++)
        s += (double) b->grad[i] * b->grad[i];
      CU_ASSERT_DOUBLE_EQUAL (sqrt (s), 1.0, 1e-5);
    }
    float *all[] = { gw, gb, cw, cb, norm };
    for (gsize i = 0; i < G_N_ELEMENTS (all); i++)
      nerve_free_floats (all[i]);
  }
  nerve_fixture_free (f);
}

static void
test_clip_edges (void)
{
  g_autoptr (NerveModel) m = tiny_model ();
  NerveParam *w = nerve_model_find_param (m, "fc.weight"), *b = nerve_model_find_param (m, "fc.bias");
  for (int i = 0; i < 12; i++)
    w->grad[i] = i == 0 ? 3 : i == 1 ? 4 : 0;
  b->flags |= NERVE_PARAM_BUFFER; /* buffers are outside the norm and never scaled */
  for (int i = 0; i < 4; i++)
    b->grad[i] = 100;
  CU_ASSERT_DOUBLE_EQUAL (nerve_clip_grad_norm (m, 0), 5, 1e-6); /* measure only */
  CU_ASSERT_EQUAL (w->grad[0], 3);
  CU_ASSERT_DOUBLE_EQUAL (nerve_clip_grad_norm (m, 2.5f), 5, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (w->grad[0], 1.5, 1e-6);
  CU_ASSERT_DOUBLE_EQUAL (w->grad[1], 2.0, 1e-6);
  CU_ASSERT_EQUAL (b->grad[0], 100);
  w->grad[2] = NAN; /* non-finite: reported, nothing scaled */
  CU_ASSERT (isnan (nerve_clip_grad_norm (m, 1)));
  CU_ASSERT_DOUBLE_EQUAL (w->grad[0], 1.5, 1e-6);
}

typedef struct {
  float metric;
  gboolean improved, stop;
} Epoch;

static void
run_epochs (NerveEarlyStop *e, const Epoch *ep, int n)
{
  for (int i = 0; i < n; i++) {
    gboolean improved = !ep[i].improved;
    gboolean stop = nerve_early_stop_update (e, ep[i].metric, i, &improved);
    if (improved != ep[i].improved || stop != ep[i].stop) {
      fprintf (stderr, "  early stop epoch %d metric %g: improved %d stop %d, expected %d %d\n", i,
               (double) ep[i].metric, improved, stop, ep[i].improved, ep[i].stop);
      CU_FAIL ("early stopping sequence");
    }
  }
}

static void
test_early_stop (void)
{
  NerveEarlyStop e;
  nerve_early_stop_init (&e, 2, FALSE, 0);
  const Epoch loss[] = { { 1.0f, TRUE, FALSE }, { 0.8f, TRUE, FALSE }, { 0.85f, FALSE, FALSE }, { 0.7f, TRUE, FALSE },
                         { 0.75f, FALSE, FALSE }, { NAN, FALSE, TRUE } };
  run_epochs (&e, loss, G_N_ELEMENTS (loss));
  CU_ASSERT_EQUAL (e.best_epoch, 3);
  CU_ASSERT_EQUAL (e.best, 0.7f);

  nerve_early_stop_init (&e, 3, TRUE, 0.01f);
  const Epoch acc[] = { { 0.5f, TRUE, FALSE },   { 0.6f, TRUE, FALSE },   { 0.605f, FALSE, FALSE },
                        { 0.62f, TRUE, FALSE },  { 0.62f, FALSE, FALSE }, { 0.625f, FALSE, FALSE },
                        { 0.629f, FALSE, TRUE }, { 0.9f, TRUE, FALSE } };
  run_epochs (&e, acc, G_N_ELEMENTS (acc));
  CU_ASSERT_EQUAL (e.best_epoch, 7);
  CU_ASSERT_EQUAL (e.bad_epochs, 0);

  nerve_early_stop_init (&e, 0, FALSE, 0); /* patience 0: never stops */
  CU_ASSERT_FALSE (nerve_early_stop_update (&e, 1, 0, NULL));
  for (int i = 1; i < 50; i++)
    CU_ASSERT_FALSE (nerve_early_stop_update (&e, 2, i, NULL));
}

NERVE_TEST_MAIN ("optim",
                 { "optimizers vs torch.optim (10 steps)", test_optimizers_match_pytorch },
                 { "L1 penalty and NO_DECAY by hand", test_l1_and_no_decay },
                 { "buffers are never updated", test_buffers_untouched },
                 { "resume from saved moments", test_resume_from_state },
                 { "optimizer config parsing and validation", test_optim_config },
                 { "schedules vs torch.optim.lr_scheduler", test_schedules_match_pytorch },
                 { "schedule config and edges", test_schedule_config },
                 { "clip_grad_norm vs PyTorch", test_clip_matches_pytorch },
                 { "clip edges: buffers, measure only, non-finite", test_clip_edges },
                 { "early stopping sequences", test_early_stop })

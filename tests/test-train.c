/* The trainer end to end on a small synthetic problem: it learns, early stopping keeps
 * the best model, and a run interrupted and resumed from its checkpoint ends with
 * exactly the weights of the uninterrupted run. Recipes reject typos. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *arch =
  "{\"input\":[1,4,4],\"layers\":[{\"type\":\"flatten\"},"
  "{\"type\":\"dense\",\"units\":16},{\"type\":\"relu\"},{\"type\":\"dropout\",\"rate\":0.1},"
  "{\"type\":\"dense\",\"units\":3}]}";

/* 3 classes: a bright row (class 0), a bright column (1) or a bright diagonal (2), plus noise. */
static NerveDataset *
make_data (int n, guint64 seed)
{
  NerveDataset *d = g_new0 (NerveDataset, 1);
  d->n = n;
  d->shape = nerve_shape_make (3, 1, 4, 4);
  d->stride = 16;
  d->n_classes = 3;
  d->x = nerve_alloc_floats ((gsize) n * 16);
  d->y = g_new (int, n);
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (int i = 0; i < n; i++) {
    int c = (int) nerve_rng_below (&r, 3), k = (int) nerve_rng_below (&r, 4);
    float *x = d->x + (gsize) i * 16;
    for (int p = 0; p < 16; p++)
      x[p] = 0.4f * nerve_rng_normal (&r);
    for (int j = 0; j < 4; j++)
      x[c == 0 ? k * 4 + j : c == 1 ? j * 4 + k : j * 5] += 1.0f;
    d->y[i] = c;
  }
  return d;
}

static NerveTrainConfig
config (const char *dir, const char *name)
{
  NerveTrainConfig c = { .epochs = 12, .batch = 16, .seed = 9, .clip_norm = 10 };
  nerve_optim_config_defaults (&c.optim, NERVE_OPTIM_ADAM);
  g_autoptr (GError) err = NULL;
  nerve_schedule_parse (&c.schedule, "cosine", &err);
  c.schedule.base_lr = 0.01f;
  c.out = g_build_filename (dir, name, NULL);
  c.checkpoint = g_strconcat (c.out, ".ckpt", NULL);
  return c;
}

static NerveModel *
fresh_model (void)
{
  NerveModel *m = nerve_model_new (arch, NULL);
  nerve_model_init_params (m, 4);
  return m;
}

static void
test_trainer_learns (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-train-XXXXXX", NULL);
  g_autoptr (NerveDataset) tr = make_data (1500, 1), va = make_data (200, 2);
  g_autoptr (NerveModel) m = fresh_model ();
  g_autoptr (GError) err = NULL;
  NerveEvalResult before, after;
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (m, va, 64, &before, &err));
  NerveTrainConfig c = config (dir, "a.nerve");
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (m, tr, va, &c, NULL, NULL, &err));
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (m, va, 64, &after, &err));
  fprintf (stderr, "  accuracy %.3f -> %.3f\n", before.accuracy, after.accuracy);
  CU_ASSERT (after.accuracy > 0.95);
  CU_ASSERT (after.loss < before.loss);
  /* the file written is the best model and evaluates the same */
  g_autoptr (NerveModel) saved = nerve_model_load (c.out, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (saved);
  NerveEvalResult again;
  CU_ASSERT_TRUE (nerve_evaluate_classifier (saved, va, 64, &again, &err));
  CU_ASSERT_DOUBLE_EQUAL (again.accuracy, after.accuracy, 1e-9);
  int total = 0;
  for (int i = 0; i < 9; i++)
    total += after.confusion[i];
  CU_ASSERT_EQUAL (total, 200);
  nerve_eval_result_clear (&before), nerve_eval_result_clear (&after), nerve_eval_result_clear (&again);
  g_free ((char *) c.out), g_free ((char *) c.checkpoint);
}

static void
test_resume_is_exact (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-train-XXXXXX", NULL);
  g_autoptr (NerveDataset) tr = make_data (300, 3), va = make_data (100, 4);
  g_autoptr (GError) err = NULL;
  /* uninterrupted, no early stopping so both runs do every epoch */
  g_autoptr (NerveModel) a = fresh_model ();
  NerveTrainConfig ca = config (dir, "full.nerve");
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (a, tr, va, &ca, NULL, NULL, &err));
  g_autoptr (NerveModel) last_a = nerve_model_load (ca.checkpoint, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (last_a);
  /* "interrupted" after 3 epochs, then resumed to 6 */
  g_autoptr (NerveModel) b = fresh_model ();
  NerveTrainConfig cb = config (dir, "part.nerve");
  cb.stop_after = 3;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (b, tr, va, &cb, NULL, NULL, &err));
  g_autoptr (NerveModel) b2 = fresh_model ();
  cb.stop_after = 0;
  cb.resume = TRUE;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (b2, tr, va, &cb, NULL, NULL, &err));
  g_autoptr (NerveModel) last_b = nerve_model_load (cb.checkpoint, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (last_b);
  CU_ASSERT_EQUAL (memcmp (last_a->arena, last_b->arena, last_a->n_floats * sizeof (float)), 0);
  CU_ASSERT_EQUAL (memcmp (a->arena, b2->arena, a->n_floats * sizeof (float)), 0);
  g_free ((char *) ca.out), g_free ((char *) ca.checkpoint), g_free ((char *) cb.out), g_free ((char *) cb.checkpoint);
}

static void
test_mismatched_data (void)
{
  g_autoptr (NerveDataset) tr = make_data (50, 1);
  tr->n_classes = 5;
  g_autoptr (NerveModel) m = fresh_model ();
  g_autoptr (GError) err = NULL;
  NerveTrainConfig c = config ("/nonexistent", "x");
  CU_ASSERT_FALSE (nerve_train_classifier (m, tr, tr, &c, NULL, NULL, &err));
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "5 classes"));
  g_free ((char *) c.out), g_free ((char *) c.checkpoint);
}

static void
recipe_error (const char *text, const char *needle)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-recipe-XXXXXX", NULL);
  g_autofree char *arch_path = g_build_filename (dir, "a.json", NULL);
  g_autofree char *path = g_build_filename (dir, "r.recipe", NULL);
  g_file_set_contents (arch_path, arch, -1, NULL);
  g_file_set_contents (path, text, -1, NULL);
  g_autoptr (GError) err = NULL;
  NerveRecipe *r = nerve_recipe_load (path, &err);
  if (!needle) {
    CU_ASSERT_PTR_NOT_NULL (r);
    if (r) {
      CU_ASSERT_EQUAL (r->train.epochs, 3);
      CU_ASSERT_DOUBLE_EQUAL (r->train.schedule.base_lr, 0.05, 1e-7);
      CU_ASSERT_PTR_NOT_NULL (strstr (r->architecture, "dense"));
    }
    nerve_recipe_free (r);
    return;
  }
  CU_ASSERT_PTR_NULL (r);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  if (!strstr (err->message, needle)) {
    fprintf (stderr, "  '%s' lacks '%s'\n", err->message, needle);
    CU_FAIL ("recipe error message");
  }
}

static void
test_recipes (void)
{
  const char *ok = "[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[train]\nepochs=3\n"
                   "[optimizer]\ntype=sgd\nlr=0.05\nmomentum=0.9\n";
  recipe_error (ok, NULL);
  recipe_error ("[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[train]\nepoch=3\n", "unknown key 'epoch'");
  recipe_error ("[model]\narchitecture=missing.json\n", "architecture");
  recipe_error ("[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[train]\nepochs=zero\n", "epochs");
  recipe_error ("[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[optimizer]\ntype=lion\n", "lion");
  recipe_error ("[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[optimizer]\nlr=-1\n", "lr");
  recipe_error ("not a key file", "r.recipe");
}

NERVE_TEST_MAIN ("train",
                 { "trainer learns a synthetic task and keeps the best model", test_trainer_learns },
                 { "resuming from a checkpoint is exact", test_resume_is_exact },
                 { "data that does not fit the model is refused", test_mismatched_data },
                 { "recipes are validated", test_recipes })

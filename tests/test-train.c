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

/* ---- sequences: token ids with lengths, bucketed batches ---- */

static const char *seq_arch =
  "{\"input\":[10],\"layers\":[{\"type\":\"embedding\",\"vocab\":6,\"dim\":8},"
  "{\"type\":\"gru\",\"hidden\":12,\"bidirectional\":true},{\"type\":\"time_pool\",\"mode\":\"max\"},"
  "{\"type\":\"dense\",\"units\":2}]}";

/* Class 1 iff token 5 occurs among the valid steps; the padding past the length is
 * full of 5s, so a model that looked past lengths would fail. */
static NerveDataset *
make_seq_data (int n, guint64 seed)
{
  NerveDataset *d = g_new0 (NerveDataset, 1);
  d->n = n;
  d->shape = nerve_shape_make (1, 10);
  d->stride = 10;
  d->n_classes = 2;
  d->x = nerve_alloc_floats ((gsize) n * 10);
  d->y = g_new (int, n);
  d->lengths = g_new (int, n);
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (int i = 0; i < n; i++) {
    int len = 1 + (int) nerve_rng_below (&r, 10), c = (int) nerve_rng_below (&r, 2);
    float *x = d->x + (gsize) i * 10;
    for (int t = 0; t < 10; t++)
      x[t] = t < len ? (float) nerve_rng_below (&r, 5) : 5;
    if (c)
      x[nerve_rng_below (&r, (guint32) len)] = 5;
    d->lengths[i] = len;
    d->y[i] = c;
  }
  return d;
}

static NerveModel *
fresh_seq_model (void)
{
  NerveModel *m = nerve_model_new (seq_arch, NULL);
  nerve_model_init_params (m, 4);
  return m;
}

static void
test_sequences (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-train-XXXXXX", NULL);
  g_autoptr (NerveDataset) tr = make_seq_data (1200, 1), va = make_seq_data (200, 2);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = fresh_seq_model ();
  NerveTrainConfig c = config (dir, "s.nerve");
  c.epochs = 8;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (m, tr, va, &c, NULL, NULL, &err));
  NerveEvalResult ev;
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (m, va, 64, &ev, &err));
  fprintf (stderr, "  sequence task accuracy %.3f\n", ev.accuracy);
  CU_ASSERT (ev.accuracy > 0.95);
  /* evaluation sorts by length internally: batch size changes nothing */
  NerveEvalResult ev1;
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (m, va, 7, &ev1, &err));
  CU_ASSERT_EQUAL (memcmp (ev.confusion, ev1.confusion, 4 * sizeof (int)), 0);
  nerve_eval_result_clear (&ev), nerve_eval_result_clear (&ev1);
  g_free ((char *) c.out), g_free ((char *) c.checkpoint);

  /* bucketed epochs resume exactly */
  g_autoptr (NerveModel) a = fresh_seq_model (), b = fresh_seq_model (), b2 = fresh_seq_model ();
  NerveTrainConfig ca = config (dir, "sa.nerve"), cb = config (dir, "sb.nerve");
  ca.epochs = cb.epochs = 4;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (a, tr, va, &ca, NULL, NULL, &err));
  cb.stop_after = 2;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (b, tr, va, &cb, NULL, NULL, &err));
  cb.stop_after = 0;
  cb.resume = TRUE;
  CU_ASSERT_TRUE_FATAL (nerve_train_classifier (b2, tr, va, &cb, NULL, NULL, &err));
  g_autoptr (NerveModel) la = nerve_model_load (ca.checkpoint, &err), lb = nerve_model_load (cb.checkpoint, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (la);
  CU_ASSERT_PTR_NOT_NULL_FATAL (lb);
  CU_ASSERT_EQUAL (memcmp (la->arena, lb->arena, la->n_floats * sizeof (float)), 0);
  g_free ((char *) ca.out), g_free ((char *) ca.checkpoint), g_free ((char *) cb.out), g_free ((char *) cb.checkpoint);
}

/* Fine-tuning: with baseline_first the starting weights are the best unless an epoch
 * beats them, and they are written out before any epoch. */
static void
test_baseline_first (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-train-XXXXXX", NULL);
  g_autoptr (NerveDataset) tr = make_data (300, 3), va = make_data (100, 4);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = fresh_model ();
  NerveTrainConfig c = config (dir, "ft.nerve");
  c.epochs = 3;
  c.baseline_first = TRUE;
  c.schedule.base_lr = 50; /* a learning rate that wrecks the model */
  c.clip_norm = 0;
  g_autoptr (NerveModel) start = fresh_model ();
  NerveEvalResult e0, e1;
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (start, va, 64, &e0, &err));
  gboolean ok = nerve_train_classifier (m, tr, va, &c, NULL, NULL, &err);
  if (ok) { /* training may also diverge; either way the start is on disk */
    CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (m, va, 64, &e1, &err));
    CU_ASSERT (e1.accuracy >= e0.accuracy);
    nerve_eval_result_clear (&e1);
  }
  g_clear_error (&err);
  g_autoptr (NerveModel) saved = nerve_model_load (c.out, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (saved);
  CU_ASSERT_TRUE_FATAL (nerve_evaluate_classifier (saved, va, 64, &e1, &err));
  CU_ASSERT (e1.accuracy >= e0.accuracy);
  nerve_eval_result_clear (&e0), nerve_eval_result_clear (&e1);
  g_free ((char *) c.out), g_free ((char *) c.checkpoint);
}

static void
test_text_recipes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-recipe-XXXXXX", NULL);
  g_autofree char *arch_path = g_build_filename (dir, "a.json", NULL);
  g_autofree char *path = g_build_filename (dir, "t.recipe", NULL);
  g_file_set_contents (arch_path, seq_arch, -1, NULL);
  const char *text = "[model]\narchitecture=a.json\ntask=sentiment\n[data]\nroot=data\nformat=sst-trees\n"
                     "path=t/train.txt\nphrases=true\ntest_path=/abs/dev.txt\ntest_format=sst2\n"
                     "validation_fraction=0.2\n[tokenizer]\nvocab_size=500\nlowercase=true\nmodel_type=bpe\n"
                     "corpus=a.txt;b.txt.gz\n[text]\nmax_length=10\n";
  g_file_set_contents (path, text, -1, NULL);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveRecipe) r = nerve_recipe_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  CU_ASSERT_TRUE (r->text);
  CU_ASSERT_TRUE (r->phrases && r->dedup);
  CU_ASSERT_EQUAL (r->text_format, NERVE_TEXT_FORMAT_SST_TREES);
  CU_ASSERT_EQUAL (r->test_format, NERVE_TEXT_FORMAT_SST2);
  CU_ASSERT_DOUBLE_EQUAL (r->validation_fraction, 0.2, 1e-12);
  CU_ASSERT_EQUAL (r->tokenizer.vocab_size, 500);
  CU_ASSERT_TRUE (r->tokenizer.lowercase);
  CU_ASSERT_STRING_EQUAL (r->tokenizer.model_type, "bpe");
  CU_ASSERT_EQUAL (g_strv_length (r->corpus), 2);
  CU_ASSERT_EQUAL (r->max_length, 10);
  g_autofree char *p = nerve_recipe_data_path (r, "t/train.txt"), *want = g_build_filename (dir, "data", "t/train.txt", NULL);
  CU_ASSERT_STRING_EQUAL (p, want);
  g_autofree char *abs = nerve_recipe_data_path (r, "/abs/dev.txt");
  CU_ASSERT_STRING_EQUAL (abs, "/abs/dev.txt");
  const char *head = "[model]\narchitecture=a.json\ntask=sentiment\n[data]\npath=x\n";
  struct {
    const char *rest, *needle;
  } bad[] = {
    { "format=tsv\nphrases=true\n", "phrases needs format = sst-trees" },
    { "format=tsv\nvalidation=100\n", "validation does not apply" },
    { "format=tsv\ntest_path=a\ntest_fraction=0.1\n", "both test_path and test_fraction" },
    { "format=tsv\ntest_format=csv\n", "test_format must be" },
    { "format=tsv\nvalidation_fraction=1.5\n", "validation_fraction" },
    { "format=tsv\nlabels=one\n", "at least 2" },
    { "format=idx\n", "format = tsv, sst2 or sst-trees" },
    { "format=tsv\n[tokenizer]\nvocab=10\n", "unknown key 'vocab' in [tokenizer]" },
  };
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++) {
    g_autofree char *t = g_strconcat (head, bad[i].rest, NULL);
    g_file_set_contents (path, t, -1, NULL);
    g_autoptr (GError) e = NULL;
    g_autoptr (NerveRecipe) br = nerve_recipe_load (path, &e);
    CU_ASSERT_PTR_NULL (br);
    if (!e || !strstr (e->message, bad[i].needle)) {
      fprintf (stderr, "  '%s' lacks '%s'\n", e ? e->message : "(no error)", bad[i].needle);
      CU_FAIL ("text recipe error");
    }
  }
  /* text keys in an image recipe */
  g_file_set_contents (path, "[model]\narchitecture=a.json\n[data]\nformat=idx\npath=/x\n[text]\nmax_length=3\n", -1, NULL);
  g_autoptr (NerveRecipe) ir = nerve_recipe_load (path, &err);
  CU_ASSERT_PTR_NULL (ir);
  CU_ASSERT (err && strstr (err->message, "[text] max_length does not apply to task classify") != NULL);
}

NERVE_TEST_MAIN ("train",
                 { "trainer learns a synthetic task and keeps the best model", test_trainer_learns },
                 { "resuming from a checkpoint is exact", test_resume_is_exact },
                 { "data that does not fit the model is refused", test_mismatched_data },
                 { "recipes are validated", test_recipes },
                 { "sequences with lengths: learning, bucketing, exact resume", test_sequences },
                 { "fine-tuning keeps the starting weights unless beaten", test_baseline_first },
                 { "text recipes", test_text_recipes })

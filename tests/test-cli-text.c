/* The real `nerve` binary on text: train a tiny sentiment model from a recipe on a
 * generated TSV (tokenizer trained on it), evaluate it, fine-tune it, print a split,
 * and fail cleanly on bad input. */
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

/* The accuracy a report prints, in percent (-1 when absent). */
static double
accuracy_of (const char *out)
{
  const char *a = strstr (out, "accuracy  ");
  return a ? g_ascii_strtod (a + 10, NULL) : -1;
}

static const char *const pos_words[] = { "great", "wonderful", "superb", "moving", "delightful" };
static const char *const neg_words[] = { "awful", "boring", "dreadful", "clumsy", "tedious" };
static const char *const fillers[] = { "the", "film", "plot", "was", "and", "a", "story", "acting", "quite", "really" };

/* n lines: a few filler words around one sentiment word; the label says which kind.
 * named: labels "negative"/"positive" with a header; else 0/1. */
static char *
make_tsv (int n, guint64 seed, gboolean named)
{
  NerveRng r;
  nerve_rng_seed (&r, seed);
  GString *s = g_string_new (named ? "label\ttext\n" : "");
  for (int i = 0; i < n; i++) {
    int label = (int) nerve_rng_below (&r, 2), len = 2 + (int) nerve_rng_below (&r, 6);
    int at = (int) nerve_rng_below (&r, (guint32) len);
    g_string_append (s, named ? (label ? "positive\t" : "negative\t") : (label ? "1\t" : "0\t"));
    for (int k = 0; k < len; k++) {
      const char *w = k == at ? (label ? pos_words : neg_words)[nerve_rng_below (&r, 5)] : fillers[nerve_rng_below (&r, 10)];
      g_string_append_printf (s, "%s%s", k ? " " : "", w);
    }
    g_string_append_c (s, '\n');
  }
  return g_string_free (s, FALSE);
}

static char *
write_file (const char *dir, const char *name, const char *text)
{
  char *p = g_build_filename (dir, name, NULL);
  CU_ASSERT_TRUE (g_file_set_contents (p, text, -1, NULL));
  return p;
}

static const char *arch =
  "{\"input\":[12],\"layers\":[{\"type\":\"embedding\",\"vocab\":40,\"dim\":8},"
  "{\"type\":\"gru\",\"hidden\":8,\"bidirectional\":true},{\"type\":\"time_pool\",\"mode\":\"max\"},"
  "{\"type\":\"dense\",\"units\":2}]}";

static const char *recipe =
  "[model]\narchitecture = tiny.json\ntask = sentiment\n"
  "[data]\nformat = tsv\npath = train.tsv\nlabels = negative;positive\nvalidation_fraction = 0.15\n"
  "test_path = test.tsv\n"
  "[tokenizer]\nvocab_size = 40\nnormalization = identity\n"
  "[text]\nmax_length = 12\n"
  "[train]\nepochs = 8\nbatch = 16\nseed = 3\n"
  "[optimizer]\ntype = adam\nlr = 0.02\n";

static void
test_train_eval_finetune (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-cli-text-XXXXXX", NULL);
  g_autofree char *train = make_tsv (600, 1, FALSE), *test = make_tsv (150, 2, TRUE), *more = make_tsv (200, 3, TRUE);
  g_autofree char *ptrain = write_file (dir, "train.tsv", train), *ptest = write_file (dir, "test.tsv", test);
  g_autofree char *pmore = write_file (dir, "more.tsv", more), *parch = write_file (dir, "tiny.json", arch);
  g_autofree char *precipe = write_file (dir, "tiny.recipe", recipe);
  g_autofree char *model = g_build_filename (dir, "tiny.nerve", NULL);
  (void) parch; /* written for the recipe to read */
  g_autofree char *tuned = g_build_filename (dir, "tuned.nerve", NULL);

  NerveRun r = nerve_test_run_cli ((const char *[]) { "train", precipe, "--out", model, NULL });
  nerve_test_run_check (&r, 0, "tokenizer: unigram, 40 pieces", NULL);
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "data: 510 train, 90 validation, 150 test texts; 2 classes"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "epoch 8/8"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "confusion matrix"));
  double acc = accuracy_of (strstr (r.out, "test: ") ? strstr (r.out, "test: ") : r.out);
  fprintf (stderr, "  test accuracy after training: %.2f%%\n", acc);
  CU_ASSERT (acc > 90);
  nerve_test_run_clear (&r);
  CU_ASSERT_FALSE (g_file_test (model, G_FILE_TEST_EXISTS) == FALSE);

  r = nerve_test_run_cli ((const char *[]) { "info", model, NULL });
  nerve_test_run_check (&r, 0, "nerve.task = sentiment", NULL);
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "nerve.text.max_length = 12"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "tokenizer.spm"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "[\"negative\",\"positive\"]"));
  nerve_test_run_clear (&r);

  /* eval: the same report as training's test, by extension */
  r = nerve_test_run_cli ((const char *[]) { "eval", model, ptest, NULL });
  nerve_test_run_check (&r, 0, "samples   150", NULL);
  CU_ASSERT_DOUBLE_EQUAL (accuracy_of (r.out), acc, 1e-9);
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "positive "));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "macro f1"));
  nerve_test_run_clear (&r);

  /* finetune: the starting weights are validated first; a new file is written */
  r = nerve_test_run_cli ((const char *[]) { "finetune", model, pmore, "--out", tuned, "--epochs", "2", NULL });
  nerve_test_run_check (&r, 0, "start       val loss", NULL);
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "fine-tuning"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "180 texts (20 held out)"));
  CU_ASSERT_PTR_NOT_NULL (strstr (r.out, "epoch 2/2"));
  nerve_test_run_clear (&r);
  CU_ASSERT_TRUE (g_file_test (tuned, G_FILE_TEST_EXISTS));
  r = nerve_test_run_cli ((const char *[]) { "info", tuned, NULL });
  nerve_test_run_check (&r, 0, "nerve.finetuned_from = tiny.nerve", NULL);
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *[]) { "eval", tuned, ptest, NULL });
  nerve_test_run_check (&r, 0, "samples   150", NULL);
  CU_ASSERT (accuracy_of (r.out) > 85);
  nerve_test_run_clear (&r);

  /* split: the seeded held-out indices, and the lines themselves */
  r = nerve_test_run_cli ((const char *[]) { "split", ptrain, "--fraction", "0.1", "--seed", "4", NULL });
  nerve_test_run_check (&r, 0, NULL, NULL);
  g_auto (GStrv) lines = g_strsplit (g_strstrip (r.out), "\n", -1);
  CU_ASSERT_EQUAL (g_strv_length (lines), 60);
  g_autofree guint8 *mask = nerve_holdout_mask (600, 0.1, 4, NULL, NULL);
  for (int i = 0; lines[i]; i++)
    CU_ASSERT_EQUAL (mask[atoi (lines[i])], 1);
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *[]) { "split", ptest, "--print", "rest", NULL });
  nerve_test_run_check (&r, 0, "positive\t", NULL);
  nerve_test_run_clear (&r);

  /* bad input: clear messages, no crash */
  g_autofree char *bad = write_file (dir, "bad.tsv", "positive\tfine\nmaybe\tunsure\n");
  r = nerve_test_run_cli ((const char *[]) { "eval", model, bad, NULL });
  nerve_test_run_check (&r, 1, NULL, "bad.tsv:2: label 'maybe'");
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *[]) { "finetune", model, bad, NULL });
  nerve_test_run_check (&r, 1, NULL, "bad.tsv:2:");
  nerve_test_run_clear (&r);
  g_autofree char *fixture = nerve_test_path ("tests/fixtures/python-written.nerve");
  r = nerve_test_run_cli ((const char *[]) { "finetune", fixture, pmore, NULL });
  nerve_test_run_check (&r, 1, NULL, "not a text model");
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *[]) { "finetune", model, pmore, "--lr", "-1", NULL });
  nerve_test_run_check (&r, 2, NULL, "out of range");
  nerve_test_run_clear (&r);

  /* recipe mistakes name the problem */
  g_autofree char *r1 = write_file (dir, "r1.recipe", "[model]\narchitecture = tiny.json\ntask = sentiment\n"
                                                      "[data]\nformat = tsv\npath = train.tsv\nvalidation = 50\n");
  r = nerve_test_run_cli ((const char *[]) { "train", r1, "--out", model, NULL });
  nerve_test_run_check (&r, 1, NULL, "[data] validation does not apply to task sentiment");
  nerve_test_run_clear (&r);
  g_autofree char *r2 = write_file (dir, "r2.recipe", "[model]\narchitecture = tiny.json\ntask = sentiment\n"
                                                      "[data]\nformat = tsv\npath = train.tsv\n[tokenizer]\n"
                                                      "vocab_size = 30\nnormalization = identity\n[text]\nmax_length = 12\n");
  r = nerve_test_run_cli ((const char *[]) { "train", r2, "--out", model, NULL });
  nerve_test_run_check (&r, 1, NULL, "embedding 'embedding0' has vocab 40 but the tokenizer has 30 pieces");
  nerve_test_run_clear (&r);
  g_autofree char *r3 = write_file (dir, "r3.recipe", "[model]\narchitecture = tiny.json\ntask = sentiment\n"
                                                      "[data]\nformat = csv\npath = train.tsv\n");
  r = nerve_test_run_cli ((const char *[]) { "train", r3, NULL });
  nerve_test_run_check (&r, 1, NULL, "format = tsv, sst2 or sst-trees");
  nerve_test_run_clear (&r);
}

NERVE_TEST_MAIN ("cli-text", { "train, eval, finetune and split a tiny text model", test_train_eval_finetune })

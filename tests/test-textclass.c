/* Text classification from one model file: labels, probabilities, batching,
 * truncation, empty and invalid input, and clear errors for unsuitable models. */
#include <string.h>

#include "check.h"
#include "text-model.h"

static char *dir;

static NerveModel *
model (void)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_test_text_model (dir, &err);
  if (!m)
    fprintf (stderr, "  test model: %s\n", err->message);
  return m;
}

static void
test_classifies_sentiment (void)
{
  g_autoptr (NerveModel) m = model ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveTextClassifier) c = nerve_text_classifier_new (m, 4, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (c);
  CU_ASSERT_EQUAL (nerve_text_classifier_n_labels (c), 2);
  CU_ASSERT_STRING_EQUAL (nerve_text_classifier_label (c, 1), "positive");
  const char *texts[] = { "the film was really wonderful", "this movie was so awful",
                          "the music was very excellent", "the plot was quite boring",
                          "our trip was truly fun", "the acting was rather terrible" };
  const int expect[] = { 1, 0, 1, 0, 1, 0 };
  float probs[12];
  NerveTextResult res[6];
  CU_ASSERT_TRUE_FATAL (nerve_text_classifier_run (c, texts, 6, probs, res, &err));
  for (int i = 0; i < 6; i++) {
    CU_ASSERT_EQUAL (res[i].label, expect[i]);
    CU_ASSERT_DOUBLE_EQUAL (probs[2 * i] + probs[2 * i + 1], 1.0, 1e-5);
    CU_ASSERT_DOUBLE_EQUAL (res[i].confidence, probs[2 * i + res[i].label], 1e-6);
    CU_ASSERT (res[i].confidence > 0.5f);
    CU_ASSERT_FALSE (res[i].truncated);
  }
  /* batch size does not change the answer */
  g_autoptr (NerveTextClassifier) one = nerve_text_classifier_new (m, 1, &err);
  float p1[12];
  NerveTextResult r1[6];
  CU_ASSERT_TRUE (nerve_text_classifier_run (one, texts, 6, p1, r1, &err));
  nerve_assert_close ("batch 1 vs 4", p1, probs, 12, 1e-5);
}

static void
test_hostile_text (void)
{
  g_autoptr (NerveModel) m = model ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveTextClassifier) c = nerve_text_classifier_new (m, 3, &err);
  g_autoptr (GString) longtext = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append (longtext, "the film was good and ");
  const char *texts[] = { "", "\xff\xfe bad \xc3", longtext->str };
  NerveTextResult res[3];
  CU_ASSERT_TRUE_FATAL (nerve_text_classifier_run (c, texts, 3, NULL, res, &err));
  CU_ASSERT_EQUAL (res[0].n_tokens, 0);
  CU_ASSERT_TRUE (res[1].replaced);
  CU_ASSERT_TRUE (res[2].truncated);
  CU_ASSERT_EQUAL (res[2].n_tokens, 32);
  for (int i = 0; i < 3; i++)
    CU_ASSERT (res[i].confidence >= 0.5f && res[i].confidence <= 1.0f);
}

static void
expect_error (NerveModel *m, const char *needle)
{
  g_autoptr (GError) err = NULL;
  NerveTextClassifier *c = nerve_text_classifier_new (m, 2, &err);
  CU_ASSERT_PTR_NULL (c);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  if (!strstr (err->message, needle)) {
    fprintf (stderr, "  '%s' lacks '%s'\n", err->message, needle);
    CU_FAIL ("error message");
  }
}

static void
test_unsuitable_models (void)
{
  g_autoptr (NerveModel) m = model ();
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_set_meta (m, "nerve.task", "classify");
  expect_error (m, "not a text classifier");
  nerve_model_set_meta (m, "nerve.task", "sentiment");
  nerve_model_set_meta (m, "nerve.labels", "[\"a\",\"b\",\"c\"]");
  expect_error (m, "has 3 labels");
  nerve_model_set_meta (m, "nerve.labels", "{\"not\":\"a list\"}");
  expect_error (m, "nerve.labels");
  nerve_model_set_meta (m, "nerve.labels", "[\"negative\",\"positive\"]");
  nerve_model_set_meta (m, "nerve.text.max_length", "12");
  expect_error (m, "max_length");
  nerve_model_set_meta (m, "nerve.text.max_length", "32");
  nerve_model_set_blob (m, NERVE_TOKENIZER_BLOB, NULL);
  expect_error (m, "tokenizer");
}

int
main (void)
{
  dir = g_dir_make_tmp ("nerve-textclass-XXXXXX", NULL);
  static const TestCase tests[] = {
    { "classifies sentiment, batch-independent", test_classifies_sentiment },
    { "empty, invalid UTF-8 and over-long text", test_hostile_text },
    { "unsuitable models give clear errors", test_unsuitable_models },
    { NULL, NULL },
  };
  return nerve_test_main ("textclass", tests) ? 1 : 0;
}

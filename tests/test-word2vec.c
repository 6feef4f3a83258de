/* Skip-gram vectors: tokens used in the same contexts end up closer than tokens
 * that never share one; seeded single-thread runs repeat exactly; bad options fail. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static const char *const animals[] = { "cat", "dog", "horse", "cow" };
static const char *const vehicles[] = { "car", "truck", "bus", "train" };
static const char *const animal_verbs[] = { "chased", "bit", "licked", "ate" };
static const char *const vehicle_verbs[] = { "passed", "towed", "overtook", "hit" };

static char *
write_corpus (const char *dir)
{
  char *path = g_build_filename (dir, "corpus.txt", NULL);
  GString *s = g_string_new (NULL);
  NerveRng r;
  nerve_rng_seed (&r, 4);
  for (int i = 0; i < 3000; i++) {
    gboolean a = nerve_rng_below (&r, 2);
    const char *const *n = a ? animals : vehicles, *const *v = a ? animal_verbs : vehicle_verbs;
    g_string_append_printf (s, "the %s %s the %s\n", n[nerve_rng_below (&r, 4)], v[nerve_rng_below (&r, 4)],
                            n[nerve_rng_below (&r, 4)]);
  }
  g_file_set_contents (path, s->str, s->len, NULL);
  g_string_free (s, TRUE);
  return path;
}

static double
cosine (const float *v, int dim, int a, int b)
{
  double ab = 0, aa = 0, bb = 0;
  for (int d = 0; d < dim; d++) {
    ab += v[a * dim + d] * v[b * dim + d];
    aa += v[a * dim + d] * v[a * dim + d];
    bb += v[b * dim + d] * v[b * dim + d];
  }
  return ab / sqrt (aa * bb + 1e-30);
}

/* SentencePiece marks a word start with U+2581 */
static int
word_id (const NerveTokenizer *tok, const char *word)
{
  g_autofree char *piece = g_strconcat ("\xe2\x96\x81", word, NULL);
  return nerve_tokenizer_piece_to_id (tok, piece);
}

static void
test_contexts_shape_vectors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-w2v-XXXXXX", NULL);
  g_autofree char *corpus = write_corpus (dir);
  g_autoptr (GError) err = NULL;
  NerveTokenizerTrainOptions to;
  nerve_tokenizer_train_options_init (&to);
  to.model_type = "word";
  to.vocab_size = 20;
  to.normalization = "identity";
  g_autoptr (NerveTokenizer) tok = nerve_tokenizer_train (corpus, &to, &err);
  if (!tok)
    fprintf (stderr, "  tokenizer: %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (tok);
  const char *paths[] = { corpus, NULL };
  g_autoptr (NerveTokenCorpus) c = nerve_token_corpus_from_files (tok, paths, 0, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (c);
  CU_ASSERT_EQUAL (c->n_seqs, 3000);
  NerveWord2VecOptions o;
  nerve_word2vec_options_init (&o);
  o.dim = 16;
  o.epochs = 3;
  o.subsample = 0;
  int V = nerve_tokenizer_vocab_size (tok);
  float *v1 = g_new (float, V * o.dim), *v2 = g_new (float, V * o.dim);
  CU_ASSERT_TRUE_FATAL (nerve_word2vec_train (c, V, &o, v1, NULL, NULL, &err));
  CU_ASSERT_TRUE_FATAL (nerve_word2vec_train (c, V, &o, v2, NULL, NULL, &err));
  CU_ASSERT_EQUAL (memcmp (v1, v2, sizeof (float) * V * o.dim), 0);
  /* same-group pairs are more similar than cross-group pairs, on average */
  double same = 0, cross = 0;
  for (int i = 0; i < 4; i++)
    for (int j = 0; j < 4; j++) {
      int a = word_id (tok, animals[i]), a2 = word_id (tok, animals[j]), b = word_id (tok, vehicles[j]);
      CU_ASSERT_NOT_EQUAL (a, nerve_tokenizer_unk_id (tok));
      if (i != j)
        same += cosine (v1, o.dim, a, a2);
      cross += cosine (v1, o.dim, a, b);
    }
  same /= 12, cross /= 16;
  fprintf (stderr, "  mean cosine: same group %.3f, across groups %.3f\n", same, cross);
  CU_ASSERT (same > cross + 0.3);
  o.threads = 2; /* runs; not bit-exact */
  CU_ASSERT_TRUE (nerve_word2vec_train (c, V, &o, v2, NULL, NULL, &err));
  o.dim = 0;
  CU_ASSERT_FALSE (nerve_word2vec_train (c, V, &o, v2, NULL, NULL, &err));
  g_free (v1);
  g_free (v2);
}

NERVE_TEST_MAIN ("word2vec", { "skip-gram vectors follow shared contexts", test_contexts_shape_vectors })

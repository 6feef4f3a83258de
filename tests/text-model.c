#include "text-model.h"

#include <string.h>

static const char *const pos_words[] = { "good", "great", "wonderful", "lovely", "excellent", "fun" };
static const char *const neg_words[] = { "bad", "awful", "boring", "terrible", "dull", "poor" };
static const char *const subjects[] = { "the film", "this movie", "the plot", "the acting", "our trip", "the music" };
static const char *const fillers[] = { "really", "quite", "so", "very", "truly", "rather" };

void
nerve_test_write_sentiment_tsv (const char *path, int n, guint64 seed)
{
  NerveRng r;
  nerve_rng_seed (&r, seed);
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++) {
    int pos = nerve_rng_below (&r, 2);
    g_string_append_printf (s, "%d\t%s was %s %s\n", pos, subjects[nerve_rng_below (&r, 6)],
                            fillers[nerve_rng_below (&r, 6)],
                            pos ? pos_words[nerve_rng_below (&r, 6)] : neg_words[nerve_rng_below (&r, 6)]);
  }
  g_file_set_contents (path, s->str, s->len, NULL);
  g_string_free (s, TRUE);
}

/* Trains the network on the corpus with the plain runner: this helper must not depend
 * on the text trainer it may be used to test. */
static gboolean
train (NerveModel *m, NerveTokenizer *tok, const char *tsv, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents (tsv, &text, NULL, error))
    return FALSE;
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  const int T = 32, B = 32;
  int n = 0;
  while (lines[n] && lines[n][0])
    n++;
  float *x = nerve_alloc_floats ((gsize) n * T), *dlogits = nerve_alloc_floats ((gsize) B * 2);
  int *y = g_new (int, n), *len = g_new (int, n);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  for (int i = 0; i < n; i++) {
    y[i] = lines[i][0] - '0';
    nerve_tokenizer_encode (tok, lines[i] + 2, -1, ids, NULL, NULL);
    len[i] = MIN ((int) ids->len, T);
    for (int t = 0; t < len[i]; t++)
      x[(gsize) i * T + t] = (float) g_array_index (ids, gint32, t);
  }
  NerveOptimConfig oc;
  nerve_optim_config_defaults (&oc, NERVE_OPTIM_ADAM);
  NerveOptimizer *opt = nerve_optimizer_new (m, &oc, error);
  NerveRunner *r = opt ? nerve_runner_new (m, B, NERVE_RUNNER_GRADS, error) : NULL;
  gboolean ok = r != NULL;
  NerveRng rng;
  nerve_rng_seed (&rng, 5);
  for (int epoch = 0; ok && epoch < 8; epoch++)
    for (int s = 0; s + B <= n; s += B) {
      const float *out = nerve_runner_forward_seq (r, x + (gsize) s * T, len + s, B, TRUE, &rng);
      memset (dlogits, 0, sizeof (float) * B * 2);
      nerve_cross_entropy (dlogits, out, y + s, NULL, B, 2, 1.0f);
      nerve_model_zero_grads (m);
      nerve_runner_backward (r, dlogits);
      nerve_optimizer_step (opt, 0.01f);
    }
  nerve_runner_free (r);
  if (opt)
    nerve_optimizer_free (opt);
  nerve_free_floats (x);
  nerve_free_floats (dlogits);
  g_free (y);
  g_free (len);
  return ok;
}

NerveModel *
nerve_test_text_model (const char *dir, GError **error)
{
  g_autofree char *path = g_build_filename (dir, "tiny-sentiment.nerve", NULL);
  if (g_file_test (path, G_FILE_TEST_EXISTS))
    return nerve_model_load (path, error);
  g_autofree char *tsv = g_build_filename (dir, "tiny-sentiment.tsv", NULL);
  g_autofree char *corpus = g_build_filename (dir, "tiny-corpus.txt", NULL);
  nerve_test_write_sentiment_tsv (tsv, 640, 11);
  /* the tokenizer learns from the sentences alone */
  g_autofree char *text = NULL;
  g_file_get_contents (tsv, &text, NULL, NULL);
  for (char *p = text; *p; p++)
    if ((p == text || p[-1] == '\n') && p[1] == '\t')
      p[0] = p[1] = ' ';
  g_file_set_contents (corpus, text, -1, NULL);
  NerveTokenizerTrainOptions o;
  nerve_tokenizer_train_options_init (&o);
  o.vocab_size = 60;
  o.normalization = "identity";
  g_autoptr (NerveTokenizer) tok = nerve_tokenizer_train (corpus, &o, error);
  if (!tok)
    return NULL;
  g_autofree char *arch = g_strdup_printf (
    "{\"input\":[32],\"layers\":["
    "{\"type\":\"embedding\",\"name\":\"emb\",\"vocab\":%d,\"dim\":12},"
    "{\"type\":\"lstm\",\"name\":\"lstm\",\"hidden\":10,\"bidirectional\":true},"
    "{\"type\":\"time_pool\",\"name\":\"pool\",\"mode\":\"max\"},"
    "{\"type\":\"dense\",\"name\":\"out\",\"units\":2}]}",
    nerve_tokenizer_vocab_size (tok));
  g_autoptr (NerveModel) m = nerve_model_new (arch, error);
  if (!m)
    return NULL;
  nerve_model_init_params (m, 3);
  nerve_model_set_meta (m, "nerve.task", "sentiment");
  nerve_model_set_meta (m, "nerve.labels", "[\"negative\",\"positive\"]");
  nerve_model_set_meta (m, "nerve.text.max_length", "32");
  if (!nerve_tokenizer_attach (m, tok) || !train (m, tok, tsv, error) || !nerve_model_save (m, path, error))
    return NULL;
  return g_steal_pointer (&m);
}

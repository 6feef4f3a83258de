/* nerve train for text tasks: load and split the data, train the SentencePiece
 * tokenizer, encode, train the classifier, and report on the test data (never used
 * for selection). */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static NerveTextDataset *
load (const NerveRecipe *r, const char *rel, NerveTextFormat format, gboolean phrases, char **labels,
      GError **error)
{
  g_autofree char *path = nerve_recipe_data_path (r, rel);
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.format = format;
  o.phrases = phrases;
  o.fine_grained = r->fine_grained;
  o.labels = (const char *const *) labels;
  return nerve_text_dataset_load (path, &o, error);
}

/* A temporary file's path: removed and freed when it goes out of scope. */
typedef char *TempFile;
static void
temp_file_remove (char *path)
{
  g_unlink (path);
  g_free (path);
}
G_DEFINE_AUTO_CLEANUP_FREE_FUNC (TempFile, temp_file_remove, NULL)

/* The tokenizer's training text: the training texts (whole sentences only, when the
 * data has phrases) and every line of the [tokenizer] corpus files. */
static NerveTokenizer *
train_tokenizer (const NerveRecipe *r, const NerveTextDataset *train, int threads, char **corpus_out,
                 GError **error)
{
  char *tmp = NULL;
  int fd = g_file_open_tmp ("nerve-corpus-XXXXXX.txt", &tmp, error);
  if (fd < 0)
    return NULL;
  FILE *f = fdopen (fd, "w");
  gsize lines = 0;
  for (int i = 0; i < train->n; i++)
    if (!train->roots || train->roots[i]) {
      fprintf (f, "%s\n", train->texts[i]);
      lines++;
    }
  for (int c = 0; r->corpus && r->corpus[c]; c++) {
    g_autofree char *path = nerve_recipe_data_path (r, r->corpus[c]);
    g_autoptr (GBytes) b = nerve_read_file (path, (gsize) 4 << 30, error);
    if (!b) {
      fclose (f);
      g_unlink (tmp);
      g_free (tmp);
      return NULL;
    }
    gsize len;
    const char *data = g_bytes_get_data (b, &len);
    int taken = 0;
    for (gsize pos = 0; pos < len && (!r->corpus_max_lines || taken < r->corpus_max_lines);) {
      const char *nl = memchr (data + pos, '\n', len - pos);
      gsize end = nl ? (gsize) (nl - data) : len;
      g_autofree char *line = g_strndup (data + pos, end - pos); /* NULs end a line early: harmless */
      pos = end + 1;
      nerve_text_strip_br (line);
      fprintf (f, "%s\n", line);
      taken++;
    }
    lines += (gsize) taken;
  }
  gboolean ok = fclose (f) == 0;
  NerveTokenizerTrainOptions o = r->tokenizer;
  o.threads = threads;
  g_autoptr (GTimer) timer = g_timer_new ();
  NerveTokenizer *t = ok ? nerve_tokenizer_train (tmp, &o, error) : NULL;
  if (!ok)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: cannot write the tokenizer corpus", tmp);
  if (t && corpus_out)
    *corpus_out = g_strdup (tmp); /* the caller reuses and removes it */
  else
    g_unlink (tmp);
  g_free (tmp);
  if (t)
    printf ("tokenizer: %s, %d pieces, trained on %zu lines in %.1f s\n",
            o.model_type ? o.model_type : "unigram", nerve_tokenizer_vocab_size (t), lines,
            g_timer_elapsed (timer, NULL));
  return t;
}

static gboolean
check_model (NerveModel *m, const NerveRecipe *r, int vocab, int n_classes, GError **error)
{
  if (m->input_shape.ndim != 1 || m->input_shape.dim[0] != r->max_length) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "%s: the architecture's input must be [%d] token ids ([text] max_length)", r->path, r->max_length);
    return FALSE;
  }
  for (int i = 0; i < m->n_layers; i++) {
    NerveLayer *l = m->layers[i];
    if (g_str_equal (l->klass->type, "embedding") && l->params[0].shape.dim[0] != vocab) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                   "%s: embedding '%s' has vocab %d but the tokenizer has %d pieces ([tokenizer] vocab_size)",
                   r->path, l->name, l->params[0].shape.dim[0], vocab);
      return FALSE;
    }
  }
  const NerveShape *out = nerve_model_output_shape (m);
  if (out->ndim != 1 || out->dim[0] != n_classes) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE, "%s: the model has %d outputs but the data %d classes",
                 r->path, (int) nerve_shape_numel (out), n_classes);
    return FALSE;
  }
  return TRUE;
}

static void
pretrain_progress (double fraction, double tokens_per_s, double loss, gpointer user_data)
{
  static double last = -1;
  if (fraction - last < 0.1 && fraction < 1)
    return;
  last = fraction;
  fprintf (stderr, "word2vec: %3.0f%%  %.0f tokens/s  loss %.3f\n", fraction * 100, tokens_per_s, loss);
}

/* [pretrain] method = word2vec: skip-gram vectors from the tokenizer's training text
 * replace the embedding's random initialisation. */
static gboolean
pretrain_embedding (NerveModel *m, const NerveRecipe *r, const NerveTokenizer *tok, const char *corpus, int threads,
                    GError **error)
{
  NerveLayer *emb = NULL;
  for (int i = 0; i < m->n_layers && !emb; i++)
    if (r->pretrain_layer ? g_str_equal (m->layers[i]->name, r->pretrain_layer)
                          : g_str_equal (m->layers[i]->klass->type, "embedding"))
      emb = m->layers[i];
  if (!emb || !g_str_equal (emb->klass->type, "embedding")) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [pretrain] needs an embedding layer%s%s", r->path,
                 r->pretrain_layer ? " named " : "", r->pretrain_layer ? r->pretrain_layer : "");
    return FALSE;
  }
  const char *paths[] = { corpus, NULL };
  g_autoptr (GTimer) timer = g_timer_new ();
  g_autoptr (NerveTokenCorpus) c = nerve_token_corpus_from_files (tok, paths, 0, error);
  if (!c)
    return FALSE;
  NerveWord2VecOptions o = r->word2vec;
  o.dim = emb->params[0].shape.dim[1];
  o.threads = threads;
  int vocab = emb->params[0].shape.dim[0];
  if (!nerve_word2vec_train (c, vocab, &o, emb->params[0].data, pretrain_progress, NULL, error))
    return FALSE;
  /* word2vec vectors are small (|v| ~ 0.1-1); scale them to the unit variance the
   * random N(0,1) initialisation had, so the learning rates keep their meaning */
  gsize n = (gsize) vocab * o.dim;
  double ss = 0;
  for (gsize i = 0; i < n; i++)
    ss += (double) emb->params[0].data[i] * emb->params[0].data[i];
  float scale = ss > 0 ? (float) (1.0 / sqrt (ss / (double) n)) : 1.0f;
  for (gsize i = 0; i < n; i++)
    emb->params[0].data[i] *= scale;
  printf ("pretrain: word2vec %d-d vectors for '%s' from %zu tokens, %d epochs, in %.1f s\n", o.dim, emb->name,
          c->n_ids, o.epochs, g_timer_elapsed (timer, NULL));
  return TRUE;
}

static NerveDataset *
encode (const NerveTextDataset *d, const NerveTokenizer *t, const NerveRecipe *r, const char *what, GError **error)
{
  int truncated = 0;
  NerveDataset *e = nerve_text_dataset_encode (d, t, r->max_length, &truncated, error);
  if (e && truncated)
    printf ("%s: %d of %d texts cut to %d tokens\n", what, truncated, d->n, r->max_length);
  return e;
}

int
nerve_cli_train_text (NerveRecipe *r, const NerveCliTrainOptions *opt)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (GTimer) timer = g_timer_new ();
  if (opt->data_root) {
    g_free (r->data_root);
    r->data_root = g_strdup (opt->data_root);
  }
  g_autoptr (NerveTextDataset) train = load (r, r->data_path, r->text_format, r->phrases, r->labels, &err);
  if (!train)
    return nerve_cli_fail ("train", err);
  g_autoptr (NerveTextDataset) test = NULL, val = NULL;
  if (r->test_fraction > 0) { /* first, so it depends on test_seed and the file only */
    if (!(test = nerve_text_dataset_split (train, r->test_fraction, (guint64) r->test_seed, &err)))
      return nerve_cli_fail ("train", err);
    nerve_text_dataset_keep_roots (test);
  } else if (r->test_path &&
             !(test = load (r, r->test_path, r->test_format, FALSE, train->label_names, &err))) {
    return nerve_cli_fail ("train", err);
  }
  if (r->validation_path) {
    if (!(val = load (r, r->validation_path, r->text_format, FALSE, train->label_names, &err)))
      return nerve_cli_fail ("train", err);
  } else {
    if (!(val = nerve_text_dataset_split (train, r->validation_fraction, r->train.seed, &err)))
      return nerve_cli_fail ("train", err);
    nerve_text_dataset_keep_roots (val); /* validate on whole sentences */
  }
  if (r->dedup)
    nerve_text_dataset_dedup (train);
  printf ("data: %d train%s, %d validation, %d test texts; %d classes\n", train->n, train->groups ? " phrases" : "",
          val->n, test ? test->n : 0, train->n_classes);

  g_auto (TempFile) corpus = NULL; /* the tokenizer's text, kept for [pretrain] */
  g_autoptr (NerveTokenizer) tok = train_tokenizer (r, train, opt->threads, r->pretrain ? &corpus : NULL, &err);
  if (!tok)
    return nerve_cli_fail ("train", err);
  g_autoptr (NerveDataset) tr = encode (train, tok, r, "train", &err);
  g_autoptr (NerveDataset) va = tr ? encode (val, tok, r, "validation", &err) : NULL;
  g_autoptr (NerveDataset) te = va && test ? encode (test, tok, r, "test", &err) : NULL;
  if (!tr || !va || (test && !te))
    return nerve_cli_fail ("train", err);

  g_autoptr (NerveModel) m = nerve_model_new (r->architecture, &err);
  if (!m) {
    g_prefix_error (&err, "%s: ", r->path);
    return nerve_cli_fail ("train", err);
  }
  if (!check_model (m, r, nerve_tokenizer_vocab_size (tok), train->n_classes, &err))
    return nerve_cli_fail ("train", err);
  nerve_model_init_params (m, r->train.seed);
  if (corpus && !pretrain_embedding (m, r, tok, corpus, opt->threads, &err))
    return nerve_cli_fail ("train", err);
  nerve_model_set_meta (m, "nerve.task", r->task);
  g_autofree char *base = g_path_get_basename (r->path);
  nerve_model_set_meta (m, "nerve.recipe", base);
  g_autofree char *labels = nerve_cli_labels_json (train->label_names, train->n_classes);
  nerve_model_set_meta (m, "nerve.labels", labels);
  g_autofree char *ml = g_strdup_printf ("%d", r->max_length);
  nerve_model_set_meta (m, "nerve.text.max_length", ml);
  g_autofree char *data = g_path_get_basename (r->data_path);
  g_autofree char *desc = g_strdup_printf ("%s (%s%s), %d train / %d validation texts", data, r->data_format,
                                           r->phrases ? ", phrases" : "", train->n, val->n);
  nerve_model_set_meta (m, "nerve.data", desc);
  nerve_tokenizer_attach (m, tok);
  printf ("training %s: %zu parameters, %d epochs, batch %d, %d thread%s (%.1f s of preparation)\n", r->path,
          nerve_model_n_trainable (m), r->train.epochs, r->train.batch, opt->threads, opt->threads == 1 ? "" : "s",
          g_timer_elapsed (timer, NULL));
  if (opt->resume && g_file_test (opt->checkpoint, G_FILE_TEST_EXISTS))
    printf ("resuming from %s\n", opt->checkpoint);
  fflush (stdout);

  NerveTrainConfig cfg = r->train;
  cfg.out = opt->out;
  cfg.checkpoint = opt->checkpoint;
  cfg.resume = opt->resume;
  cfg.stop_after = opt->stop_after;
  g_timer_start (timer);
  if (!nerve_train_classifier (m, tr, va, &cfg, nerve_cli_train_progress, NULL, &err))
    return nerve_cli_fail ("train", err);
  if (opt->stop_after == 0)
    g_unlink (opt->checkpoint);
  printf ("trained in %.1f s; best model (by validation accuracy) in %s\n", g_timer_elapsed (timer, NULL), opt->out);
  if (te) {
    NerveEvalResult ev;
    if (!nerve_evaluate_classifier (m, te, 256, &ev, &err))
      return nerve_cli_fail ("train", err);
    g_autofree char *tp = r->test_path ? nerve_recipe_data_path (r, r->test_path) : NULL;
    printf ("\ntest: %s\n", tp ? tp : "held out of the training file (test_fraction)");
    nerve_cli_print_report (&ev, te->labels, te->n);
    nerve_eval_result_clear (&ev);
  }
  return 0;
}

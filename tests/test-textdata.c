/* Text datasets: the SST tree, SST-2 and TSV loaders (gzip, headers, <br /> tags, the
 * "R  ock" quirk, bracket escapes), label resolution, seeded splits that keep SST
 * trees whole, errors that name file:line, garbage input that never crashes, encoding
 * with a tokenizer, and (when ../shared/data is there) the real files. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static NerveTextDataset *
load_str (const char *text, NerveTextFormat format, gboolean phrases, GError **error)
{
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.format = format;
  o.phrases = phrases;
  return nerve_text_dataset_load_data (text, strlen (text), "mem.txt", &o, error);
}

static int
find_text (const NerveTextDataset *d, const char *text)
{
  for (int i = 0; i < d->n; i++)
    if (g_str_equal (d->texts[i], text))
      return i;
  return -1;
}

static void
write_gz (const char *path, const char *text)
{
  g_autoptr (GFile) f = g_file_new_for_path (path);
  g_autoptr (GOutputStream) raw = G_OUTPUT_STREAM (g_file_replace (f, NULL, FALSE, 0, NULL, NULL));
  g_autoptr (GConverter) z = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1));
  g_autoptr (GOutputStream) out = g_converter_output_stream_new (raw, z);
  CU_ASSERT_TRUE (g_output_stream_write_all (out, text, strlen (text), NULL, NULL, NULL));
  CU_ASSERT_TRUE (g_output_stream_close (out, NULL, NULL));
}

static void
test_tsv (void)
{
  g_autoptr (GError) err = NULL;
  /* IMDB's layout: header, rating column, <br /> tags, CR LF, a blank line */
  const char *imdb = "label\trating\ttext\r\n1\t9\tGreat film.<br /><br />Loved it\r\n\r\n0\t2\tDull <BR/>and\tlong\n";
  g_autoptr (NerveTextDataset) d = load_str (imdb, NERVE_TEXT_FORMAT_AUTO, FALSE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_EQUAL (d->n, 2);
  CU_ASSERT_STRING_EQUAL (d->texts[0], "Great film.  Loved it");
  CU_ASSERT_STRING_EQUAL (d->texts[1], "Dull  and\tlong"); /* the last column keeps its tabs */
  CU_ASSERT_EQUAL (d->labels[0], 1);
  CU_ASSERT_EQUAL (d->labels[1], 0);
  CU_ASSERT_EQUAL (d->n_classes, 2);
  CU_ASSERT_STRING_EQUAL (d->label_names[1], "1");
  CU_ASSERT_PTR_NULL (d->groups);

  /* named labels without a header: sorted distinct names */
  g_autoptr (NerveTextDataset) n = load_str ("pos\tgood\nneg\tbad\nneutral\tok\npos\tfine\n", NERVE_TEXT_FORMAT_TSV,
                                             FALSE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (n);
  CU_ASSERT_EQUAL (n->n_classes, 3);
  CU_ASSERT_STRING_EQUAL (n->label_names[0], "neg");
  CU_ASSERT_STRING_EQUAL (n->label_names[2], "pos");
  CU_ASSERT_EQUAL (n->labels[0], 2);
  CU_ASSERT_EQUAL (n->labels[3], 2);

  /* known labels (a model's): names (any case) or indices */
  const char *const known[] = { "negative", "positive", NULL };
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.labels = known;
  const char *k = "Positive\tyes\n0\tno\n";
  g_autoptr (NerveTextDataset) kd = nerve_text_dataset_load_data (k, strlen (k), "k.tsv", &o, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (kd);
  CU_ASSERT_EQUAL (kd->labels[0], 1);
  CU_ASSERT_EQUAL (kd->labels[1], 0);
  CU_ASSERT_STRING_EQUAL (kd->label_names[0], "negative");
  const char *bad = "positive\tyes\n2\tno\n";
  g_autoptr (NerveTextDataset) bd = nerve_text_dataset_load_data (bad, strlen (bad), "k.tsv", &o, &err);
  CU_ASSERT_PTR_NULL (bd);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "k.tsv:2: label '2'"));
  g_clear_error (&err);

  /* gzip is recognised by its magic, whatever the name */
  g_autofree char *dir = g_dir_make_tmp ("nerve-text-XXXXXX", NULL);
  g_autofree char *gz = g_build_filename (dir, "data.tsv.gz", NULL), *plain = g_build_filename (dir, "x.dat", NULL);
  write_gz (gz, imdb);
  g_autoptr (NerveTextDataset) z = nerve_text_dataset_load (gz, NULL, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (z);
  CU_ASSERT_EQUAL (z->n, 2);
  CU_ASSERT_STRING_EQUAL (z->texts[0], d->texts[0]);
  g_file_set_contents (plain, "\x1f\x8b this is not gzip", -1, NULL);
  g_autoptr (NerveTextDataset) pz = nerve_text_dataset_load (plain, NULL, &err);
  CU_ASSERT_PTR_NULL (pz);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "x.dat"));
  g_clear_error (&err);
  g_autoptr (NerveTextDataset) none = nerve_text_dataset_load ("/nonexistent/t.tsv", NULL, &err);
  CU_ASSERT_PTR_NULL (none);
  CU_ASSERT_TRUE (g_error_matches (err, NERVE_ERROR, NERVE_ERROR_IO));
  g_unlink (gz), g_unlink (plain), g_rmdir (dir);
}

static const char *trees =
  "(3 (2 (2 The) (2 R  ock)) (4 (3 (2 is) (4 great)) (2 .)))\n"
  "(1 (2 -LRB- (2 not) (1 bad) -RRB-))\n"
  "(2 (2 The) (2 Rock))\n"
  "(0 (0 awful) (2 .))\n";

static void
test_sst_trees (void)
{
  g_autoptr (GError) err = NULL;
  /* the "-LRB- (2 not)" line is malformed on purpose later; first a clean set */
  const char *clean = "(3 (2 (2 The) (2 R  ock)) (4 (3 (2 is) (4 great)) (2 .)))\n"
                      "(1 (2 (2 -LRB-) (2 not)) (1 (1 bad) (2 -RRB-)))\n"
                      "(2 (2 The) (2 Rock))\n"
                      "(0 (0 awful) (2 .))\n";
  g_autoptr (NerveTextDataset) roots = load_str (clean, NERVE_TEXT_FORMAT_AUTO, FALSE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (roots);
  /* binary: the neutral third tree is dropped */
  CU_ASSERT_EQUAL (roots->n, 3);
  CU_ASSERT_STRING_EQUAL (roots->texts[0], "The Rock is great .");
  CU_ASSERT_STRING_EQUAL (roots->texts[1], "( not bad )");
  CU_ASSERT_EQUAL (roots->labels[0], 1);
  CU_ASSERT_EQUAL (roots->labels[1], 0);
  CU_ASSERT_EQUAL (roots->labels[2], 0);
  CU_ASSERT_STRING_EQUAL (roots->label_names[1], "positive");

  g_autoptr (NerveTextDataset) ph = load_str (clean, NERVE_TEXT_FORMAT_SST_TREES, TRUE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ph);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ph->groups);
  /* tree 0 non-neutral phrases: root(3), "is great"(4), "great"(4), "is great ."(4) */
  int r = find_text (ph, "The Rock is great ."), g = find_text (ph, "is great");
  CU_ASSERT (r >= 0 && g >= 0);
  CU_ASSERT_EQUAL (ph->roots[r], 1);
  CU_ASSERT_EQUAL (ph->roots[g], 0);
  CU_ASSERT_EQUAL (ph->groups[g], 0);
  CU_ASSERT_EQUAL (ph->groups[find_text (ph, "awful")], 3);
  CU_ASSERT_EQUAL (find_text (ph, "The Rock"), -1); /* neutral */
  int n_roots = 0;
  for (int i = 0; i < ph->n; i++)
    n_roots += ph->roots[i];
  CU_ASSERT_EQUAL (n_roots, 3);

  /* five classes keep neutral phrases; dedup drops repeats ("The", "Rock", ".") */
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.phrases = TRUE;
  o.fine_grained = TRUE;
  g_autoptr (NerveTextDataset) f = nerve_text_dataset_load_data (clean, strlen (clean), "t.txt", &o, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  CU_ASSERT_EQUAL (f->n_classes, 5);
  CU_ASSERT_STRING_EQUAL (f->label_names[2], "neutral");
  int before = f->n;
  nerve_text_dataset_dedup (f);
  CU_ASSERT_EQUAL (before - f->n, 4); /* The, Rock, The Rock, . */
  for (int i = 0; i < f->n; i++)
    for (int j = 0; j < i; j++)
      CU_ASSERT_STRING_NOT_EQUAL (f->texts[i], f->texts[j]);
  nerve_text_dataset_keep_roots (f);
  CU_ASSERT_EQUAL (f->n, 3); /* the root "The Rock" repeated an earlier phrase */
  CU_ASSERT_PTR_NULL (f->groups);

  /* a leaf next to subtrees is malformed */
  g_autoptr (NerveTextDataset) bad = load_str (trees, NERVE_TEXT_FORMAT_SST_TREES, TRUE, &err);
  CU_ASSERT_PTR_NULL (bad);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_PTR_NOT_NULL (strstr (err->message, "mem.txt:2:"));
}

static void
test_sst2 (void)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveTextDataset) d = load_str ("1 a -lrb- fine -rrb- film\n0 dull .\n", NERVE_TEXT_FORMAT_AUTO, FALSE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_EQUAL (d->n, 2);
  CU_ASSERT_STRING_EQUAL (d->texts[0], "a ( fine ) film");
  CU_ASSERT_STRING_EQUAL (d->label_names[0], "negative");
  CU_ASSERT_EQUAL (d->labels[1], 0);
}

static void
expect_error (const char *text, NerveTextFormat format, const char *has)
{
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveTextDataset) d = load_str (text, format, FALSE, &err);
  CU_ASSERT_PTR_NULL (d);
  CU_ASSERT_PTR_NOT_NULL (err);
  if (err && !strstr (err->message, has)) {
    fprintf (stderr, "  error '%s' lacks '%s'\n", err->message, has);
    CU_FAIL ("message");
  }
}

static void
test_errors (void)
{
  expect_error ("1\tok\nno tab here\n", NERVE_TEXT_FORMAT_TSV, "mem.txt:2: expected 2 tab-separated fields");
  expect_error ("label\trating\ttext\n1\t2\n", NERVE_TEXT_FORMAT_TSV, "mem.txt:2: expected 3");
  expect_error ("1\t \n", NERVE_TEXT_FORMAT_TSV, "mem.txt:1: empty text");
  expect_error ("\n\n", NERVE_TEXT_FORMAT_TSV, "no samples");
  expect_error ("", NERVE_TEXT_FORMAT_AUTO, "no samples");
  expect_error ("1 fine\nnolabel\n", NERVE_TEXT_FORMAT_SST2, "mem.txt:2: expected \"LABEL sentence\"");
  expect_error ("(3 (2 a) (2 b)\n", NERVE_TEXT_FORMAT_SST_TREES, "mem.txt:1:15: tree ends before");
  expect_error (") (3 a)\n", NERVE_TEXT_FORMAT_SST_TREES, "unbalanced ')'");
  expect_error ("(7 a)\n", NERVE_TEXT_FORMAT_SST_TREES, "expected a label 0-4");
  expect_error ("(3 )\n", NERVE_TEXT_FORMAT_SST_TREES, "empty phrase");
  expect_error ("(3 a) x\n", NERVE_TEXT_FORMAT_SST_TREES, "text after the end");
  expect_error ("(3 a)\n[1 b]\n", NERVE_TEXT_FORMAT_SST_TREES, "mem.txt:2:1: unexpected '['");
  GString *deep = g_string_new (NULL);
  for (int i = 0; i < 5000; i++)
    g_string_append (deep, "(3 ");
  expect_error (deep->str, NERVE_TEXT_FORMAT_SST_TREES, "deeper than");
  g_string_free (deep, TRUE);

  /* invalid UTF-8 and NUL bytes are repaired, not fatal */
  g_autoptr (GError) err = NULL;
  const char bytes[] = "1\tbad \xff\xfe bytes \xc3\n0\tnul\0inside\n";
  g_autoptr (NerveTextDataset) d = nerve_text_dataset_load_data (bytes, sizeof bytes - 1, "u.tsv", NULL, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_EQUAL (d->n_repaired, 1);
  CU_ASSERT_TRUE (g_utf8_validate (d->texts[0], -1, NULL));
  CU_ASSERT_PTR_NOT_NULL (strstr (d->texts[0], "\xef\xbf\xbd"));
  CU_ASSERT_STRING_EQUAL (d->texts[1], "nul inside");
}

static void
test_splits (void)
{
  g_autoptr (GError) err = NULL;
  int count = 0;
  g_autofree guint8 *a = nerve_holdout_mask (1000, 0.1, 7, &count, &err);
  g_autofree guint8 *b = nerve_holdout_mask (1000, 0.1, 7, NULL, &err);
  g_autofree guint8 *c = nerve_holdout_mask (1000, 0.1, 8, NULL, &err);
  CU_ASSERT_EQUAL (count, 100);
  int held = 0, same = 0;
  for (int i = 0; i < 1000; i++)
    held += a[i], same += a[i] == c[i];
  CU_ASSERT_EQUAL (held, 100);
  CU_ASSERT_EQUAL (memcmp (a, b, 1000), 0);
  CU_ASSERT (same < 1000);
  CU_ASSERT_PTR_NULL (nerve_holdout_mask (1000, 1.0, 7, NULL, &err));
  CU_ASSERT_PTR_NOT_NULL (err);
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_holdout_mask (1, 0.5, 7, NULL, &err));
  g_clear_error (&err);

  /* plain samples: the held-out ones are exactly the mask's, order kept */
  GString *s = g_string_new (NULL);
  for (int i = 0; i < 200; i++)
    g_string_append_printf (s, "%d\tsample %d\n", i % 2, i);
  g_autoptr (NerveTextDataset) d = load_str (s->str, NERVE_TEXT_FORMAT_TSV, FALSE, &err);
  g_string_free (s, TRUE);
  g_autofree guint8 *m = nerve_holdout_mask (200, 0.25, 3, NULL, &err);
  g_autoptr (NerveTextDataset) v = nerve_text_dataset_split (d, 0.25, 3, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (v);
  CU_ASSERT_EQUAL (v->n, 50);
  CU_ASSERT_EQUAL (d->n, 150);
  int vi = 0, di = 0, prev = -1;
  for (int i = 0; i < 200; i++) {
    g_autofree char *t = g_strdup_printf ("sample %d", i);
    const char *got = m[i] ? v->texts[vi++] : d->texts[di++];
    CU_ASSERT_STRING_EQUAL (got, t);
  }
  for (int i = 0; i < v->n; i++) {
    int k = atoi (v->texts[i] + 7);
    CU_ASSERT (k > prev);
    CU_ASSERT_EQUAL (v->labels[i], k % 2);
    prev = k;
  }

  /* SST phrases: whole trees go, so no group is on both sides */
  GString *t = g_string_new (NULL);
  for (int i = 0; i < 40; i++)
    g_string_append_printf (t, "(%d (%d (2 w%d) (4 good%d)) (2 .))\n", i % 2 ? 4 : 0, i % 2 ? 3 : 1, i, i);
  g_autoptr (NerveTextDataset) ph = load_str (t->str, NERVE_TEXT_FORMAT_SST_TREES, TRUE, &err);
  g_string_free (t, TRUE);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ph);
  g_autoptr (NerveTextDataset) hv = nerve_text_dataset_split (ph, 0.25, 1, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (hv);
  for (int i = 0; i < hv->n; i++)
    for (int j = 0; j < ph->n; j++)
      CU_ASSERT_NOT_EQUAL (hv->groups[i], ph->groups[j]);
  nerve_text_dataset_keep_roots (hv);
  CU_ASSERT_EQUAL (hv->n, 10);
  for (int i = 0; i < hv->n; i++)
    CU_ASSERT_PTR_NOT_NULL (strstr (hv->texts[i], " ."));
}

/* Garbage and mutated files: every call either loads or fails with an error, never
 * both, never a crash (run under ASan in the sanitizer build). */
static void
test_garbage (void)
{
  static const char *const seeds[] = {
    "label\trating\ttext\n1\t9\tGood <br />film\n0\t1\tbad\n",
    "(3 (2 (2 The) (2 R  ock)) (4 (3 (2 is) (4 great)) (2 .)))\n(0 (0 awful) (2 .))\n",
    "1 a fine film\n0 a dull one\n",
  };
  NerveRng rng;
  nerve_rng_seed (&rng, 99);
  int loaded = 0, failed = 0;
  for (int iter = 0; iter < 3000; iter++) {
    const char *seed = seeds[iter % 3];
    gsize len = strlen (seed);
    GByteArray *b = g_byte_array_new ();
    if (iter % 10 == 9) { /* pure noise */
      len = nerve_rng_below (&rng, 400);
      for (gsize i = 0; i < len; i++) {
        guint8 c = (guint8) nerve_rng_u32 (&rng);
        g_byte_array_append (b, &c, 1);
      }
    } else {
      g_byte_array_append (b, (const guint8 *) seed, (guint) len);
      int edits = 1 + (int) nerve_rng_below (&rng, 6);
      static const char alphabet[] = "()\t\n 01234<>/br\r\xff\xc3-LRB";
      for (int e = 0; e < edits && b->len; e++) {
        guint pos = nerve_rng_below (&rng, b->len);
        guint op = nerve_rng_below (&rng, 3);
        guint8 c = (guint8) alphabet[nerve_rng_below (&rng, sizeof alphabet - 1)];
        if (op == 0)
          b->data[pos] = c;
        else if (op == 1)
          g_byte_array_remove_index (b, pos);
        else {
          g_byte_array_set_size (b, b->len + 1);
          memmove (b->data + pos + 1, b->data + pos, b->len - 1 - pos);
          b->data[pos] = c;
        }
      }
    }
    for (int f = 0; f < 4; f++) {
      NerveTextLoadOptions o;
      nerve_text_load_options_init (&o);
      o.format = (NerveTextFormat) f;
      o.phrases = iter & 1;
      GError *err = NULL;
      NerveTextDataset *d = nerve_text_dataset_load_data ((const char *) b->data, b->len, "fuzz", &o, &err);
      CU_ASSERT ((d == NULL) != (err == NULL));
      if (d) {
        loaded++;
        for (int i = 0; i < d->n; i++) {
          CU_ASSERT_TRUE (g_utf8_validate (d->texts[i], -1, NULL));
          CU_ASSERT (d->labels[i] >= 0 && d->labels[i] < d->n_classes);
        }
        nerve_text_dataset_free (d);
      } else {
        failed++;
        g_error_free (err);
      }
    }
    g_byte_array_unref (b);
  }
  CU_ASSERT (loaded > 100 && failed > 100);
}

static void
test_encode (void)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *dir = g_dir_make_tmp ("nerve-text-XXXXXX", NULL);
  g_autofree char *corpus = g_build_filename (dir, "corpus.txt", NULL);
  GString *s = g_string_new (NULL), *tsv = g_string_new (NULL);
  static const char *const words[] = { "good", "great", "fine", "bad", "awful", "dull", "film", "movie", "plot", "the" };
  NerveRng rng;
  nerve_rng_seed (&rng, 5);
  for (int i = 0; i < 300; i++) {
    int n = 1 + (int) nerve_rng_below (&rng, 12);
    GString *line = g_string_new (NULL);
    for (int k = 0; k < n; k++)
      g_string_append_printf (line, "%s%s", k ? " " : "", words[nerve_rng_below (&rng, 10)]);
    g_string_append_printf (s, "%s\n", line->str);
    g_string_append_printf (tsv, "%d\t%s\n", i % 2, line->str);
    g_string_free (line, TRUE);
  }
  g_file_set_contents (corpus, s->str, -1, NULL);
  NerveTokenizerTrainOptions to;
  nerve_tokenizer_train_options_init (&to);
  to.vocab_size = 30;
  to.normalization = "identity";
  g_autoptr (NerveTokenizer) tok = nerve_tokenizer_train (corpus, &to, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (tok);
  g_autoptr (NerveTextDataset) d = load_str (tsv->str, NERVE_TEXT_FORMAT_TSV, FALSE, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  int truncated = -1;
  g_autoptr (NerveDataset) e = nerve_text_dataset_encode (d, tok, 8, &truncated, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  CU_ASSERT_EQUAL (e->n, 300);
  CU_ASSERT_EQUAL (e->shape.ndim, 1);
  CU_ASSERT_EQUAL (e->shape.dim[0], 8);
  CU_ASSERT (truncated > 0 && truncated < 300);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  int longer = 0;
  for (int i = 0; i < e->n; i++) {
    nerve_tokenizer_encode (tok, d->texts[i], -1, ids, NULL, NULL);
    CU_ASSERT_EQUAL (e->lengths[i], MIN ((int) ids->len, 8));
    longer += ids->len > 8;
    for (int k = 0; k < 8; k++) {
      float v = e->x[i * 8 + k];
      CU_ASSERT (k < e->lengths[i] ? v == (float) g_array_index (ids, gint32, k) : v == 0);
    }
    CU_ASSERT_EQUAL (e->y[i], i % 2);
  }
  CU_ASSERT_EQUAL (longer, truncated);
  /* a split keeps lengths with their samples */
  g_autoptr (NerveDataset) ev = nerve_dataset_split (e, 60, 1, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ev);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ev->lengths);
  CU_ASSERT_EQUAL (ev->n + e->n, 300);
  for (int i = 0; i < ev->n; i++) {
    int nz = 0; /* unk (0) never occurs in this corpus: the nonzero ids are the tokens */
    for (int k = 0; k < 8; k++)
      nz += ev->x[i * 8 + k] != 0;
    CU_ASSERT_EQUAL (ev->lengths[i], nz);
  }
  g_string_free (s, TRUE), g_string_free (tsv, TRUE);
  g_unlink (corpus), g_rmdir (dir);
}

static void
test_real_data (void)
{
  g_autofree char *dir = nerve_test_data_path (NULL);
  if (!dir)
    return;
  g_autoptr (GError) err = NULL;
  g_autofree char *trees_path = g_build_filename (dir, "sentiment/sst-trees/train.txt", NULL);
  g_autofree char *dev_trees = g_build_filename (dir, "sentiment/sst-trees/dev.txt", NULL);
  g_autofree char *sst2_dev = g_build_filename (dir, "sentiment/sst2/dev.txt", NULL);
  g_autofree char *imdb = g_build_filename (dir, "sentiment/imdb/train.tsv.gz", NULL);
  NerveTextLoadOptions o;
  nerve_text_load_options_init (&o);
  o.phrases = TRUE;
  g_autoptr (NerveTextDataset) ph = nerve_text_dataset_load (trees_path, &o, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ph);
  CU_ASSERT_EQUAL (ph->n_repaired, 0);
  CU_ASSERT (find_text (ph, "The Rock is destined to be the 21st Century 's new `` Conan '' and that he 's going "
                            "to make a splash even greater than Arnold Schwarzenegger , Jean-Claud Van Damme or "
                            "Steven Segal .") >= 0);
  int before = ph->n;
  nerve_text_dataset_dedup (ph);
  fprintf (stderr, "  SST train: %d binary phrases, %d distinct\n", before, ph->n);
  CU_ASSERT (ph->n > 70000);
  /* SST-2 dev sentences are the dev trees' binary roots, lower-cased */
  g_autoptr (NerveTextDataset) dt = nerve_text_dataset_load (dev_trees, NULL, &err);
  g_autoptr (NerveTextDataset) d2 = nerve_text_dataset_load (sst2_dev, NULL, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (dt);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d2);
  CU_ASSERT_EQUAL (d2->n, 872);
  CU_ASSERT_EQUAL (dt->n, 872);
  g_autoptr (GHashTable) roots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  for (int i = 0; i < dt->n; i++)
    g_hash_table_insert (roots, g_utf8_strdown (dt->texts[i], -1), GINT_TO_POINTER (dt->labels[i] + 1));
  int same = 0;
  for (int i = 0; i < d2->n; i++)
    same += GPOINTER_TO_INT (g_hash_table_lookup (roots, d2->texts[i])) == d2->labels[i] + 1;
  fprintf (stderr, "  SST-2 dev: %d of %d sentences equal the lower-cased tree roots\n", same, d2->n);
  CU_ASSERT (same > 860);
  g_autoptr (NerveTextDataset) im = nerve_text_dataset_load (imdb, NULL, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (im);
  CU_ASSERT_EQUAL (im->n, 25000);
  CU_ASSERT_EQUAL (im->n_classes, 2);
  int br = 0;
  for (int i = 0; i < im->n; i++)
    br += strstr (im->texts[i], "<br") != NULL;
  CU_ASSERT_EQUAL (br, 0);
}

NERVE_TEST_MAIN ("textdata",
                 { "tsv: headers, tags, labels, gzip", test_tsv },
                 { "sst trees: phrases, roots, binary, quirks", test_sst_trees },
                 { "sst2 sentences", test_sst2 },
                 { "malformed input names file:line", test_errors },
                 { "seeded splits (whole trees)", test_splits },
                 { "garbage never crashes", test_garbage },
                 { "encode with a tokenizer", test_encode },
                 { "the real data (skipped when absent)", test_real_data })

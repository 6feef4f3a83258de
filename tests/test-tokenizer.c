/* SentencePiece tokenizers: in-process training on a corpus this test writes itself,
 * round trips (non-ASCII, byte fallback), serialization and model-file storage, broken
 * models, invalid UTF-8, out-of-range ids, determinism and concurrent encoding. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

/* ---- the training corpus: English-ish lines from a fixed LCG ------------------------- */

static const char *const words[] = {
  "the", "a", "of", "and", "to", "in", "is", "was", "for", "on", "with", "as", "by", "at", "from",
  "model", "network", "signal", "audio", "token", "sentence", "train", "training", "learn", "weight",
  "weights", "layer", "layers", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "river",
  "mountain", "city", "music", "voice", "speech", "noise", "filter", "stream", "sample", "samples",
  "are", "saved", "one", "file", "times", "runs", "fast", "slowly", "every", "night", "morning",
  "small", "large", "green", "blue", "house", "window", "people", "reading", "writing", "words",
  "café", "naïve", "résumé", "Grüße", "straße", "日本", "東京", "日本語", "São", "Paulo",
  "Ελλάδα", "привет", "Model", "The", "Every", "Speech", "Music",
};

static const char *const syllables[] = {
  "ka", "to", "ri", "ne", "su", "mo", "la", "pi", "en", "or", "ath", "ing", "qu", "ex",
  "ul", "zo", "ber", "dan", "fi", "go", "hy", "jo", "vet", "wa",
};

static guint32
lcg (guint32 *s)
{
  *s = *s * 1103515245u + 12345u;
  return *s >> 8;
}

static char *
make_corpus (int n_lines)
{
  GString *s = g_string_new (NULL);
  guint32 st = 12345;
  for (int i = 0; i < n_lines; i++) {
    int n = 4 + (int) (lcg (&st) % 11);
    for (int j = 0; j < n; j++) {
      if (j)
        g_string_append_c (s, ' ');
      guint32 r = lcg (&st);
      if (r % 4 == 0) { /* a made-up word */
        int k = 1 + (int) (lcg (&st) % 3);
        for (int q = 0; q < k; q++)
          g_string_append (s, syllables[lcg (&st) % G_N_ELEMENTS (syllables)]);
      } else if (r % 17 == 1) {
        g_string_append_printf (s, "%u", lcg (&st) % 1000);
      } else {
        g_string_append (s, words[lcg (&st) % G_N_ELEMENTS (words)]);
      }
      if (j + 1 < n && r % 13 == 2)
        g_string_append_c (s, ',');
    }
    g_string_append (s, i % 7 == 3 ? "?\r\n" : ".\n"); /* some CR LF lines */
    if (i % 50 == 0)
      g_string_append (s, "\n"); /* and empty lines */
  }
  return g_string_free (s, FALSE);
}

static char *tmp_dir;
static char *corpus_path;

static void
cleanup (void)
{
  GDir *d = tmp_dir ? g_dir_open (tmp_dir, 0, NULL) : NULL;
  const char *n;
  while (d && (n = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (tmp_dir, n, NULL);
    g_unlink (p);
  }
  if (d)
    g_dir_close (d);
  if (tmp_dir)
    g_rmdir (tmp_dir);
  g_clear_pointer (&tmp_dir, g_free);
  g_clear_pointer (&corpus_path, g_free);
}

static char *
tmp_file (const char *name)
{
  if (!tmp_dir) {
    tmp_dir = g_dir_make_tmp ("nerve-tokenizer-XXXXXX", NULL);
    g_assert (tmp_dir);
    atexit (cleanup);
  }
  return g_build_filename (tmp_dir, name, NULL);
}

static const char *
corpus (void)
{
  if (!corpus_path) {
    corpus_path = tmp_file ("corpus.txt");
    g_autofree char *text = make_corpus (600);
    g_assert (g_file_set_contents (corpus_path, text, -1, NULL));
  }
  return corpus_path;
}

static NerveTokenizer *
train (const NerveTokenizerTrainOptions *o)
{
  g_autoptr (GError) err = NULL;
  NerveTokenizer *t = nerve_tokenizer_train (corpus (), o, &err);
  if (!t)
    fprintf (stderr, "  training: %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  return t;
}

/* trained once, shared by the tests, freed by the last one */
static NerveTokenizer *shared_unigram, *shared_bpe;

/* unigram, 300 pieces */
static NerveTokenizer *
unigram (void)
{
  NerveTokenizer **t = &shared_unigram;
  if (!*t) {
    NerveTokenizerTrainOptions o;
    nerve_tokenizer_train_options_init (&o);
    o.vocab_size = 300;
    *t = train (&o);
  }
  return *t;
}

/* BPE with byte fallback, 500 pieces: characters it never saw become byte pieces.
 * Plain NFKC: unlike nmt_nfkc it keeps U+FFFD. */
static NerveTokenizer *
bpe_bytes (void)
{
  NerveTokenizer **t = &shared_bpe;
  if (!*t) {
    NerveTokenizerTrainOptions o;
    nerve_tokenizer_train_options_init (&o);
    o.vocab_size = 500;
    o.model_type = "bpe";
    o.byte_fallback = TRUE;
    o.normalization = "nfkc";
    *t = train (&o);
  }
  return *t;
}

/* already normalized (NFKC, single spaces), so they must round-trip exactly */
static const char *const sentences[] = {
  "the quick brown fox jumps over the lazy dog.",
  "Model weights are saved in one file, 42 times.",
  "café naïve résumé Grüße straße",
  "日本語 東京 日本",
  "привет Ελλάδα São Paulo",
  "kato ribersu zofi wa dog?",
  "x",
};

static GArray *
ids_new (void)
{
  return g_array_new (FALSE, FALSE, sizeof (gint32));
}

static GArray *
enc (const NerveTokenizer *t, const char *text, gssize len, gboolean *replaced)
{
  GArray *ids = ids_new ();
  g_autoptr (GError) err = NULL;
  gboolean ok = nerve_tokenizer_encode (t, text, len, ids, replaced, &err);
  if (!ok)
    fprintf (stderr, "  encode: %s\n", err->message);
  CU_ASSERT_TRUE (ok);
  return ids;
}

static char *
dec (const NerveTokenizer *t, GArray *ids)
{
  g_autoptr (GError) err = NULL;
  char *s = nerve_tokenizer_decode (t, (const gint32 *) ids->data, ids->len, &err);
  if (!s)
    fprintf (stderr, "  decode: %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL (s);
  return s;
}

static gboolean
ids_equal (GArray *a, GArray *b)
{
  return a->len == b->len && (a->len == 0 || memcmp (a->data, b->data, a->len * sizeof (gint32)) == 0);
}

static void
expect_error (GError *err, int code, const char *needle)
{
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  CU_ASSERT_TRUE (err->domain == NERVE_ERROR);
  CU_ASSERT_EQUAL (err->code, code);
  if (!strstr (err->message, needle)) {
    fprintf (stderr, "  '%s' does not mention '%s'\n", err->message, needle);
    CU_FAIL ("message does not say what was wrong");
  }
}

/* ---- tests ------------------------------------------------------------------------- */

static void
test_options_init (void)
{
  NerveTokenizerTrainOptions o;
  memset (&o, 0x5a, sizeof o);
  nerve_tokenizer_train_options_init (&o);
  CU_ASSERT_EQUAL (o.vocab_size, 8000);
  CU_ASSERT_STRING_EQUAL (o.model_type, "unigram");
  CU_ASSERT_EQUAL (o.character_coverage, 1.0f);
  CU_ASSERT_EQUAL (o.max_sentences, 0);
  CU_ASSERT_FALSE (o.lowercase);
  CU_ASSERT_STRING_EQUAL (o.normalization, "nmt_nfkc");
  CU_ASSERT_FALSE (o.byte_fallback);
  CU_ASSERT_TRUE (o.unk_id == 0 && o.bos_id == 1 && o.eos_id == 2 && o.pad_id == -1);
  CU_ASSERT_EQUAL (o.seed, 0);
  CU_ASSERT_EQUAL (o.threads, 1);
}

static void
test_vocab (void)
{
  NerveTokenizer *t = unigram ();
  CU_ASSERT_EQUAL (nerve_tokenizer_vocab_size (t), 300);
  CU_ASSERT_EQUAL (nerve_tokenizer_unk_id (t), 0);
  CU_ASSERT_EQUAL (nerve_tokenizer_bos_id (t), 1);
  CU_ASSERT_EQUAL (nerve_tokenizer_eos_id (t), 2);
  CU_ASSERT_EQUAL (nerve_tokenizer_pad_id (t), -1);
  CU_ASSERT_STRING_EQUAL (nerve_tokenizer_id_to_piece (t, 0), "<unk>");
  CU_ASSERT_STRING_EQUAL (nerve_tokenizer_id_to_piece (t, 1), "<s>");
  CU_ASSERT_STRING_EQUAL (nerve_tokenizer_id_to_piece (t, 2), "</s>");
  CU_ASSERT_PTR_NULL (nerve_tokenizer_id_to_piece (t, -1));
  CU_ASSERT_PTR_NULL (nerve_tokenizer_id_to_piece (t, 300));
  CU_ASSERT_PTR_NULL (nerve_tokenizer_id_to_piece (t, G_MAXINT));
  CU_ASSERT_EQUAL (nerve_tokenizer_piece_to_id (t, "no such piece at all"), 0);
  CU_ASSERT_EQUAL (nerve_tokenizer_piece_to_id (t, ""), 0);
  int mismatched = 0;
  for (int i = 0; i < 300; i++) {
    const char *p = nerve_tokenizer_id_to_piece (t, i);
    if (!p || nerve_tokenizer_piece_to_id (t, p) != i)
      mismatched++;
  }
  CU_ASSERT_EQUAL (mismatched, 0);
  /* every character of the corpus is covered (character_coverage 1.0) */
  CU_ASSERT_NOT_EQUAL (nerve_tokenizer_piece_to_id (t, "語"), 0);
  CU_ASSERT_NOT_EQUAL (nerve_tokenizer_piece_to_id (t, "é"), 0);
}

static void
test_roundtrip (void)
{
  NerveTokenizer *models[] = { unigram (), bpe_bytes () };
  for (int m = 0; m < 2; m++)
    for (guint i = 0; i < G_N_ELEMENTS (sentences); i++) {
      gboolean replaced = TRUE;
      g_autoptr (GArray) ids = enc (models[m], sentences[i], -1, &replaced);
      CU_ASSERT_FALSE (replaced);
      CU_ASSERT_TRUE (ids->len > 0);
      int unk = 0;
      for (guint k = 0; k < ids->len; k++)
        unk += g_array_index (ids, gint32, k) == 0;
      CU_ASSERT_EQUAL (unk, 0);
      g_autofree char *back = dec (models[m], ids);
      if (back && strcmp (back, sentences[i]) != 0)
        fprintf (stderr, "  model %d: '%s' came back as '%s'\n", m, sentences[i], back);
      CU_ASSERT_STRING_EQUAL (back, sentences[i]);
    }
  /* common words become one piece each: the tokenizer really learned something */
  g_autoptr (GArray) ids = enc (unigram (), "the model", -1, NULL);
  CU_ASSERT_EQUAL (ids->len, 2);
  /* explicit length: only the first 9 bytes */
  g_autoptr (GArray) a = enc (unigram (), "the model and more", 9, NULL);
  CU_ASSERT_TRUE (ids_equal (a, ids));
}

static void
test_unknown_characters (void)
{
  const char *s = "the 😀 and ❤ tokens";
  /* unigram without byte fallback: unseen characters are unk, decoded as " ⁇ " */
  g_autoptr (GArray) ids = enc (unigram (), s, -1, NULL);
  int unk = 0;
  for (guint k = 0; k < ids->len; k++)
    unk += g_array_index (ids, gint32, k) == nerve_tokenizer_unk_id (unigram ());
  CU_ASSERT_EQUAL (unk, 2);
  g_autofree char *back = dec (unigram (), ids);
  CU_ASSERT_PTR_NOT_NULL_FATAL (back);
  CU_ASSERT_PTR_NOT_NULL (strstr (back, "\xe2\x81\x87")); /* ⁇ */
  /* byte fallback: exact round trip through byte pieces */
  g_autoptr (GArray) ids2 = enc (bpe_bytes (), s, -1, NULL);
  g_autofree char *back2 = dec (bpe_bytes (), ids2);
  CU_ASSERT_STRING_EQUAL (back2, s);
  CU_ASSERT_EQUAL (nerve_tokenizer_piece_to_id (bpe_bytes (), "<0xF0>") != 0, TRUE);
  /* byte pieces that spell invalid UTF-8 or a NUL still decode to clean text */
  gint32 raw[] = { nerve_tokenizer_piece_to_id (bpe_bytes (), "<0xFF>"),
                   nerve_tokenizer_piece_to_id (bpe_bytes (), "<0x00>"),
                   nerve_tokenizer_piece_to_id (bpe_bytes (), "<0xE6>"),
                   nerve_tokenizer_piece_to_id (bpe_bytes (), "a") };
  g_autofree char *clean = nerve_tokenizer_decode (bpe_bytes (), raw, 4, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL (clean);
  CU_ASSERT_TRUE (g_utf8_validate (clean, -1, NULL));
  CU_ASSERT_PTR_NOT_NULL (strstr (clean, "\xef\xbf\xbd"));
  CU_ASSERT_TRUE (g_str_has_suffix (clean, "a"));
}

static void
test_pieces (void)
{
  NerveTokenizer *t = unigram ();
  for (guint i = 0; i < G_N_ELEMENTS (sentences); i++) {
    g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
    g_ptr_array_add (pieces, g_strdup ("stale"));
    g_autoptr (GError) err = NULL;
    CU_ASSERT_TRUE_FATAL (nerve_tokenizer_encode_pieces (t, sentences[i], -1, pieces, &err));
    g_autoptr (GArray) ids = enc (t, sentences[i], -1, NULL);
    CU_ASSERT_EQUAL_FATAL (pieces->len, ids->len);
    GString *joined = g_string_new (NULL);
    for (guint k = 0; k < pieces->len; k++) {
      CU_ASSERT_EQUAL (nerve_tokenizer_piece_to_id (t, pieces->pdata[k]), g_array_index (ids, gint32, k));
      g_string_append (joined, pieces->pdata[k]);
    }
    /* pieces concatenate to the text with "▁" for word starts */
    g_autofree char *spaced = g_strconcat (" ", sentences[i], NULL);
    g_autoptr (GString) expect = g_string_new (spaced);
    g_string_replace (expect, " ", "\xe2\x96\x81", 0);
    CU_ASSERT_STRING_EQUAL (joined->str, expect->str);
    g_string_free (joined, TRUE);
  }
}

static void
test_empty (void)
{
  NerveTokenizer *t = unigram ();
  g_autoptr (GArray) ids = ids_new ();
  gint32 junk = 7;
  g_array_append_val (ids, junk);
  gboolean replaced = TRUE;
  CU_ASSERT_TRUE (nerve_tokenizer_encode (t, "", -1, ids, &replaced, NULL));
  CU_ASSERT_EQUAL (ids->len, 0);
  CU_ASSERT_FALSE (replaced);
  g_array_append_val (ids, junk);
  CU_ASSERT_TRUE (nerve_tokenizer_encode (t, NULL, 0, ids, NULL, NULL));
  CU_ASSERT_EQUAL (ids->len, 0);
  CU_ASSERT_TRUE (nerve_tokenizer_encode (t, "   ", -1, ids, NULL, NULL)); /* spaces fold away */
  CU_ASSERT_EQUAL (ids->len, 0);
  g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
  CU_ASSERT_TRUE (nerve_tokenizer_encode_pieces (t, "", 0, pieces, NULL));
  CU_ASSERT_EQUAL (pieces->len, 0);
  g_autofree char *s = nerve_tokenizer_decode (t, NULL, 0, NULL);
  CU_ASSERT_STRING_EQUAL (s, "");
  /* control ids decode to nothing */
  gint32 ctl[] = { 1, 2 };
  g_autofree char *s2 = nerve_tokenizer_decode (t, ctl, 2, NULL);
  CU_ASSERT_STRING_EQUAL (s2, "");
}

static void
test_invalid_utf8 (void)
{
#define R "\xef\xbf\xbd" /* U+FFFD */
  static const struct {
    const char *bad;
    const char *fixed; /* what the library is given instead */
    const char *nmt;   /* decoded by the nmt_nfkc model, whose normalizer drops U+FFFD */
  } cases[] = {
    { "\x80" "abc", R "abc", "abc" },                              /* lone continuation */
    { "ab \xbf\xbf cd", "ab " R R " cd", "ab cd" },                /* two of them */
    { "the dog \xe6\x97", "the dog " R R, "the dog" },             /* truncated 日 */
    { "caf\xc3", "caf" R, "caf" },                                 /* truncated é at the end */
    { "\xc0\xaf" "x", R R "x", "x" },                              /* overlong '/' */
    { "\xe0\x80\xaf", R R R, "" },                                 /* overlong, 3 bytes */
    { "\xed\xa0\x80", R R R, "" },                                 /* UTF-16 surrogate */
    { "\xf4\x90\x80\x80", R R R R, "" },                            /* past U+10FFFF */
    { "\xff\xfe model", R R " model", "model" },
  };
#undef R
  NerveTokenizer *models[] = { unigram (), bpe_bytes () };
  for (int m = 0; m < 2; m++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
      gboolean replaced = FALSE, replaced2 = TRUE;
      g_autoptr (GArray) a = enc (models[m], cases[i].bad, -1, &replaced);
      g_autoptr (GArray) b = enc (models[m], cases[i].fixed, -1, &replaced2);
      CU_ASSERT_TRUE (replaced);
      CU_ASSERT_FALSE (replaced2);
      CU_ASSERT_TRUE (ids_equal (a, b));
      /* byte fallback + NFKC brings U+FFFD back */
      g_autofree char *back = dec (models[m], a);
      CU_ASSERT_STRING_EQUAL (back, m == 1 ? cases[i].fixed : cases[i].nmt);
      g_autoptr (GPtrArray) pieces = g_ptr_array_new_with_free_func (g_free);
      CU_ASSERT_TRUE (nerve_tokenizer_encode_pieces (models[m], cases[i].bad, -1, pieces, NULL));
      CU_ASSERT_EQUAL (pieces->len, a->len);
    }

  /* a NUL inside an explicit length is valid UTF-8: not "replaced", no crash */
  gboolean replaced = TRUE;
  g_autoptr (GArray) z = enc (unigram (), "a\0b", 3, &replaced);
  CU_ASSERT_FALSE (replaced);
  CU_ASSERT_TRUE (z->len >= 2);

  /* random bytes: always encodes, ids in range, decodes */
  NerveRng rng;
  nerve_rng_seed (&rng, 99);
  int failures = 0;
  g_autoptr (GArray) ids = ids_new ();
  for (int it = 0; it < 2000; it++) {
    char buf[80];
    int n = (int) nerve_rng_below (&rng, sizeof buf);
    for (int k = 0; k < n; k++)
      buf[k] = (char) nerve_rng_u32 (&rng);
    NerveTokenizer *t = models[it & 1];
    if (!nerve_tokenizer_encode (t, buf, n, ids, NULL, NULL)) {
      failures++;
      continue;
    }
    for (guint k = 0; k < ids->len; k++) {
      gint32 id = g_array_index (ids, gint32, k);
      failures += id < 0 || id >= nerve_tokenizer_vocab_size (t);
    }
    char *s = nerve_tokenizer_decode (t, (gint32 *) ids->data, ids->len, NULL);
    failures += s == NULL || !g_utf8_validate (s, -1, NULL);
    g_free (s);
  }
  CU_ASSERT_EQUAL (failures, 0);
}

static void
test_decode_out_of_range (void)
{
  NerveTokenizer *t = unigram ();
  g_autoptr (GError) err = NULL;
  gint32 ids[] = { 5, 300 };
  CU_ASSERT_PTR_NULL (nerve_tokenizer_decode (t, ids, 2, &err));
  expect_error (err, NERVE_ERROR_INVALID, "id 300 at position 1 is out of range");
  g_clear_error (&err);
  gint32 neg[] = { -1 };
  CU_ASSERT_PTR_NULL (nerve_tokenizer_decode (t, neg, 1, &err));
  expect_error (err, NERVE_ERROR_INVALID, "id -1 at position 0");
  g_clear_error (&err);
  gint32 big[] = { G_MININT32, G_MAXINT32 };
  CU_ASSERT_PTR_NULL (nerve_tokenizer_decode (t, big, 2, &err));
  expect_error (err, NERVE_ERROR_INVALID, "ids 0..299");
}

static void
test_serialize (void)
{
  NerveTokenizer *t = unigram ();
  g_autoptr (GBytes) b = nerve_tokenizer_serialize (t);
  CU_ASSERT_TRUE_FATAL (g_bytes_get_size (b) > 0);
  g_autoptr (GError) err = NULL;
  gsize len;
  const void *data = g_bytes_get_data (b, &len);
  g_autoptr (NerveTokenizer) u = nerve_tokenizer_load_from_data (data, len, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (u);
  g_autoptr (GBytes) b2 = nerve_tokenizer_serialize (u);
  CU_ASSERT_TRUE (g_bytes_equal (b, b2));
  /* and through a .model file */
  g_autofree char *path = tmp_file ("t.model");
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (path, data, len, NULL));
  g_autoptr (NerveTokenizer) f = nerve_tokenizer_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (f);
  for (guint i = 0; i < G_N_ELEMENTS (sentences); i++) {
    g_autoptr (GArray) x = enc (t, sentences[i], -1, NULL);
    g_autoptr (GArray) y = enc (u, sentences[i], -1, NULL);
    g_autoptr (GArray) z = enc (f, sentences[i], -1, NULL);
    CU_ASSERT_TRUE (ids_equal (x, y) && ids_equal (x, z));
  }
  CU_ASSERT_EQUAL (nerve_tokenizer_vocab_size (u), 300);
}

static void
test_model_file (void)
{
  NerveTokenizer *t = bpe_bytes ();
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_new ("{\"input\":[4],\"layers\":[{\"type\":\"dense\",\"units\":3}]}", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_init_params (m, 1);

  /* no tokenizer yet */
  CU_ASSERT_PTR_NULL (nerve_tokenizer_from_model (m, &err));
  expect_error (err, NERVE_ERROR_FORMAT, "has no tokenizer (no 'tokenizer.spm' blob)");
  g_clear_error (&err);

  CU_ASSERT_TRUE (nerve_tokenizer_attach (m, t));
  g_autofree char *path = tmp_file ("m.nerve");
  CU_ASSERT_TRUE_FATAL (nerve_model_save (m, path, &err));
  g_autoptr (NerveModel) l = nerve_model_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (l);
  g_autoptr (NerveTokenizer) u = nerve_tokenizer_from_model (l, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (u);
  for (guint i = 0; i < G_N_ELEMENTS (sentences); i++) {
    g_autoptr (GArray) x = enc (t, sentences[i], -1, NULL);
    g_autoptr (GArray) y = enc (u, sentences[i], -1, NULL);
    CU_ASSERT_TRUE (ids_equal (x, y));
  }

  /* a blob that is not a SentencePiece model */
  g_autoptr (GBytes) junk = g_bytes_new_static ("not a model", 11);
  nerve_model_set_blob (l, NERVE_TOKENIZER_BLOB, junk);
  CU_ASSERT_PTR_NULL (nerve_tokenizer_from_model (l, &err));
  expect_error (err, NERVE_ERROR_FORMAT, "the model's 'tokenizer.spm' blob is not a SentencePiece model");
}

static void
test_load_errors (void)
{
  g_autoptr (GError) err = NULL;
  CU_ASSERT_PTR_NULL (nerve_tokenizer_load_from_data ("", 0, &err));
  expect_error (err, NERVE_ERROR_FORMAT, "tokenizer data is empty");
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_tokenizer_load_from_data ("garbage bytes", 13, &err));
  expect_error (err, NERVE_ERROR_FORMAT, "is not a SentencePiece model");
  g_clear_error (&err);

  g_autoptr (GBytes) b = nerve_tokenizer_serialize (unigram ());
  gsize len;
  const guint8 *data = g_bytes_get_data (b, &len);
  /* truncations: most fail to parse; a cut at a field boundary parses but lacks the
   * pieces; none may load or crash */
  int loaded = 0;
  const gsize cuts[] = { 1, 2, 10, 100, len / 3, len / 2, len - 1 };
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++) {
    NerveTokenizer *t = nerve_tokenizer_load_from_data (data, cuts[i], &err);
    if (t) {
      loaded++;
      nerve_tokenizer_free (t);
    } else {
      CU_ASSERT_TRUE (err->domain == NERVE_ERROR && err->code == NERVE_ERROR_FORMAT);
    }
    g_clear_error (&err);
  }
  CU_ASSERT_EQUAL (loaded, 0);

  /* random bytes and flipped bytes never crash; a failure always explains itself */
  NerveRng rng;
  nerve_rng_seed (&rng, 5);
  g_autofree guint8 *copy = g_memdup2 (data, len);
  int unexplained = 0;
  for (int it = 0; it < 200; it++) {
    guint8 buf[256];
    for (guint k = 0; k < sizeof buf; k++)
      buf[k] = (guint8) nerve_rng_u32 (&rng);
    NerveTokenizer *t = nerve_tokenizer_load_from_data (buf, 1 + nerve_rng_below (&rng, sizeof buf), &err);
    unexplained += !t && (!err || !err->message[0]);
    nerve_tokenizer_free (t);
    g_clear_error (&err);
    memcpy (copy, data, len);
    for (int k = 0; k < 4; k++)
      copy[nerve_rng_below (&rng, (guint32) len)] = (guint8) nerve_rng_u32 (&rng);
    t = nerve_tokenizer_load_from_data (copy, len, &err);
    unexplained += !t && (!err || !err->message[0]);
    if (t) { /* a mutant that loads must still encode safely */
      g_autoptr (GArray) ids = ids_new ();
      nerve_tokenizer_encode (t, sentences[0], -1, ids, NULL, NULL);
      nerve_tokenizer_free (t);
    }
    g_clear_error (&err);
  }
  CU_ASSERT_EQUAL (unexplained, 0);

  CU_ASSERT_PTR_NULL (nerve_tokenizer_load ("/nonexistent/dir/x.model", &err));
  expect_error (err, NERVE_ERROR_IO, "x.model");
  g_clear_error (&err);
  g_autofree char *empty = tmp_file ("empty.model");
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (empty, "", 0, NULL));
  CU_ASSERT_PTR_NULL (nerve_tokenizer_load (empty, &err));
  expect_error (err, NERVE_ERROR_FORMAT, "empty.model is empty");
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_tokenizer_load (tmp_dir, &err)); /* a directory */
  expect_error (err, NERVE_ERROR_IO, "cannot read the tokenizer model");
}

static void
test_training_options (void)
{
  NerveTokenizerTrainOptions o;
  nerve_tokenizer_train_options_init (&o);
  g_autoptr (GError) err = NULL;
  o.vocab_size = 100000; /* far more pieces than the corpus has */
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "Vocabulary size too high");
  if (err)
    CU_ASSERT_PTR_NULL (strstr (err->message, ".cc(")); /* no source locations */
  g_clear_error (&err);

  nerve_tokenizer_train_options_init (&o);
  o.model_type = "wordpiece";
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "model_type must be");
  g_clear_error (&err);
  nerve_tokenizer_train_options_init (&o);
  o.character_coverage = 0;
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "character_coverage");
  g_clear_error (&err);
  nerve_tokenizer_train_options_init (&o);
  o.normalization = "identity";
  o.lowercase = TRUE;
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "lowercase");
  g_clear_error (&err);
  nerve_tokenizer_train_options_init (&o);
  o.vocab_size = 300;
  o.pad_id = 300;
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "pad_id");
  g_clear_error (&err);
  o.pad_id = 1; /* same as bos: SentencePiece itself refuses */
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (corpus (), &o, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_INVALID);
  g_clear_error (&err);

  nerve_tokenizer_train_options_init (&o);
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train ("/nonexistent/corpus.txt", &o, &err));
  expect_error (err, NERVE_ERROR_IO, "corpus.txt");
  g_clear_error (&err);
  g_autofree char *blank = tmp_file ("blank.txt");
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (blank, "\n\r\n\n", -1, NULL));
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (blank, &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "no sentences");
  g_clear_error (&err);
  g_autofree char *long_line = g_strnfill (5000, 'a');
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (blank, long_line, -1, NULL));
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (blank, &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "at most 4192 bytes");
  g_clear_error (&err);
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (blank, "hello world\n", -1, NULL));
  o.vocab_size = 5;
  CU_ASSERT_PTR_NULL (nerve_tokenizer_train (blank, &o, &err));
  expect_error (err, NERVE_ERROR_INVALID, "Vocabulary size is smaller than required_chars");
  g_clear_error (&err);

  /* lowercase folds case; a pad id is honoured */
  nerve_tokenizer_train_options_init (&o);
  o.vocab_size = 250;
  o.lowercase = TRUE;
  o.pad_id = 3;
  g_autoptr (NerveTokenizer) t = train (&o);
  CU_ASSERT_EQUAL (nerve_tokenizer_pad_id (t), 3);
  g_autoptr (GArray) a = enc (t, "The MODEL", -1, NULL);
  g_autoptr (GArray) b = enc (t, "the model", -1, NULL);
  CU_ASSERT_TRUE (ids_equal (a, b));
}

static GBytes *
train_bytes (const char *type, int max_sentences, guint32 seed, int threads)
{
  NerveTokenizerTrainOptions o;
  nerve_tokenizer_train_options_init (&o);
  o.vocab_size = 200;
  o.model_type = type;
  o.max_sentences = max_sentences;
  o.seed = seed;
  o.threads = threads;
  g_autoptr (NerveTokenizer) t = train (&o);
  return nerve_tokenizer_serialize (t);
}

/* the piece list alone (model bytes also record the options, threads included) */
static char *
vocab_of (GBytes *b)
{
  gsize len;
  const void *d = g_bytes_get_data (b, &len);
  g_autoptr (NerveTokenizer) t = nerve_tokenizer_load_from_data (d, len, NULL);
  GString *s = g_string_new (NULL);
  for (int i = 0; t && i < nerve_tokenizer_vocab_size (t); i++)
    g_string_append_printf (s, "%s\n", nerve_tokenizer_id_to_piece (t, i));
  return g_string_free (s, FALSE);
}

static void
test_determinism (void)
{
  const char *types[] = { "unigram", "bpe" };
  for (int k = 0; k < 2; k++) {
    g_autoptr (GBytes) a = train_bytes (types[k], 0, 0, 1);
    g_autoptr (GBytes) b = train_bytes (types[k], 0, 0, 1);
    CU_ASSERT_TRUE (g_bytes_equal (a, b));
    /* sampling: same seed, same sample; another seed, another one */
    g_autoptr (GBytes) s1 = train_bytes (types[k], 150, 1, 1);
    g_autoptr (GBytes) s1b = train_bytes (types[k], 150, 1, 1);
    g_autoptr (GBytes) s2 = train_bytes (types[k], 150, 2, 1);
    CU_ASSERT_TRUE (g_bytes_equal (s1, s1b));
    g_autofree char *v1 = vocab_of (s1), *v2 = vocab_of (s2), *va = vocab_of (a);
    CU_ASSERT_STRING_NOT_EQUAL (v1, v2);
    CU_ASSERT_STRING_NOT_EQUAL (v1, va);
    /* threads: deterministic for a given count; BPE's pieces do not depend on it,
     * unigram's do (its EM sums are split per thread; see docs/tokenizer.md) */
    g_autoptr (GBytes) c = train_bytes (types[k], 0, 0, 2);
    g_autoptr (GBytes) c2 = train_bytes (types[k], 0, 0, 2);
    CU_ASSERT_TRUE (g_bytes_equal (c, c2));
    g_autofree char *vc = vocab_of (c);
    if (k == 1)
      CU_ASSERT_STRING_EQUAL (va, vc);
  }
}

/* ---- concurrent encoding ------------------------------------------------------------- */

#define N_TEXTS 64

typedef struct {
  const NerveTokenizer *t;
  char **texts;
  GArray **expect;
  int mismatches;
} EncodeJob;

static gpointer
encode_worker (gpointer data)
{
  EncodeJob *j = data;
  GArray *ids = ids_new ();
  for (int rep = 0; rep < 20; rep++)
    for (int i = 0; i < N_TEXTS; i++)
      if (!nerve_tokenizer_encode (j->t, j->texts[i], -1, ids, NULL, NULL) || !ids_equal (ids, j->expect[i]))
        j->mismatches++;
  g_array_unref (ids);
  return NULL;
}

static void
test_threads (void)
{
  g_autofree char *text = make_corpus (N_TEXTS);
  char **texts = g_strsplit (text, "\n", N_TEXTS);
  NerveTokenizer *models[] = { unigram (), bpe_bytes () };
  for (int m = 0; m < 2; m++) {
    GArray *expect[N_TEXTS];
    for (int i = 0; i < N_TEXTS; i++)
      expect[i] = enc (models[m], texts[i], -1, NULL);
    EncodeJob jobs[4];
    GThread *th[4];
    for (int k = 0; k < 4; k++) {
      jobs[k] = (EncodeJob) { models[m], texts, expect, 0 };
      th[k] = g_thread_new ("encode", encode_worker, &jobs[k]);
    }
    int mismatches = 0;
    for (int k = 0; k < 4; k++) {
      g_thread_join (th[k]);
      mismatches += jobs[k].mismatches;
    }
    CU_ASSERT_EQUAL (mismatches, 0);
    for (int i = 0; i < N_TEXTS; i++)
      g_array_unref (expect[i]);
  }
  g_strfreev (texts);
}

static void
test_free_shared (void)
{
  /* last test: frees the shared tokenizers so leak checkers see a clean exit */
  g_clear_pointer (&shared_unigram, nerve_tokenizer_free);
  g_clear_pointer (&shared_bpe, nerve_tokenizer_free);
  nerve_tokenizer_free (NULL);
  CU_PASS ("freed");
}

NERVE_TEST_MAIN ("tokenizer",
                 { "options_init", test_options_init },
                 { "vocab", test_vocab },
                 { "roundtrip", test_roundtrip },
                 { "unknown_characters", test_unknown_characters },
                 { "pieces", test_pieces },
                 { "empty", test_empty },
                 { "invalid_utf8", test_invalid_utf8 },
                 { "decode_out_of_range", test_decode_out_of_range },
                 { "serialize", test_serialize },
                 { "model_file", test_model_file },
                 { "load_errors", test_load_errors },
                 { "training_options", test_training_options },
                 { "determinism", test_determinism },
                 { "threads", test_threads },
                 { "free_shared", test_free_shared })

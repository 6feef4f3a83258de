/* Tokenizer API, GLib side: files, UTF-8 repair before text reaches SentencePiece,
 * training options and line sampling, and model-file blobs. The calls into the
 * library are in tokenizer-spm.cc. */
#include <string.h>

#include "error.h"
#include "modelfile.h"
#include "rng.h"
#include "tokenizer-private.h"

NerveTokenizer *
nerve_tokenizer_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_autofree char *data = NULL;
  gsize len = 0;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (path, &data, &len, &err)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "cannot read the tokenizer model: %s", err->message);
    return NULL;
  }
  return nerve_spm_load (data, len, path, error);
}

NerveTokenizer *
nerve_tokenizer_load_from_data (const void *data, gsize len, GError **error)
{
  g_return_val_if_fail (data != NULL || len == 0, NULL);
  return nerve_spm_load (data, len, "tokenizer data", error);
}

/* NULL when text[0..len) is valid UTF-8; otherwise a copy where every byte that does
 * not start a valid sequence is U+FFFD. NUL bytes are valid UTF-8 and kept (GLib's
 * validator stops at them, so they are stepped over here). */
static char *
repair_utf8 (const char *text, gsize len, gsize *out_len, gboolean *replaced)
{
  const char *p = text, *end = text + len;
  GString *s = NULL;
  *replaced = FALSE;
  while (p < end) {
    const char *bad;
    if (g_utf8_validate_len (p, end - p, &bad))
      break;
    if (!s)
      s = g_string_sized_new (len + 16);
    g_string_append_len (s, p, bad - p);
    if (*bad == '\0') {
      g_string_append_c (s, '\0');
    } else {
      g_string_append_len (s, "\xef\xbf\xbd", 3);
      *replaced = TRUE;
    }
    p = bad + 1;
  }
  if (!s)
    return NULL;
  g_string_append_len (s, p, end - p);
  *out_len = s->len;
  return g_string_free (s, FALSE);
}

static gboolean
encode (const NerveTokenizer *t, const char *text, gssize len, GArray *ids, GPtrArray *pieces,
        gboolean *replaced, GError **error)
{
  gsize n = len < 0 ? strlen (text) : (gsize) len;
  gsize fixed_len = 0;
  gboolean changed;
  g_autofree char *fixed = repair_utf8 (text, n, &fixed_len, &changed);
  if (replaced)
    *replaced = changed;
  return fixed ? nerve_spm_encode (t, fixed, fixed_len, ids, pieces, error)
               : nerve_spm_encode (t, text, n, ids, pieces, error);
}

gboolean
nerve_tokenizer_encode (const NerveTokenizer *t, const char *text, gssize len, GArray *ids,
                        gboolean *replaced, GError **error)
{
  g_return_val_if_fail (t != NULL && ids != NULL && (text != NULL || len == 0), FALSE);
  g_return_val_if_fail (g_array_get_element_size (ids) == sizeof (gint32), FALSE);
  return encode (t, text ? text : "", len, ids, NULL, replaced, error);
}

gboolean
nerve_tokenizer_encode_pieces (const NerveTokenizer *t, const char *text, gssize len, GPtrArray *pieces,
                               GError **error)
{
  g_return_val_if_fail (t != NULL && pieces != NULL && (text != NULL || len == 0), FALSE);
  return encode (t, text ? text : "", len, NULL, pieces, NULL, error);
}

char *
nerve_tokenizer_decode (const NerveTokenizer *t, const gint32 *ids, gsize n, GError **error)
{
  g_return_val_if_fail (t != NULL && (ids != NULL || n == 0), NULL);
  int vocab = nerve_tokenizer_vocab_size (t);
  for (gsize i = 0; i < n; i++)
    if (ids[i] < 0 || ids[i] >= vocab) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                   "tokenizer: id %d at position %" G_GSIZE_FORMAT " is out of range: the vocabulary has ids 0..%d",
                   (int) ids[i], i, vocab - 1);
      return NULL;
    }
  gsize len = 0;
  char *s = nerve_spm_decode (t, ids, n, &len, error);
  if (!s)
    return NULL;
  /* byte pieces can spell invalid UTF-8 (SentencePiece replaces most of it, this makes
   * sure), and a NUL inside would silently cut the C string: callers get clean text */
  gboolean changed;
  gsize fixed_len;
  char *fixed = repair_utf8 (s, len, &fixed_len, &changed);
  if (fixed) {
    g_free (s);
    s = fixed;
    len = fixed_len;
  }
  if (strlen (s) != len) {
    gsize o = 0;
    for (gsize i = 0; i < len; i++)
      if (s[i])
        s[o++] = s[i];
    s[o] = '\0';
  }
  return s;
}

/* ---- training ------------------------------------------------------------------------ */

void
nerve_tokenizer_train_options_init (NerveTokenizerTrainOptions *o)
{
  g_return_if_fail (o != NULL);
  *o = (NerveTokenizerTrainOptions) {
    .vocab_size = 8000,
    .model_type = "unigram",
    .character_coverage = 1.0f,
    .max_sentences = 0,
    .lowercase = FALSE,
    .normalization = "nmt_nfkc",
    .byte_fallback = FALSE,
    .unk_id = 0,
    .bos_id = 1,
    .eos_id = 2,
    .pad_id = -1,
    .seed = 0,
    .threads = 1,
  };
}

static gboolean
one_of (const char *s, const char *const *choices)
{
  for (; s && *choices; choices++)
    if (g_str_equal (s, *choices))
      return TRUE;
  return FALSE;
}

static gboolean
check_options (const NerveTokenizerTrainOptions *o, GError **error)
{
  static const char *const types[] = { "unigram", "bpe", "char", "word", NULL };
  static const char *const norms[] = { "nmt_nfkc", "nfkc", "identity", NULL };
  const char *bad = NULL;
  if (o->vocab_size < 1)
    bad = "vocab_size must be at least 1";
  else if (!one_of (o->model_type, types))
    bad = "model_type must be \"unigram\", \"bpe\", \"char\" or \"word\"";
  else if (!(o->character_coverage > 0 && o->character_coverage <= 1))
    bad = "character_coverage must be in (0, 1]";
  else if (o->max_sentences < 0)
    bad = "max_sentences must be 0 (all) or positive";
  else if (!one_of (o->normalization, norms))
    bad = "normalization must be \"nmt_nfkc\", \"nfkc\" or \"identity\"";
  else if (o->lowercase && g_str_equal (o->normalization, "identity"))
    bad = "lowercase needs a normalization other than \"identity\"";
  else if (o->threads < 1 || o->threads > 1024)
    bad = "threads must be in 1..1024";
  else if (o->unk_id < 0 || o->unk_id >= o->vocab_size)
    bad = "unk_id must be a valid id (SentencePiece needs an unknown piece)";
  else {
    const int ids[] = { o->bos_id, o->eos_id, o->pad_id };
    for (int i = 0; i < 3; i++)
      if (ids[i] < -1 || ids[i] >= o->vocab_size)
        bad = "bos_id, eos_id and pad_id must be -1 (none) or below vocab_size";
  }
  if (bad)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "tokenizer training: %s", bad);
  return bad == NULL;
}

/* SentencePiece's default max_sentence_length, in bytes (passed explicitly too) */
#define MAX_LINE 4192

static int
cmp_gsize (gconstpointer a, gconstpointer b)
{
  gsize x = *(const gsize *) a, y = *(const gsize *) b;
  return x < y ? -1 : x > y;
}

NerveTokenizer *
nerve_tokenizer_train (const char *text_path, const NerveTokenizerTrainOptions *o, GError **error)
{
  g_return_val_if_fail (text_path != NULL, NULL);
  NerveTokenizerTrainOptions defaults;
  if (!o) {
    nerve_tokenizer_train_options_init (&defaults);
    o = &defaults;
  }
  if (!check_options (o, error))
    return NULL;

  g_autofree char *raw = NULL;
  gsize raw_len = 0;
  g_autoptr (GError) err = NULL;
  if (!g_file_get_contents (text_path, &raw, &raw_len, &err)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "cannot read the tokenizer training text: %s",
                 err->message);
    return NULL;
  }
  gsize len = raw_len;
  gboolean changed;
  g_autofree char *fixed = repair_utf8 (raw, raw_len, &len, &changed);
  const char *text = fixed ? fixed : raw;

  /* line starts and lengths, CR LF folded, empty lines dropped, and lines longer than
   * SentencePiece's max_sentence_length dropped here (it would skip them anyway) so
   * that max_sentences samples usable lines */
  g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (GArray) lens = g_array_new (FALSE, FALSE, sizeof (gsize));
  for (gsize b = 0; b < len;) {
    const char *nl = memchr (text + b, '\n', len - b);
    gsize e = nl ? (gsize) (nl - text) : len, l = e - b;
    if (l > 0 && text[b + l - 1] == '\r')
      l--;
    if (l > 0 && l <= MAX_LINE) {
      g_array_append_val (starts, b);
      g_array_append_val (lens, l);
    }
    b = e + 1;
  }
  gsize n = starts->len;
  if (n == 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: no sentences to train on (no non-empty line of at most %d bytes)", text_path, MAX_LINE);
    return NULL;
  }

  /* max_sentences: a seeded partial Fisher-Yates pick, kept in file order */
  g_autoptr (GArray) pick = g_array_sized_new (FALSE, FALSE, sizeof (gsize), n);
  for (gsize i = 0; i < n; i++)
    g_array_append_val (pick, i);
  if (o->max_sentences > 0 && n > (gsize) o->max_sentences && n <= G_MAXUINT32) {
    NerveRng rng;
    nerve_rng_seed (&rng, o->seed);
    gsize *v = (gsize *) pick->data;
    for (gsize i = 0; i < (gsize) o->max_sentences; i++) {
      gsize j = i + nerve_rng_below (&rng, (guint32) (n - i));
      gsize tmp = v[i];
      v[i] = v[j];
      v[j] = tmp;
    }
    g_array_set_size (pick, o->max_sentences);
    g_array_sort (pick, cmp_gsize);
  }

  gsize m = pick->len;
  g_autofree const char **lp = g_new (const char *, m);
  g_autofree gsize *ll = g_new (gsize, m);
  for (gsize i = 0; i < m; i++) {
    gsize k = g_array_index (pick, gsize, i);
    lp[i] = text + g_array_index (starts, gsize, k);
    ll[i] = g_array_index (lens, gsize, k);
  }
  return nerve_spm_train (lp, ll, m, o, text_path, error);
}

/* ---- model files --------------------------------------------------------------------- */

gboolean
nerve_tokenizer_attach (NerveModel *m, const NerveTokenizer *t)
{
  g_return_val_if_fail (m != NULL && t != NULL, FALSE);
  g_autoptr (GBytes) b = nerve_tokenizer_serialize (t);
  nerve_model_set_blob (m, NERVE_TOKENIZER_BLOB, b);
  return TRUE;
}

NerveTokenizer *
nerve_tokenizer_from_model (NerveModel *m, GError **error)
{
  g_return_val_if_fail (m != NULL, NULL);
  GBytes *b = nerve_model_get_blob (m, NERVE_TOKENIZER_BLOB);
  if (!b) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "the model has no tokenizer (no '" NERVE_TOKENIZER_BLOB "' blob); store one with "
                 "nerve_tokenizer_attach before saving");
    return NULL;
  }
  gsize len = 0;
  const void *data = g_bytes_get_data (b, &len);
  return nerve_spm_load (data, len, "the model's '" NERVE_TOKENIZER_BLOB "' blob", error);
}

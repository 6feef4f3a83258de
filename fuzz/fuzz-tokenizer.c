/* libFuzzer target for the tokenizer. The first byte picks what the rest is:
 *   0  a SentencePiece model (load_from_data; when it loads: lookups, encode, decode)
 *   1  text for a unigram model (nmt_nfkc normalization)
 *   2  text for a BPE model with byte fallback (plain NFKC)
 *   3  little-endian int32 ids to decode (with the BPE model; out of range is an error)
 * The two text models are trained at start-up from lines generated here. Invariants
 * that trap: encoded ids are in range, pieces match ids, decoding encoder output
 * succeeds, decoded text is valid UTF-8, and every failure is a NERVE_ERROR with a
 * message.
 *
 * Seeds (fuzz/corpus/tokenizer/) are written by this program:
 *   NERVE_FUZZ_WRITE_SEEDS=fuzz/corpus/tokenizer build-asan/fuzz/fuzz-tokenizer -runs=0
 * (model seeds use "identity" normalization so they stay a few KB). */
#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static NerveTokenizer *uni, *bpe;

static char *
corpus_text (void)
{
  static const char *const w[] = {
    "the", "model", "speech", "noise", "stream", "of", "and", "to", "layer", "weights", "fox", "dog",
    "café", "naïve", "日本", "東京", "Grüße", "привет", "ka", "ri", "ne", "su", "ath", "ing", "42", "!",
  };
  GString *s = g_string_new (NULL);
  guint32 st = 7;
  for (int i = 0; i < 400; i++) {
    int n = 3 + i % 9;
    for (int j = 0; j < n; j++) {
      st = st * 1103515245u + 12345u;
      g_string_append (s, w[(st >> 8) % G_N_ELEMENTS (w)]);
      st = st * 1103515245u + 12345u;
      if ((st >> 8) % 3 == 0) { /* glue two words: something to merge */
        st = st * 1103515245u + 12345u;
        g_string_append (s, w[(st >> 8) % G_N_ELEMENTS (w)]);
      }
      g_string_append_c (s, j + 1 < n ? ' ' : '\n');
    }
  }
  return g_string_free (s, FALSE);
}

static NerveTokenizer *
train (const char *path, int vocab, const char *type, gboolean bytes, const char *norm)
{
  NerveTokenizerTrainOptions o;
  nerve_tokenizer_train_options_init (&o);
  o.vocab_size = vocab;
  o.model_type = type;
  o.byte_fallback = bytes;
  o.normalization = norm;
  GError *err = NULL;
  NerveTokenizer *t = nerve_tokenizer_train (path, &o, &err);
  if (!t) {
    fprintf (stderr, "fuzz-tokenizer: training failed: %s\n", err->message);
    abort ();
  }
  return t;
}

static void
write_seed (const char *dir, const char *name, guint8 mode, const void *data, gsize len)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autofree guint8 *buf = g_malloc (len + 1);
  buf[0] = mode;
  memcpy (buf + 1, data, len);
  if (!g_file_set_contents (path, (const char *) buf, len + 1, NULL))
    abort ();
}

static void
write_model_seed (const char *dir, const char *name, NerveTokenizer *t, gsize cut)
{
  GBytes *b = nerve_tokenizer_serialize (t);
  gsize len;
  const void *d = g_bytes_get_data (b, &len);
  write_seed (dir, name, 0, d, cut ? MIN (cut, len) : len);
  g_bytes_unref (b);
}

static void
write_seeds (const char *dir, const char *corpus_path)
{
  NerveTokenizer *small_uni = train (corpus_path, 80, "unigram", FALSE, "identity");
  NerveTokenizer *small_bpe = train (corpus_path, 330, "bpe", TRUE, "identity");
  write_model_seed (dir, "model-unigram", small_uni, 0);
  write_model_seed (dir, "model-bpe-bytes", small_bpe, 0);
  write_model_seed (dir, "model-cut", small_uni, 300);
  nerve_tokenizer_free (small_uni);
  nerve_tokenizer_free (small_bpe);
  static const struct {
    const char *name, *text;
  } texts[] = {
    { "text-ascii", "the model hears speech and noise in the stream." },
    { "text-utf8", "caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80 \xd0\xbf\xd1\x80\xd0\xb8 \xef\xbd\x81" },
    { "text-invalid", "\x80" "ab \xe6\x97 \xc0\xaf \xed\xa0\x80 \xf4\x90\x80\x80 \xff" },
    { "text-spaces", "  \t lots   of\n space \xe3\x80\x80 here  " },
  };
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    for (guint8 mode = 1; mode <= 2; mode++) {
      g_autofree char *name = g_strdup_printf ("%s-%u", texts[i].name, mode);
      write_seed (dir, name, mode, texts[i].text, strlen (texts[i].text));
    }
  const gint32 ids[] = { 3, 100, 5, 7, 1, 2, 0, 250, 299, -1, 100000 };
  write_seed (dir, "ids", 3, ids, sizeof ids);
  write_seed (dir, "ids-in-range", 3, ids, 8 * sizeof (gint32));
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* a g_return_if_fail tripping inside the tokenizer is a bug: make it crash */
  g_log_set_always_fatal (G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING);
  char *path = NULL;
  int fd = g_file_open_tmp ("nerve-fuzz-tokenizer-XXXXXX.txt", &path, NULL);
  g_autofree char *text = corpus_text ();
  if (fd < 0 || !g_file_set_contents (path, text, -1, NULL))
    abort ();
  close (fd);
  uni = train (path, 120, "unigram", FALSE, "nmt_nfkc");
  bpe = train (path, 400, "bpe", TRUE, "nfkc");
  const char *seeds = g_getenv ("NERVE_FUZZ_WRITE_SEEDS");
  if (seeds)
    write_seeds (seeds, path);
  g_unlink (path);
  g_free (path);
  return 0;
}

static void
check_error (GError *err)
{
  if (!err || err->domain != NERVE_ERROR || !err->message[0])
    __builtin_trap (); /* a failure must explain itself */
}

/* encode, check ids and pieces, decode */
static void
encode_checked (const NerveTokenizer *t, const char *text, gsize len)
{
  GError *err = NULL;
  GArray *ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  GPtrArray *pieces = g_ptr_array_new_with_free_func (g_free);
  gboolean replaced;
  int vocab = nerve_tokenizer_vocab_size (t);
  if (!nerve_tokenizer_encode (t, text, (gssize) len, ids, &replaced, &err) ||
      !nerve_tokenizer_encode_pieces (t, text, (gssize) len, pieces, &err)) {
    check_error (err); /* possible for a fuzzed model; the library's models must not fail */
    if (t == uni || t == bpe)
      __builtin_trap ();
    g_clear_error (&err);
  } else {
    if (pieces->len != ids->len)
      __builtin_trap ();
    for (guint i = 0; i < ids->len; i++) {
      gint32 id = g_array_index (ids, gint32, i);
      if (id < 0 || id >= vocab)
        __builtin_trap ();
    }
    char *s = nerve_tokenizer_decode (t, (const gint32 *) ids->data, ids->len, &err);
    if (!s) {
      check_error (err);
      if (t == uni || t == bpe)
        __builtin_trap ();
      g_clear_error (&err);
    } else if (!g_utf8_validate (s, -1, NULL)) {
      __builtin_trap ();
    }
    g_free (s);
  }
  g_ptr_array_unref (pieces);
  g_array_unref (ids);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size == 0)
    return 0;
  const char *rest = (const char *) data + 1;
  gsize n = size - 1;
  GError *err = NULL;
  switch (data[0] & 3) {
  case 0: {
    NerveTokenizer *t = nerve_tokenizer_load_from_data (rest, n, &err);
    if (!t) {
      check_error (err);
      g_clear_error (&err);
      break;
    }
    int vocab = nerve_tokenizer_vocab_size (t);
    for (int i = 0; i < MIN (vocab, 2000); i++) {
      const char *p = nerve_tokenizer_id_to_piece (t, i);
      if (!p)
        __builtin_trap ();
      nerve_tokenizer_piece_to_id (t, p);
    }
    if (nerve_tokenizer_id_to_piece (t, vocab) || nerve_tokenizer_id_to_piece (t, -1))
      __builtin_trap ();
    nerve_tokenizer_unk_id (t);
    nerve_tokenizer_bos_id (t);
    nerve_tokenizer_eos_id (t);
    nerve_tokenizer_pad_id (t);
    static const char probe[] = "the model hears caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80";
    encode_checked (t, probe, sizeof probe - 1);
    encode_checked (t, rest, MIN (n, 256));
    GBytes *b = nerve_tokenizer_serialize (t);
    g_bytes_unref (b);
    nerve_tokenizer_free (t);
    break;
  }
  case 1:
    encode_checked (uni, rest, n);
    break;
  case 2:
    encode_checked (bpe, rest, n);
    break;
  case 3: {
    gsize k = n / sizeof (gint32);
    gint32 *ids = g_memdup2 (rest, k * sizeof (gint32));
    char *s = nerve_tokenizer_decode (bpe, ids, k, &err);
    if (s) {
      if (!g_utf8_validate (s, -1, NULL))
        __builtin_trap ();
      g_free (s);
    } else {
      check_error (err);
      g_clear_error (&err);
    }
    g_free (ids);
    break;
  }
  }
  return 0;
}

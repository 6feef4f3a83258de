/* SentencePiece tokenizers (Debian's libsentencepiece 0.1.97) through a C API.
 *
 * A NerveTokenizer wraps one loaded SentencePiece model (unigram, BPE, char or word).
 * It is immutable once loaded: every function taking a `const NerveTokenizer *`
 * (encode, decode, lookups) may be called from several threads at once on the same
 * tokenizer, because SentencePieceProcessor's Encode/Decode and lookups are const.
 * Only nerve_tokenizer_free must not race with them.
 *
 * Text in and out is UTF-8. Input text that is not valid UTF-8 is never passed to the
 * library: each invalid byte is replaced by U+FFFD first (and reported). Encoding
 * applies the model's normalization (NFKC and whitespace folding for the default
 * "nmt_nfkc"), so decode (encode (s)) gives the normalized s.
 *
 * Errors are NERVE_ERROR: IO (a file), FORMAT (bytes that are not a SentencePiece
 * model, or a model file without a tokenizer), INVALID (bad ids, options or training
 * data). Nothing here aborts or prints on bad input. */
#pragma once
#include <glib.h>

#include "model.h"

G_BEGIN_DECLS

typedef struct _NerveTokenizer NerveTokenizer;

/* The blob name under which nerve_tokenizer_attach stores a tokenizer in a model. */
#define NERVE_TOKENIZER_BLOB "tokenizer.spm"

/* A SentencePiece .model file (the serialized ModelProto). */
NerveTokenizer *nerve_tokenizer_load (const char *path, GError **error);
/* The same bytes from memory (copied; data need not outlive the call). */
NerveTokenizer *nerve_tokenizer_load_from_data (const void *data, gsize len, GError **error);
void nerve_tokenizer_free (NerveTokenizer *t);

/* The model proto bytes (a .model file's content), for storing in a model file.
 * Returns a new reference. */
GBytes *nerve_tokenizer_serialize (const NerveTokenizer *t);

int nerve_tokenizer_vocab_size (const NerveTokenizer *t);
/* The unk id when the piece is not in the vocabulary. */
int nerve_tokenizer_piece_to_id (const NerveTokenizer *t, const char *piece);
/* Owned by the tokenizer; NULL when id is out of range. */
const char *nerve_tokenizer_id_to_piece (const NerveTokenizer *t, int id);
/* Special ids; -1 when the model does not define one (SentencePiece's default
 * training gives unk 0, bos 1, eos 2, no pad). */
int nerve_tokenizer_unk_id (const NerveTokenizer *t);
int nerve_tokenizer_bos_id (const NerveTokenizer *t);
int nerve_tokenizer_eos_id (const NerveTokenizer *t);
int nerve_tokenizer_pad_id (const NerveTokenizer *t);

/* Encodes UTF-8 text (len -1: NUL-terminated) into ids, a GArray of gint32 that is
 * cleared first. Invalid UTF-8 (stray continuation bytes, truncated sequences, overlong
 * forms, surrogates, values past U+10FFFF) is replaced by U+FFFD, one per bad byte;
 * *replaced (may be NULL) says whether that happened. No bos/eos are added. Characters
 * the model does not know become the unk id (or byte pieces for byte-fallback models).
 * Thread-safe on a shared tokenizer. */
gboolean nerve_tokenizer_encode (const NerveTokenizer *t, const char *text, gssize len, GArray *ids,
                                 gboolean *replaced, GError **error);
/* Same, giving the pieces (newly allocated strings: give pieces a g_free free func;
 * the array is cleared first). Pieces mark word starts with U+2581 "▁". */
gboolean nerve_tokenizer_encode_pieces (const NerveTokenizer *t, const char *text, gssize len,
                                        GPtrArray *pieces, GError **error);
/* The text of n ids (control ids such as bos/eos decode to nothing, unk to " ⁇ ").
 * An id outside [0, vocab_size) is NERVE_ERROR_INVALID. Returns a new string that is
 * always valid UTF-8: byte pieces that spell invalid sequences give U+FFFD, and NUL
 * bytes are dropped so the C string holds the whole text. */
char *nerve_tokenizer_decode (const NerveTokenizer *t, const gint32 *ids, gsize n, GError **error);

typedef struct {
  int vocab_size;              /* pieces in the trained model, special ones included; default 8000 */
  const char *model_type;      /* "unigram" (default), "bpe", "char" or "word" */
  float character_coverage;    /* share of characters covered by the vocabulary; default 1.0 */
  int max_sentences;           /* 0 = all; else a seeded random sample of that many lines */
  gboolean lowercase;          /* fold case when normalizing (the "_cf" rules); default FALSE */
  const char *normalization;   /* "nmt_nfkc" (default), "nfkc" or "identity" */
  gboolean byte_fallback;      /* unknown characters become UTF-8 byte pieces instead of unk
                                * (adds 256 pieces); default FALSE */
  int unk_id, bos_id, eos_id, pad_id; /* -1 disables (not unk); default 0, 1, 2, -1 */
  guint32 seed;                /* picks the max_sentences lines (nerve's generator); default 0 */
  int threads;                 /* trainer threads; default 1 */
} NerveTokenizerTrainOptions;

void nerve_tokenizer_train_options_init (NerveTokenizerTrainOptions *o);

/* Trains a new tokenizer in-process from a UTF-8 text file, one sentence per line
 * (empty lines skipped, CR LF accepted, invalid UTF-8 replaced, lines over 4192 bytes
 * skipped as SentencePiece does). Nothing is written to disk. The same file, options
 * and seed give the same model bytes; see docs/tokenizer.md for what threads change.
 * Training calls are serialized by a lock (SentencePiece keeps settings in globals);
 * its progress output is silenced (its log level is set to errors only, process-wide). */
NerveTokenizer *nerve_tokenizer_train (const char *text_path, const NerveTokenizerTrainOptions *o,
                                       GError **error);

/* Stores the tokenizer in the model as blob NERVE_TOKENIZER_BLOB (replacing any),
 * so nerve_model_save writes it. */
gboolean nerve_tokenizer_attach (NerveModel *m, const NerveTokenizer *t);
/* Loads the tokenizer stored in a model; NERVE_ERROR_FORMAT when it has none or the
 * blob is not a SentencePiece model. */
NerveTokenizer *nerve_tokenizer_from_model (NerveModel *m, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveTokenizer, nerve_tokenizer_free)

G_END_DECLS

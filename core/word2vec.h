/* Skip-gram with negative sampling (Mikolov et al. 2013) over token-id corpora: word
 * vectors learned from unlabelled text, used to initialise a classifier's embedding
 * layer. Nerve's own implementation; deterministic for a seed with threads = 1
 * (more threads update shared vectors without locks, as word2vec does, and are
 * faster but not reproducible bit for bit). */
#pragma once
#include "tokenizer.h"

G_BEGIN_DECLS

/* Token-id sequences, concatenated: sequence i is ids[starts[i] .. starts[i+1]). */
typedef struct {
  gint32 *ids;
  gsize n_ids;
  gsize *starts; /* n_seqs + 1 entries */
  gsize n_seqs;
} NerveTokenCorpus;

void nerve_token_corpus_free (NerveTokenCorpus *c);
/* Encodes every line of the files (plain or .gz; a "label<TAB>" or "label<TAB>rating<TAB>"
 * prefix is not stripped: pass text files) with t, at most max_lines in all (0 = all). */
NerveTokenCorpus *nerve_token_corpus_from_files (const NerveTokenizer *t, const char *const *paths,
                                                 gsize max_lines, GError **error);

typedef struct {
  int dim;          /* 100 */
  int window;       /* 5: context up to this far on each side (randomly shrunk per token) */
  int negatives;    /* 5 */
  int epochs;       /* 5 */
  float lr;         /* 0.025, decayed linearly to lr * 1e-4 */
  float subsample;  /* 1e-4: frequent-token down-sampling threshold (0 = off) */
  guint64 seed;     /* 1 */
  int threads;      /* 1 */
} NerveWord2VecOptions;

void nerve_word2vec_options_init (NerveWord2VecOptions *o);

typedef void (*NerveWord2VecProgress) (double fraction, double tokens_per_s, double loss, gpointer user_data);

/* Learns vectors [vocab, dim] (written to out) from the corpus; ids outside
 * [0, vocab) are skipped. */
gboolean nerve_word2vec_train (const NerveTokenCorpus *c, int vocab, const NerveWord2VecOptions *o,
                               float *out, NerveWord2VecProgress progress, gpointer user_data,
                               GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveTokenCorpus, nerve_token_corpus_free)

G_END_DECLS

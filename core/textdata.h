/* Labelled text for training and evaluating text classifiers: loaders for the
 * Stanford Sentiment Treebank (bracketed trees with a label on every phrase), SST-2
 * sentence files ("LABEL sentence") and label<TAB>text files (IMDB's
 * label<TAB>rating<TAB>text with a header included), gzip read transparently; seeded
 * held-out splits; and encoding with a tokenizer into a NerveDataset of token ids with
 * per-sample lengths.
 *
 * Outside bytes are never trusted: a malformed line is a NERVE_ERROR_FORMAT naming
 * file:line, invalid UTF-8 is replaced by U+FFFD (counted in n_repaired), NUL bytes
 * become spaces. Blank lines are skipped and not counted as samples. */
#pragma once
#include <glib.h>

#include "dataset.h"
#include "tokenizer.h"

G_BEGIN_DECLS

typedef enum {
  NERVE_TEXT_FORMAT_AUTO,      /* guess from the name and the first line */
  NERVE_TEXT_FORMAT_TSV,       /* label<TAB>text, optional header naming "label" and "text" */
  NERVE_TEXT_FORMAT_SST2,      /* "0 sentence" / "1 sentence" */
  NERVE_TEXT_FORMAT_SST_TREES, /* "(3 (2 The) (3 (2 Rock) ...))" one tree per line */
} NerveTextFormat;

typedef struct {
  int n;
  char **texts;        /* [n] valid UTF-8, NUL-terminated (NULL-terminated array) */
  int *labels;         /* [n] in [0, n_classes) */
  int *groups;         /* [n] source tree of each phrase (SST phrases), or NULL */
  guint8 *roots;       /* [n] 1 for whole sentences, 0 for sub-phrases; NULL = all are */
  int n_classes;
  char **label_names;  /* n_classes names, NULL-terminated */
  int n_repaired;      /* lines whose invalid UTF-8 was replaced */
} NerveTextDataset;

typedef struct {
  NerveTextFormat format;
  /* SST trees: every labelled phrase (TRUE; groups/roots say which tree and which is
   * the sentence) or the root sentences only (FALSE, the default). */
  gboolean phrases;
  /* SST trees: FALSE (default) maps 0,1 -> negative, 3,4 -> positive and drops 2;
   * TRUE keeps the five classes. */
  gboolean fine_grained;
  /* Known label names (NULL-terminated; NULL = from the file). A label field is then
   * one of the names or an integer index into them. Without names: integer labels
   * give classes 0..max (named "0", "1"... or, for SST files, "negative"/"positive"
   * and the five SST names), other labels the sorted distinct strings. */
  const char *const *labels;
} NerveTextLoadOptions;

void nerve_text_load_options_init (NerveTextLoadOptions *o);
/* "tsv", "sst2", "sst-trees" or "auto". */
gboolean nerve_text_format_parse (const char *name, NerveTextFormat *format, GError **error);
const char *nerve_text_format_name (NerveTextFormat format);

NerveTextDataset *nerve_text_dataset_load (const char *path, const NerveTextLoadOptions *o, GError **error);
/* The same from bytes in memory; name is used in messages (and for guessing). */
NerveTextDataset *nerve_text_dataset_load_data (const char *data, gsize len, const char *name,
                                                const NerveTextLoadOptions *o, GError **error);
void nerve_text_dataset_free (NerveTextDataset *d);

/* The held-out part of a seeded split of n samples: count = round(n * fraction)
 * (at least 1, at most n - 1), and sample i is held out iff it is among the last
 * `count` entries of 0..n-1 shuffled by nerve_rng_shuffle with nerve_rng_seed (seed).
 * Returns a mask [n] (1 = held out), or NULL with error when fraction is not in (0,1)
 * or n < 2. The same rule as nerve_dataset_split; `nerve split` prints it. */
guint8 *nerve_holdout_mask (int n, double fraction, guint64 seed, int *count, GError **error);

/* Moves a held-out part (see nerve_holdout_mask) into a new dataset; d keeps the rest
 * in order. With groups, whole groups (SST trees) are held out, so no phrase of a
 * held-out sentence stays in d; the fraction then counts groups. */
NerveTextDataset *nerve_text_dataset_split (NerveTextDataset *d, double fraction, guint64 seed,
                                            GError **error);
/* Keeps only root sentences (a no-op without roots) and drops groups. */
void nerve_text_dataset_keep_roots (NerveTextDataset *d);
/* Drops every sample whose text equals an earlier one's (SST repeats phrases). */
void nerve_text_dataset_dedup (NerveTextDataset *d);

/* Tokenizes every text into x [n, max_length] (ids as floats, zero-padded) with
 * lengths [n] = min(tokens, max_length); *n_truncated (may be NULL) counts texts
 * that were longer. Labels and names are copied. */
NerveDataset *nerve_text_dataset_encode (const NerveTextDataset *d, const NerveTokenizer *t, int max_length,
                                         int *n_truncated, GError **error);

/* Reads a whole file, gunzipping it when it starts with the gzip magic; at most
 * max_bytes after decompression (NERVE_ERROR_IO beyond). */
GBytes *nerve_read_file (const char *path, gsize max_bytes, GError **error);
/* Removes "<br />" (and <br>, <br/>, any case) tags, replacing each by a space, in place. */
void nerve_text_strip_br (char *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveTextDataset, nerve_text_dataset_free)

G_END_DECLS

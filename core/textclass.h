/* Text classification (sentiment and other label sets) from one model file: the
 * SentencePiece tokenizer stored in it (blob "tokenizer.spm"), the network, and the
 * labels and limits in its metadata. The model is shared (ref-counted, read-only);
 * a NerveTextClassifier holds one stream's runner and scratch, so use one per thread.
 *
 * Model metadata it reads:
 *   nerve.task        "sentiment" or "text-classify"
 *   nerve.labels      JSON list of label names, one per output unit
 *   nerve.text.max_length   tokens per unit the network takes (longer input is truncated)
 * The network's input is [max_length] token ids (floats holding integers) with the
 * per-sample valid length passed as the runner's lengths; its output is [n_labels]
 * logits. */
#pragma once
#include "model.h"
#include "tokenizer.h"

G_BEGIN_DECLS

typedef struct _NerveTextClassifier NerveTextClassifier;

/* Checks the model (task, labels, tokenizer, input/output shapes) and allocates the
 * runner for batches of up to max_batch texts. */
NerveTextClassifier *nerve_text_classifier_new (NerveModel *m, int max_batch, GError **error);
void nerve_text_classifier_free (NerveTextClassifier *c);

int nerve_text_classifier_n_labels (const NerveTextClassifier *c);
const char *nerve_text_classifier_label (const NerveTextClassifier *c, int i);
int nerve_text_classifier_max_length (const NerveTextClassifier *c);
NerveModel *nerve_text_classifier_model (const NerveTextClassifier *c);
const NerveTokenizer *nerve_text_classifier_tokenizer (const NerveTextClassifier *c);

typedef struct {
  int label;          /* argmax */
  float confidence;   /* probability of label */
  gboolean truncated; /* the text had more than max_length tokens */
  gboolean replaced;  /* invalid UTF-8 was replaced */
  int n_tokens;       /* tokens used (after truncation) */
} NerveTextResult;

/* Classifies n texts (each NUL-terminated UTF-8; invalid bytes are replaced) in
 * batches; probs gets [n, n_labels] softmax probabilities (may be NULL), results [n].
 * An empty text (no tokens) still gets a result. */
gboolean nerve_text_classifier_run (NerveTextClassifier *c, const char *const *texts, int n, float *probs,
                                    NerveTextResult *results, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveTextClassifier, nerve_text_classifier_free)

G_END_DECLS

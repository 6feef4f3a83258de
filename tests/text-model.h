/* A small but real sentiment model for tests: a SentencePiece tokenizer trained on
 * generated sentences, embedding → BiLSTM → max pool → dense, trained for a few epochs
 * so that "good/great/..." sentences score positive and "bad/awful/..." negative. */
#pragma once
#include "nerve.h"

/* Builds (once per process; cached in dir) and returns a new reference. max_length 32. */
NerveModel *nerve_test_text_model (const char *dir, GError **error);
/* Writes the generated corpus (n lines "LABEL<TAB>sentence") to path. */
void nerve_test_write_sentiment_tsv (const char *path, int n, guint64 seed);

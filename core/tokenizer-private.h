/* The seam between tokenizer.c (GLib side: files, UTF-8 repair, sampling, model blobs)
 * and tokenizer-spm.cc (the only C++: calls into libsentencepiece, catches every
 * exception). Text reaching these functions is valid UTF-8. */
#pragma once
#include "tokenizer.h"

G_BEGIN_DECLS

/* `what` names the bytes in messages (a file name, "tokenizer data"). */
NerveTokenizer *nerve_spm_load (const void *data, gsize len, const char *what, GError **error);
/* Fills ids (gint32) or pieces (char *), whichever is non-NULL, after clearing it. */
gboolean nerve_spm_encode (const NerveTokenizer *t, const char *text, gsize len, GArray *ids,
                           GPtrArray *pieces, GError **error);
/* ids already checked to be in range; returns the text (g_malloc, NUL-terminated,
 * *len bytes, not yet checked to be UTF-8). */
char *nerve_spm_decode (const NerveTokenizer *t, const gint32 *ids, gsize n, gsize *len, GError **error);
/* lines[i] of lens[i] bytes; options already checked. `what` names the input. */
NerveTokenizer *nerve_spm_train (const char *const *lines, const gsize *lens, gsize n,
                                 const NerveTokenizerTrainOptions *o, const char *what, GError **error);

G_END_DECLS

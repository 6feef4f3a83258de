/* Nerve model files: the safetensors layout (docs/model-format.md).
 *
 *   [8 bytes] N, little-endian u64
 *   [N bytes] JSON header, padded with spaces to a multiple of 8:
 *             {"__metadata__": {"nerve.format_version": "1", "nerve.architecture": "{...}", ...},
 *              "fc1.weight": {"dtype": "F32", "shape": [8, 6], "data_offsets": [0, 192]}, ...}
 *   [rest]    raw little-endian tensor data; offsets are relative to its start
 *
 * Every parameter of the architecture (buffers included) is an F32 tensor named like
 * the parameter. Checkpoints add F32 "extras" (optimizer moments, trainer state) and
 * models add U8 "blobs" (a SentencePiece model...); both are declared in the metadata
 * (nerve.extras / nerve.blobs, JSON lists of names) so that any other tensor is an error.
 *
 * The loader checks every length, offset, dtype, shape and name before it touches the
 * data, and reports problems as NERVE_ERROR with the file and tensor named. */
#pragma once
#include <glib.h>

#include "model.h"
#include "tensor.h"

G_BEGIN_DECLS

#define NERVE_FORMAT_VERSION "1"

/* Writes PATH.tmpXXXXXX in PATH's directory, fsyncs it and renames it over PATH: a
 * reader sees the old file or the new one, never half of one. */
gboolean nerve_model_save (NerveModel *m, const char *path, GError **error);

/* Maps the file, validates it and copies the tensors into a new model's arena. */
NerveModel *nerve_model_load (const char *path, GError **error);
/* Same from memory; `what` names the data in messages (a file name, "buffer"). */
NerveModel *nerve_model_load_from_data (const guint8 *data, gsize len, const char *what,
                                        GError **error);

/* A named 1-D F32 tensor that is saved beside the parameters but is not one of them. */
typedef struct {
  const char *name;
  const float *data;
  gsize n;
} NerveExtraTensor;

gboolean nerve_model_save_with_extras (NerveModel *m, const char *path, const NerveExtraTensor *extras,
                                       int n_extras, GError **error);
/* extras (may be NULL): receives a new table name -> NerveTensor* (1-D, owned by the
 * table); extras in the file are skipped when it is NULL. */
NerveModel *nerve_model_load_with_extras (const char *path, GHashTable **extras, GError **error);
NerveModel *nerve_model_load_from_data_with_extras (const guint8 *data, gsize len, const char *what,
                                                    GHashTable **extras, GError **error);

/* Raw bytes kept in the model and saved as a 1-D U8 tensor. set takes a reference
 * (NULL removes); get returns the model's (transfer none) or NULL. Names follow the
 * same rules as extras: not a parameter name, not "__metadata__". */
void nerve_model_set_blob (NerveModel *m, const char *name, GBytes *bytes);
GBytes *nerve_model_get_blob (NerveModel *m, const char *name);

/* The text `nerve info` prints: format, task, layers (type, shapes, parameter count),
 * totals, metadata (long values shortened) and tensors. Appends to out. */
void nerve_model_describe (NerveModel *m, GString *out);

G_END_DECLS

/* A small reader for ONNX files (ModelProto, protobuf): the graph's initializers
 * (weights) and its nodes, enough for importers that know the network they are
 * reading (import-dtln.c). It executes nothing.
 *
 * Every length, varint, tag and element count is checked against the bytes held;
 * hostile files give NERVE_ERROR_FORMAT naming the file and what was wrong. FLOAT
 * tensors (raw_data or float_data) and DOUBLE tensors (converted) get float data;
 * other types are listed with data = NULL. Tensors stored outside the file
 * (data_location = EXTERNAL) are refused with NERVE_ERROR_UNSUPPORTED. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NERVE_ONNX_MAX_DIMS 8

/* TensorProto.DataType values the importers care about */
enum { NERVE_ONNX_FLOAT = 1, NERVE_ONNX_INT64 = 7, NERVE_ONNX_DOUBLE = 11 };

typedef struct {
  char *name;
  int data_type;
  int ndim;
  gint64 dims[NERVE_ONNX_MAX_DIMS];
  gsize n;     /* element count: the product of dims (1 for a scalar) */
  float *data; /* [n] for FLOAT/DOUBLE tensors, else NULL */
} NerveOnnxTensor;

typedef struct {
  char *name, *op_type;
  int n_inputs, n_outputs;
  char **inputs, **outputs; /* "" for an omitted optional input */
  /* Attributes as name, value pairs (NULL-terminated): ints and floats in decimal,
   * strings as they are, lists joined by ','; tensor and graph values as "". */
  char **attrs;
} NerveOnnxNode;

typedef struct {
  gint64 ir_version;
  char *producer; /* "name version", may be empty */
  int n_tensors;
  NerveOnnxTensor *tensors; /* graph initializers in file order */
  int n_nodes;
  NerveOnnxNode *nodes;     /* in file order (ONNX requires topological order) */
  GHashTable *by_name;      /* initializer name -> NerveOnnxTensor* */
} NerveOnnxGraph;

/* what names the data in messages (a file name). */
NerveOnnxGraph *nerve_onnx_parse (const guint8 *data, gsize len, const char *what, GError **error);
NerveOnnxGraph *nerve_onnx_load (const char *path, GError **error);
void nerve_onnx_free (NerveOnnxGraph *g);

const NerveOnnxTensor *nerve_onnx_find (const NerveOnnxGraph *g, const char *name);
/* A node's attribute value (see NerveOnnxNode.attrs), or NULL. */
const char *nerve_onnx_node_attr (const NerveOnnxNode *n, const char *name);
/* Index of the first node with this op_type at or after `from`, or -1. */
int nerve_onnx_find_op (const NerveOnnxGraph *g, const char *op_type, int from);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveOnnxGraph, nerve_onnx_free)

G_END_DECLS

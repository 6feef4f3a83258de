/* In-memory labelled datasets for training and evaluation, and the IDX reader for
 * MNIST-style files (Fashion-MNIST as Debian's dataset-fashion-mnist ships it). */
#pragma once
#include <glib.h>

#include "tensor.h"

G_BEGIN_DECLS

typedef struct {
  int n;             /* samples */
  NerveShape shape;  /* per-sample input shape */
  gsize stride;      /* floats per sample = numel(shape) */
  float *x;          /* [n, shape] */
  int *lengths;      /* [n] valid steps of the leading (time) dimension, or NULL = all */
  int *y;            /* [n] class ids */
  int n_classes;
  char **labels;     /* n_classes names or NULL */
} NerveDataset;

void nerve_dataset_free (NerveDataset *d);
/* Reads <dir>/<prefix>-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz]; pixels are
 * scaled to [0,1]. prefix is "train" or "t10k". Checks magic numbers, sizes and
 * label range. */
NerveDataset *nerve_dataset_load_idx (const char *dir, const char *prefix, GError **error);
/* Moves the last `count` samples of a seeded shuffle into a new dataset (validation
 * split); d keeps the rest. */
NerveDataset *nerve_dataset_split (NerveDataset *d, int count, guint64 seed, GError **error);
/* x = (x - mean) / std for every value. */
void nerve_dataset_normalize (NerveDataset *d, float mean, float std);
/* Copies the samples idx[0..count) into x_out/y_out (a batch). */
void nerve_dataset_gather (const NerveDataset *d, const int *idx, int count, float *x_out, int *y_out);
/* Their lengths into lengths_out; returns the largest (shape.dim[0] without lengths). */
int nerve_dataset_gather_lengths (const NerveDataset *d, const int *idx, int count, int *lengths_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveDataset, nerve_dataset_free)

G_END_DECLS

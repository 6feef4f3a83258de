#include "dataset.h"

#include <gio/gio.h>
#include <string.h>

#include "error.h"
#include "rng.h"

#define FASHION_LABELS "T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot"

void
nerve_dataset_free (NerveDataset *d)
{
  if (!d)
    return;
  nerve_free_floats (d->x);
  g_free (d->y);
  g_free (d->lengths);
  g_strfreev (d->labels);
  g_free (d);
}

/* Whole file, gunzipped when it ends in .gz; tries PATH then PATH.gz. */
static GBytes *
read_maybe_gz (const char *path, GError **error)
{
  g_autofree char *gz = g_strconcat (path, ".gz", NULL);
  gboolean is_gz = !g_file_test (path, G_FILE_TEST_EXISTS) && g_file_test (gz, G_FILE_TEST_EXISTS);
  g_autoptr (GFile) f = g_file_new_for_path (is_gz ? gz : path);
  g_autoptr (GError) err = NULL;
  g_autoptr (GInputStream) in = G_INPUT_STREAM (g_file_read (f, NULL, &err));
  if (!in) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", path, err->message);
    return NULL;
  }
  if (is_gz) {
    g_autoptr (GConverter) z = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
    GInputStream *conv = g_converter_input_stream_new (in, z);
    g_object_unref (in);
    in = conv;
  }
  g_autoptr (GOutputStream) out = g_memory_output_stream_new_resizable ();
  if (g_output_stream_splice (out, in, G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET, NULL, &err) < 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", is_gz ? gz : path, err->message);
    return NULL;
  }
  return g_memory_output_stream_steal_as_bytes (G_MEMORY_OUTPUT_STREAM (out));
}

static guint32
be32 (const guint8 *p)
{
  return ((guint32) p[0] << 24) | ((guint32) p[1] << 16) | ((guint32) p[2] << 8) | p[3];
}

NerveDataset *
nerve_dataset_load_idx (const char *dir, const char *prefix, GError **error)
{
  g_autofree char *ipath = g_strdup_printf ("%s/%s-images-idx3-ubyte", dir, prefix);
  g_autofree char *lpath = g_strdup_printf ("%s/%s-labels-idx1-ubyte", dir, prefix);
  g_autoptr (GBytes) ib = read_maybe_gz (ipath, error);
  if (!ib)
    return NULL;
  g_autoptr (GBytes) lb = read_maybe_gz (lpath, error);
  if (!lb)
    return NULL;
  gsize ilen, llen;
  const guint8 *im = g_bytes_get_data (ib, &ilen), *lab = g_bytes_get_data (lb, &llen);
  if (ilen < 16 || be32 (im) != 0x803 || llen < 8 || be32 (lab) != 0x801) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "%s: not an IDX image/label file pair (bad magic number or too short)", ipath);
    return NULL;
  }
  guint32 n = be32 (im + 4), rows = be32 (im + 8), cols = be32 (im + 12);
  if (n == 0 || n != be32 (lab + 4) || rows == 0 || cols == 0 || rows > 4096 || cols > 4096 ||
      (guint64) n * rows * cols != ilen - 16 || n != llen - 8) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "%s: header says %u images of %ux%u but the files hold %zu pixel bytes and %zu labels",
                 ipath, n, rows, cols, ilen - 16, llen - 8);
    return NULL;
  }
  g_autoptr (NerveDataset) d = g_new0 (NerveDataset, 1);
  d->n = (int) n;
  d->shape = nerve_shape_make (3, 1, (int) rows, (int) cols);
  d->stride = (gsize) rows * cols;
  d->x = nerve_alloc_floats ((gsize) n * d->stride);
  d->y = g_new (int, n);
  if (!d->x) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "%s: cannot allocate %u images", ipath, n);
    return NULL;
  }
  for (gsize i = 0; i < (gsize) n * d->stride; i++)
    d->x[i] = im[16 + i] * (1.0f / 255.0f);
  d->n_classes = 10;
  for (guint32 i = 0; i < n; i++) {
    d->y[i] = lab[8 + i];
    if (d->y[i] > 9) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: label %u of sample %u is not 0-9",
                   lpath, lab[8 + i], i);
      return NULL;
    }
  }
  d->labels = g_strsplit (FASHION_LABELS, ",", -1);
  return g_steal_pointer (&d);
}

NerveDataset *
nerve_dataset_split (NerveDataset *d, int count, guint64 seed, GError **error)
{
  if (count <= 0 || count >= d->n) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "validation split of %d samples needs 0 < split < %d (the training set size)", count, d->n);
    return NULL;
  }
  int *perm = g_new (int, d->n);
  for (int i = 0; i < d->n; i++)
    perm[i] = i;
  NerveRng rng;
  nerve_rng_seed (&rng, seed);
  nerve_rng_shuffle (&rng, perm, d->n);
  NerveDataset *v = g_new0 (NerveDataset, 1);
  *v = *d;
  v->n = count;
  v->labels = g_strdupv (d->labels);
  v->x = nerve_alloc_floats ((gsize) count * d->stride);
  v->y = g_new (int, count);
  int keep = d->n - count;
  float *x = nerve_alloc_floats ((gsize) keep * d->stride);
  int *y = g_new (int, keep);
  nerve_dataset_gather (d, perm, keep, x, y);
  nerve_dataset_gather (d, perm + keep, count, v->x, v->y);
  if (d->lengths) {
    int *len = g_new (int, keep);
    v->lengths = g_new (int, count);
    nerve_dataset_gather_lengths (d, perm, keep, len);
    nerve_dataset_gather_lengths (d, perm + keep, count, v->lengths);
    g_free (d->lengths);
    d->lengths = len;
  }
  nerve_free_floats (d->x);
  g_free (d->y);
  d->x = x;
  d->y = y;
  d->n = keep;
  g_free (perm);
  return v;
}

void
nerve_dataset_normalize (NerveDataset *d, float mean, float std)
{
  float inv = 1.0f / std;
  for (gsize i = 0; i < (gsize) d->n * d->stride; i++)
    d->x[i] = (d->x[i] - mean) * inv;
}

void
nerve_dataset_gather (const NerveDataset *d, const int *idx, int count, float *x_out, int *y_out)
{
  for (int i = 0; i < count; i++) {
    memcpy (x_out + (gsize) i * d->stride, d->x + (gsize) idx[i] * d->stride, d->stride * sizeof (float));
    if (y_out)
      y_out[i] = d->y[idx[i]];
  }
}

int
nerve_dataset_gather_lengths (const NerveDataset *d, const int *idx, int count, int *lengths_out)
{
  int T = d->shape.dim[0], max = 0;
  for (int i = 0; i < count; i++) {
    lengths_out[i] = d->lengths ? CLAMP (d->lengths[idx[i]], 0, T) : T;
    max = MAX (max, lengths_out[i]);
  }
  return max;
}

/* IDX dataset reading (plain and gzip), validation split, and corrupt-file errors. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static void
put32 (guint8 *p, guint32 v)
{
  p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

/* n images of 2x3 with pixel (i*6+j) % 256 and labels i % 10. */
static void
write_idx (const char *dir, const char *prefix, int n, guint32 img_magic, int extra_label, gboolean gz)
{
  gsize ilen = 16 + (gsize) n * 6, llen = 8 + n;
  guint8 *im = g_malloc0 (ilen), *lb = g_malloc0 (llen);
  put32 (im, img_magic), put32 (im + 4, n), put32 (im + 8, 2), put32 (im + 12, 3);
  put32 (lb, 0x801), put32 (lb + 4, n);
  for (int i = 0; i < n * 6; i++)
    im[16 + i] = (guint8) (i % 256);
  for (int i = 0; i < n; i++)
    lb[8 + i] = (guint8) (i % 10);
  if (extra_label >= 0)
    lb[8] = (guint8) extra_label;
  g_autofree char *ip = g_strdup_printf ("%s/%s-images-idx3-ubyte%s", dir, prefix, gz ? ".gz" : "");
  g_autofree char *lp = g_strdup_printf ("%s/%s-labels-idx1-ubyte", dir, prefix);
  if (gz) {
    g_autoptr (GZlibCompressor) z = g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP, -1);
    g_autoptr (GFile) f = g_file_new_for_path (ip);
    g_autoptr (GOutputStream) fo = G_OUTPUT_STREAM (g_file_replace (f, NULL, FALSE, 0, NULL, NULL));
    g_autoptr (GOutputStream) co = g_converter_output_stream_new (fo, G_CONVERTER (z));
    g_output_stream_write_all (co, im, ilen, NULL, NULL, NULL);
    g_output_stream_close (co, NULL, NULL);
  } else {
    g_file_set_contents (ip, (char *) im, ilen, NULL);
  }
  g_file_set_contents (lp, (char *) lb, llen, NULL);
  g_free (im);
  g_free (lb);
}

static void
test_idx_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-idx-XXXXXX", NULL);
  for (int gz = 0; gz < 2; gz++) {
    write_idx (dir, gz ? "gz" : "plain", 30, 0x803, -1, gz);
    g_autoptr (GError) err = NULL;
    g_autoptr (NerveDataset) d = nerve_dataset_load_idx (dir, gz ? "gz" : "plain", &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (d);
    CU_ASSERT_EQUAL (d->n, 30);
    CU_ASSERT_EQUAL (d->shape.ndim, 3);
    CU_ASSERT_EQUAL (d->shape.dim[1], 2);
    CU_ASSERT_EQUAL (d->shape.dim[2], 3);
    CU_ASSERT_DOUBLE_EQUAL (d->x[7 * 6 + 1], (7 * 6 + 1) / 255.0, 1e-6);
    CU_ASSERT_EQUAL (d->y[13], 3);
    g_autoptr (NerveDataset) v = nerve_dataset_split (d, 10, 5, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL (v);
    CU_ASSERT_EQUAL (d->n, 20);
    CU_ASSERT_EQUAL (v->n, 10);
    /* every sample lands on exactly one side, with its own label */
    int seen[30] = { 0 };
    for (int i = 0; i < 30; i++) {
      const NerveDataset *s = i < 20 ? d : v;
      int k = i < 20 ? i : i - 20;
      /* pixel 0 of sample j is (j*6) % 256: unique for j < 42 */
      int orig = (int) (s->x[(gsize) k * 6] * 255.0f + 0.5f) / 6;
      CU_ASSERT_EQUAL (s->y[k], orig % 10);
      seen[orig]++;
    }
    for (int i = 0; i < 30; i++)
      CU_ASSERT_EQUAL (seen[i], 1);
    CU_ASSERT_PTR_NULL (nerve_dataset_split (d, 20, 5, &err));
  }
}

static void
expect_fail (const char *dir, const char *prefix, const char *needle)
{
  g_autoptr (GError) err = NULL;
  NerveDataset *d = nerve_dataset_load_idx (dir, prefix, &err);
  CU_ASSERT_PTR_NULL (d);
  CU_ASSERT_PTR_NOT_NULL_FATAL (err);
  if (!strstr (err->message, needle)) {
    fprintf (stderr, "  '%s' lacks '%s'\n", err->message, needle);
    CU_FAIL ("error message");
  }
}

static void
test_idx_errors (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-idx-XXXXXX", NULL);
  expect_fail (dir, "missing", "No such file");
  write_idx (dir, "magic", 5, 0x1234, -1, FALSE);
  expect_fail (dir, "magic", "bad magic");
  write_idx (dir, "label", 5, 0x803, 77, FALSE);
  expect_fail (dir, "label", "label 77");
  write_idx (dir, "trunc", 5, 0x803, -1, FALSE);
  g_autofree char *ip = g_strdup_printf ("%s/trunc-images-idx3-ubyte", dir);
  g_assert_no_errno (truncate (ip, 16 + 5 * 6 - 1));
  expect_fail (dir, "trunc", "header says 5 images");
  g_autofree char *gzp = g_strdup_printf ("%s/badgz-images-idx3-ubyte.gz", dir);
  g_file_set_contents (gzp, "not gzip at all", -1, NULL);
  write_idx (dir, "badgz", 5, 0x803, -1, FALSE); /* labels only; images replaced below */
  g_autofree char *plain = g_strdup_printf ("%s/badgz-images-idx3-ubyte", dir);
  g_unlink (plain);
  expect_fail (dir, "badgz", "badgz-images");
}

NERVE_TEST_MAIN ("dataset",
                 { "IDX files load (plain and gzip) and split", test_idx_roundtrip },
                 { "corrupt IDX files give clear errors", test_idx_errors })

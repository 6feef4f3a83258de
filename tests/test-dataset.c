/* IDX dataset reading (plain and gzip), validation split, and corrupt-file errors. */
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerve.h"

static void
test_idx_roundtrip (void)
{
  g_autofree char *dir = g_dir_make_tmp ("nerve-idx-XXXXXX", NULL);
  for (int gz = 0; gz < 2; gz++) {
    nerve_test_write_idx (dir, gz ? "gz" : "plain", 30, 0x803, -1, gz);
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
  nerve_test_write_idx (dir, "magic", 5, 0x1234, -1, FALSE);
  expect_fail (dir, "magic", "bad magic");
  nerve_test_write_idx (dir, "label", 5, 0x803, 77, FALSE);
  expect_fail (dir, "label", "label 77");
  nerve_test_write_idx (dir, "trunc", 5, 0x803, -1, FALSE);
  g_autofree char *ip = g_strdup_printf ("%s/trunc-images-idx3-ubyte", dir);
  g_assert_no_errno (truncate (ip, 16 + 5 * 6 - 1));
  expect_fail (dir, "trunc", "header says 5 images");
  g_autofree char *gzp = g_strdup_printf ("%s/badgz-images-idx3-ubyte.gz", dir);
  g_file_set_contents (gzp, "not gzip at all", -1, NULL);
  nerve_test_write_idx (dir, "badgz", 5, 0x803, -1, FALSE); /* labels only; images replaced below */
  g_autofree char *plain = g_strdup_printf ("%s/badgz-images-idx3-ubyte", dir);
  g_unlink (plain);
  expect_fail (dir, "badgz", "badgz-images");
}

NERVE_TEST_MAIN ("dataset",
                 { "IDX files load (plain and gzip) and split", test_idx_roundtrip },
                 { "corrupt IDX files give clear errors", test_idx_errors })

/* Model files: round trips, a file written by Python, every way a file can be broken,
 * atomic saving and the `nerve info` description. */
#include <errno.h>
#include <glib/gstdio.h>
#include <math.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "check.h"
#include "nerve.h"

static const char *mlp =
  "{\"input\":[6],\"layers\":["
  "{\"type\":\"dense\",\"name\":\"fc1\",\"units\":8},"
  "{\"type\":\"tanh\"},"
  "{\"type\":\"dense\",\"name\":\"fc2\",\"units\":3}]}";

static char *
make_tmpdir (void)
{
  g_autoptr (GError) err = NULL;
  char *dir = g_dir_make_tmp ("nerve-modelfile-XXXXXX", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (dir);
  return dir;
}

static void
rm_tree (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  if (!d)
    return;
  const char *n;
  while ((n = g_dir_read_name (d))) {
    g_autofree char *p = g_build_filename (dir, n, NULL);
    g_unlink (p);
  }
  g_dir_close (d);
  g_rmdir (dir);
}

static int
count_files (const char *dir)
{
  GDir *d = g_dir_open (dir, 0, NULL);
  int n = 0;
  while (d && g_dir_read_name (d))
    n++;
  if (d)
    g_dir_close (d);
  return n;
}

static NerveModel *
make_mlp (void)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_new (mlp, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  nerve_model_init_params (m, 7);
  nerve_model_set_meta (m, "nerve.task", "classify");
  nerve_model_set_meta (m, "labels", "zero,one,two");
  nerve_model_set_meta (m, "frontend.mean", "0.5");
  g_autofree char *long_value = g_strnfill (300, 'x');
  nerve_model_set_meta (m, "long.value", long_value);
  nerve_model_set_meta (m, "unicode", "h\xc3\xa9llo \xe2\x9c\x93\n");
  g_autoptr (GBytes) blob = g_bytes_new_static ("\x00\x01\xfe\xffspm", 7);
  nerve_model_set_blob (m, "tokenizer.model", blob);
  return m;
}

static void
expect_contains (const char *text, const char *needle)
{
  if (!text || !strstr (text, needle)) {
    fprintf (stderr, "  '%s' does not mention '%s'\n", text ? text : "(null)", needle);
    CU_FAIL ("text does not mention the expected words");
  } else {
    CU_PASS ("message");
  }
}

static void
test_roundtrip (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "m.nerve", NULL);
  g_autofree char *path2 = g_build_filename (dir, "m2.nerve", NULL);
  g_autoptr (NerveModel) m = make_mlp ();
  float moment[5] = { 1, -2, 3.5f, NAN, 1e-30f };
  float step = 42;
  NerveExtraTensor extras[] = { { "adam.m", moment, 5 }, { "trainer.step", &step, 1 } };
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (nerve_model_save_with_extras (m, path, extras, 2, &err));
  CU_ASSERT_EQUAL (count_files (dir), 1);

  GHashTable *xt = NULL;
  g_autoptr (NerveModel) l = nerve_model_load_with_extras (path, &xt, &err);
  if (!l)
    fprintf (stderr, "  load: %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (l);
  CU_ASSERT_EQUAL_FATAL (l->n_floats, m->n_floats);
  CU_ASSERT_EQUAL (memcmp (l->arena, m->arena, m->n_floats * sizeof (float)), 0);
  CU_ASSERT_STRING_EQUAL (l->architecture, m->architecture);
  CU_ASSERT_EQUAL (g_hash_table_size (l->metadata), g_hash_table_size (m->metadata));
  GHashTableIter it;
  gpointer k, v;
  g_hash_table_iter_init (&it, m->metadata);
  while (g_hash_table_iter_next (&it, &k, &v))
    CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (l, k) ? nerve_model_get_meta (l, k) : "(none)", v);

  GBytes *b = nerve_model_get_blob (l, "tokenizer.model");
  CU_ASSERT_PTR_NOT_NULL_FATAL (b);
  CU_ASSERT_TRUE (g_bytes_equal (b, nerve_model_get_blob (m, "tokenizer.model")));
  CU_ASSERT_PTR_NULL (nerve_model_get_blob (l, "nope"));

  CU_ASSERT_PTR_NOT_NULL_FATAL (xt);
  CU_ASSERT_EQUAL (g_hash_table_size (xt), 2);
  NerveTensor *am = g_hash_table_lookup (xt, "adam.m");
  CU_ASSERT_PTR_NOT_NULL_FATAL (am);
  CU_ASSERT_EQUAL (am->ndim, 1);
  CU_ASSERT_EQUAL (am->numel, 5);
  CU_ASSERT_EQUAL (memcmp (am->data, moment, sizeof moment), 0); /* NaN kept bit for bit */
  NerveTensor *st = g_hash_table_lookup (xt, "trainer.step");
  CU_ASSERT_TRUE (st && st->numel == 1 && st->data[0] == 42);
  g_hash_table_unref (xt);

  /* the plain loader skips declared extras; saving again gives the same bytes */
  g_autoptr (NerveModel) l2 = nerve_model_load (path, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (l2);
  CU_ASSERT_TRUE_FATAL (nerve_model_save_with_extras (l2, path2, extras, 2, &err));
  g_autofree char *a = NULL, *c = NULL;
  gsize na = 0, nc = 0;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, &a, &na, NULL) && g_file_get_contents (path2, &c, &nc, NULL));
  CU_ASSERT_TRUE (na == nc && memcmp (a, c, na) == 0);
  /* safetensors layout: header length padded to 8, data contiguous up to the end */
  guint64 hlen = GUINT64_FROM_LE (*(guint64 *) a);
  CU_ASSERT_EQUAL (hlen % 8, 0);
  CU_ASSERT_EQUAL (a[8], '{');
  gsize params = 0;
  for (int i = 0; i < m->n_layers; i++)
    for (int j = 0; j < m->layers[i]->n_params; j++)
      params += nerve_shape_numel (&m->layers[i]->params[j].shape);
  CU_ASSERT_EQUAL (na, 8 + hlen + (params + 6) * 4 + 7);
  rm_tree (dir);
}

static void
test_python_written (void)
{
  g_autofree char *path = nerve_test_path ("tests/fixtures/python-written.nerve");
  g_autoptr (GError) err = NULL;
  GHashTable *xt = NULL;
  g_autoptr (NerveModel) m = nerve_model_load_with_extras (path, &xt, &err);
  if (!m)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.task"), "classify");
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "labels"), "cat,dog,bird");
  CU_ASSERT_PTR_NULL (nerve_model_get_meta (m, "nerve.architecture")); /* kept as m->architecture */
  GBytes *b = nerve_model_get_blob (m, "labels.txt");
  CU_ASSERT_TRUE (b && g_bytes_get_size (b) == 13 && memcmp (g_bytes_get_data (b, NULL), "cat\ndog\nbird\n", 13) == 0);
  NerveTensor *x = g_hash_table_lookup (xt, "ref.x"), *y = g_hash_table_lookup (xt, "ref.y");
  CU_ASSERT_TRUE_FATAL (x && y && x->numel == 4 * 6 && y->numel == 4 * 3);
  /* Nerve computes what PyTorch computed with the same weights */
  g_autoptr (NerveRunner) r = nerve_runner_new (m, 4, 0, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  const float *out = nerve_runner_forward (r, x->data, 4, FALSE, NULL);
  nerve_assert_close ("python-written forward", out, y->data, 12, 1e-5);
  g_hash_table_unref (xt);
}

/* ---- broken files ------------------------------------------------------------------ */

/* input [2] -> dense "d" with 2 units: d.weight [2,2] (16 bytes) + d.bias [2] (8 bytes) */
#define ARCH "{\\\"input\\\":[2],\\\"layers\\\":[{\\\"type\\\":\\\"dense\\\",\\\"name\\\":\\\"d\\\",\\\"units\\\":2}]}"
#define META "\"nerve.format_version\":\"1\",\"nerve.architecture\":\"" ARCH "\""
#define W "\"d.weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,16]}"
#define B "\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}"

static GByteArray *
make_file (const char *header, gsize data_len)
{
  GByteArray *f = g_byte_array_new ();
  guint64 n = GUINT64_TO_LE ((guint64) strlen (header));
  g_byte_array_append (f, (const guint8 *) &n, 8);
  g_byte_array_append (f, (const guint8 *) header, (guint) strlen (header));
  for (gsize i = 0; i < data_len; i++) {
    float v = (float) i / 4;
    if (i % 4 == 0)
      g_byte_array_append (f, (const guint8 *) &v, 4);
  }
  g_byte_array_set_size (f, 8 + (guint) strlen (header) + (guint) data_len);
  return f;
}

static GByteArray *
make_header (const char *meta, const char *tensors, gsize data_len)
{
  g_autofree char *h = g_strdup_printf ("{\"__metadata__\":{%s}%s%s}", meta, *tensors ? "," : "", tensors);
  return make_file (h, data_len);
}

static void
expect_fail_bytes (const guint8 *data, gsize len, int code, const char *needle)
{
  g_autoptr (GError) err = NULL;
  NerveModel *m = nerve_model_load_from_data (data, len, "t.nerve", &err);
  CU_ASSERT_PTR_NULL (m);
  nerve_model_unref (m);
  if (!err) {
    fprintf (stderr, "  loaded, expected an error mentioning '%s'\n", needle);
    CU_FAIL ("broken file loaded");
    return;
  }
  CU_ASSERT_TRUE (err->domain == NERVE_ERROR);
  if (err->code != code)
    fprintf (stderr, "  code %d, expected %d: %s\n", err->code, code, err->message);
  CU_ASSERT_EQUAL (err->code, code);
  CU_ASSERT_TRUE (g_str_has_prefix (err->message, "t.nerve: "));
  expect_contains (err->message, needle);
}

static void
expect_fail (const char *meta, const char *tensors, gsize data_len, int code, const char *needle)
{
  g_autoptr (GByteArray) f = make_header (meta, tensors, data_len);
  expect_fail_bytes (f->data, f->len, code, needle);
}

static void
test_valid_small (void)
{
  /* the template itself loads, with or without the metadata first, padded or not */
  g_autoptr (GError) err = NULL;
  g_autoptr (GByteArray) f = make_header (META, W "," B, 24);
  g_autoptr (NerveModel) m = nerve_model_load_from_data (f->data, f->len, "t.nerve", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_EQUAL (nerve_model_find_param (m, "d.bias")->data[1], 5.0f); /* float i of the data is i */
  g_autoptr (GByteArray) g = make_file ("{" B "  ,  " W ",\"__metadata__\":{" META "}}        ", 24);
  g_autoptr (NerveModel) m2 = nerve_model_load_from_data (g->data, g->len, "t.nerve", &err);
  CU_ASSERT_PTR_NOT_NULL (m2);
  /* NaN and Inf weights are numbers: they load (documented) */
  g_autoptr (GByteArray) h = make_header (META, W "," B, 24);
  float bad[2] = { NAN, INFINITY };
  memcpy (h->data + h->len - 8, bad, 8);
  g_autoptr (NerveModel) m3 = nerve_model_load_from_data (h->data, h->len, "t.nerve", &err);
  CU_ASSERT_TRUE (m3 && isnan (nerve_model_find_param (m3, "d.bias")->data[0]));
}

static void
test_broken_header (void)
{
  const int F = NERVE_ERROR_FORMAT;
  expect_fail_bytes ((const guint8 *) "", 0, F, "shorter than the 8-byte header length");
  expect_fail_bytes ((const guint8 *) "\x10\0\0\0", 4, F, "truncated");
  expect_fail_bytes ((const guint8 *) "\xff\xff\xff\xff\xff\xff\xff\xff{}", 10, F, "absurd");
  expect_fail_bytes ((const guint8 *) "\x00\x00\x00\x00\x01\x00\x00\x00{}", 10, F, "absurd");
  expect_fail_bytes ((const guint8 *) "\x10\0\0\0\0\0\0\0{}", 10, F, "runs past the end");
  expect_fail_bytes ((const guint8 *) "\x02\0\0\0\0\0\0\0\xff}", 10, F, "UTF-8");
  expect_fail_bytes ((const guint8 *) "\x02\0\0\0\0\0\0\0{\0", 10, F, "UTF-8");
  expect_fail_bytes ((const guint8 *) "\x02\0\0\0\0\0\0\0{x", 10, F, "not valid JSON");
  expect_fail_bytes ((const guint8 *) "\x02\0\0\0\0\0\0\0[]", 10, F, "not a JSON object");
  expect_fail_bytes ((const guint8 *) "\x00\0\0\0\0\0\0\0", 8, F, "not a JSON object");
  g_autofree char *deep = g_strnfill (100000, '[');
  g_autoptr (GByteArray) d = make_file (deep, 0);
  expect_fail_bytes (d->data, d->len, F, "nests deeper");
  expect_fail ("\"a\":1", "", 0, F, "metadata 'a' is not a string");
  expect_fail ("", "", 0, NERVE_ERROR_VERSION, "no nerve.format_version");
  g_autoptr (GByteArray) nm = make_file ("{" W "}", 16);
  expect_fail_bytes (nm->data, nm->len, NERVE_ERROR_VERSION, "not a Nerve model");
  expect_fail ("\"nerve.format_version\":\"2\"", "", 0, NERVE_ERROR_VERSION, "version '2' is not supported");
  expect_fail ("\"nerve.format_version\":\"1\"", "", 0, F, "no nerve.architecture");
  expect_fail ("\"nerve.format_version\":\"1\",\"nerve.architecture\":\"{\\\"input\\\":[2],\\\"layers\\\":"
               "[{\\\"type\\\":\\\"nope\\\"}]}\"", "", 0, NERVE_ERROR_UNSUPPORTED, "unknown type 'nope'");
  expect_fail ("\"nerve.format_version\":\"1\",\"nerve.architecture\":\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"",
               "", 0, F, "deeper than");
  /* a tiny file cannot make the loader allocate a huge arena */
  expect_fail ("\"nerve.format_version\":\"1\",\"nerve.architecture\":\"{\\\"input\\\":[1024],\\\"layers\\\":"
               "[{\\\"type\\\":\\\"dense\\\",\\\"units\\\":1048576}]}\"", "", 64, F, "more than the 1048592 the data can hold");
  expect_fail (META ",\"nerve.format_version\":\"1\"", W "," B, 24, F, "key 'nerve.format_version' appears twice");
}

static void
test_broken_tensors (void)
{
  const int F = NERVE_ERROR_FORMAT;
  expect_fail (META, W "," B "," B, 24, F, "tensor 'd.bias' appears twice");
  expect_fail (META, W "," "\"d.bias\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24]}", 24,
               F, "key 'dtype' appears twice");
  expect_fail (META, W, 24, F, "tensor 'd.bias' is missing: the architecture needs it with shape [2]");
  expect_fail (META, W "," B ",\"x\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[24,28]}", 28, F,
               "unexpected tensor 'x'");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}", 24, F,
               "'d.weight' [0,16] and 'd.bias' [8,16] overlap");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,16]}", 24, F, "begin after");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,32]}", 24, F,
               "run past the end of the data (24 bytes)");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[16,24]}", 24, F,
               "F32 [3] needs 12 bytes but data_offsets [16,24] hold 8");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16]}", 24, F, "[begin, end]");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,16]}", 24, F, "[begin, end]");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[16,24]}", 24, F,
               "non-negative integers");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[16,24]}", 24, F,
               "non-negative integers");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[16,24]}", 24, F,
               "non-negative integers");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[16,24]}", 24,
               F, "at most 8");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,2],\"data_offsets\":[16,24]}",
               24, F, "more than 2^64 elements");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],\"data_offsets\":[16,24]}", 24,
               F, "more than 2^64 bytes");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[9223372036854775808],\"data_offsets\":[16,24]}", 24,
               F, "non-negative integers");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[16,24]}", 24, F,
               "unknown dtype 'F33'");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[16,24]}", 24,
               NERVE_ERROR_UNSUPPORTED, "dtype F16");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"U8\",\"shape\":[8],\"data_offsets\":[16,24]}", 24, F,
               "'d.bias' has dtype U8, parameters are F32");
  expect_fail (META, W ",\"d.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[16,24],\"x\":1}", 24, F,
               "unknown key 'x'");
  expect_fail (META, W ",\"d.bias\":[16,24]", 24, F, "'d.bias' is not an object");
  expect_fail (META, W "," B ",\"\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}", 24, F, "empty name");
  expect_fail (META, W ",\"d.bias\":{\"shape\":[2],\"data_offsets\":[16,24]}", 24, F, "no \"dtype\"");
  /* the message the guide promises */
  g_autoptr (GByteArray) f =
    make_header (META, "\"d.weight\":{\"dtype\":\"F32\",\"shape\":[1,4],\"data_offsets\":[0,16]}," B, 24);
  g_autoptr (GError) err = NULL;
  CU_ASSERT_PTR_NULL (nerve_model_load_from_data (f->data, f->len, "model.nerve", &err));
  CU_ASSERT_TRUE_FATAL (err != NULL && err->code == NERVE_ERROR_SHAPE);
  CU_ASSERT_STRING_EQUAL (err->message, "model.nerve: tensor 'd.weight' has shape [1,4], architecture expects [2,2]");
}

static void
test_broken_declarations (void)
{
  const int F = NERVE_ERROR_FORMAT;
  const char *x = ",\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[24,28]}";
  g_autofree char *t = g_strconcat (W "," B, x, NULL);
  expect_fail (META ",\"nerve.extras\":\"[\\\"y\\\"]\"", t, 28, F, "declares tensor 'y' but the file has no such tensor");
  expect_fail (META ",\"nerve.extras\":\"y\"", t, 28, F, "JSON list of tensor names");
  expect_fail (META ",\"nerve.extras\":\"[1]\"", t, 28, F, "JSON list of tensor names");
  expect_fail (META ",\"nerve.extras\":\"[\\\"x\\\",\\\"x\\\"]\"", t, 28, F, "declared twice");
  expect_fail (META ",\"nerve.blobs\":\"[\\\"x\\\"]\"", t, 28, F, "blob tensor 'x' has dtype F32 shape [1]");
  expect_fail (META ",\"nerve.extras\":\"[\\\"x\\\",\\\"d.bias\\\"]\"", t, 28, F, "'d.bias' is a parameter");
  /* declared, it loads */
  g_autoptr (GByteArray) f = make_header (META ",\"nerve.extras\":\"[\\\"x\\\"]\"", t, 28);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load_from_data (f->data, f->len, "t.nerve", &err);
  CU_ASSERT_PTR_NOT_NULL (m);
}

/* Mutations of a real saved file: every truncation fails cleanly, flipped header bytes
 * never crash and either load or explain. */
static void
test_mutations (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "m.nerve", NULL);
  g_autoptr (NerveModel) m = make_mlp ();
  float e[3] = { 1, 2, 3 };
  NerveExtraTensor ex = { "opt.m", e, 3 };
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (nerve_model_save_with_extras (m, path, &ex, 1, &err));
  g_autofree guint8 *data = NULL;
  gsize len;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, (char **) &data, &len, NULL));
  rm_tree (dir);

  int failures = 0;
  for (gsize n = 0; n < len; n++) {
    g_autoptr (GError) e2 = NULL;
    g_autofree guint8 *copy = g_memdup2 (data, n); /* exact size so ASan sees overreads */
    NerveModel *t = nerve_model_load_from_data (copy, n, "cut.nerve", &e2);
    if (t || !e2 || e2->code != NERVE_ERROR_FORMAT || !strstr (e2->message, "truncated")) {
      if (failures++ < 3)
        fprintf (stderr, "  truncated to %zu: %s\n", n, e2 ? e2->message : "loaded");
      nerve_model_unref (t);
    }
  }
  CU_ASSERT_EQUAL (failures, 0);

  guint64 hlen = GUINT64_FROM_LE (*(guint64 *) data);
  int loaded = 0, rejected = 0, bad = 0;
  g_autofree guint8 *copy = g_memdup2 (data, len);
  for (gsize i = 8; i < 8 + hlen; i++)
    for (int bit = 0; bit < 8; bit += 3) {
      copy[i] ^= (guint8) (1u << bit);
      g_autoptr (GError) e3 = NULL;
      NerveModel *t = nerve_model_load_from_data (copy, len, "flip.nerve", &e3);
      if (t)
        loaded++;
      else if (e3 && e3->domain == NERVE_ERROR && g_str_has_prefix (e3->message, "flip.nerve: ") &&
               strlen (e3->message) > 20)
        rejected++;
      else
        bad++;
      nerve_model_unref (t);
      copy[i] ^= (guint8) (1u << bit);
    }
  CU_ASSERT_EQUAL (bad, 0);
  CU_ASSERT_TRUE (rejected > loaded); /* most flips break structure; flips in values may load */
  CU_ASSERT_TRUE (loaded > 0);
  /* header length one too big or small */
  for (int delta = -1; delta <= 1; delta += 2) {
    guint64 h = GUINT64_TO_LE (hlen + (guint64) delta);
    memcpy (copy, &h, 8);
    g_autoptr (GError) e4 = NULL;
    CU_ASSERT_PTR_NULL (nerve_model_load_from_data (copy, len, "len.nerve", &e4));
    CU_ASSERT_PTR_NOT_NULL (e4);
  }
}

static void
test_atomic_save (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *path = g_build_filename (dir, "m.nerve", NULL);
  g_autoptr (NerveModel) m = make_mlp ();
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE (nerve_model_save (m, path, &err));
  CU_ASSERT_TRUE (nerve_model_save (m, path, &err)); /* over an existing file */
  CU_ASSERT_EQUAL (count_files (dir), 1);
  g_autofree char *before = NULL;
  gsize before_len;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, &before, &before_len, NULL));

  /* a write that fails half way (file size limit) leaves the old file and no temp */
  struct rlimit old, lim;
  getrlimit (RLIMIT_FSIZE, &old);
  lim = old;
  lim.rlim_cur = 100;
  void (*prev) (int) = signal (SIGXFSZ, SIG_IGN);
  CU_ASSERT_EQUAL_FATAL (setrlimit (RLIMIT_FSIZE, &lim), 0);
  gboolean ok = nerve_model_save (m, path, &err);
  setrlimit (RLIMIT_FSIZE, &old);
  signal (SIGXFSZ, prev);
  CU_ASSERT_FALSE (ok);
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  expect_contains (err ? err->message : NULL, "unchanged");
  g_clear_error (&err);
  CU_ASSERT_EQUAL (count_files (dir), 1);
  g_autofree char *after = NULL;
  gsize after_len;
  CU_ASSERT_TRUE_FATAL (g_file_get_contents (path, &after, &after_len, NULL));
  CU_ASSERT_TRUE (after_len == before_len && memcmp (before, after, after_len) == 0);

  /* missing directory, a file where a directory should be, a read-only directory */
  g_autofree char *missing = g_build_filename (dir, "no", "such", "m.nerve", NULL);
  CU_ASSERT_FALSE (nerve_model_save (m, missing, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  expect_contains (err ? err->message : NULL, "cannot save");
  g_clear_error (&err);
  g_autofree char *under_file = g_build_filename (path, "m.nerve", NULL);
  CU_ASSERT_FALSE (nerve_model_save (m, under_file, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  g_clear_error (&err);
  if (geteuid () != 0) { /* root writes anywhere */
    g_chmod (dir, 0500);
    g_autofree char *p2 = g_build_filename (dir, "ro.nerve", NULL);
    CU_ASSERT_FALSE (nerve_model_save (m, p2, &err));
    CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
    expect_contains (err ? err->message : NULL, "Permission denied");
    g_clear_error (&err);
    g_chmod (dir, 0700);
  }
  CU_ASSERT_EQUAL (count_files (dir), 1);

  /* loading: missing file is an IO error naming it */
  g_autofree char *nofile = g_build_filename (dir, "absent.nerve", NULL);
  CU_ASSERT_PTR_NULL (nerve_model_load (nofile, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  expect_contains (err ? err->message : NULL, "absent.nerve");
  g_clear_error (&err);

  /* an empty file is a format error, a directory an IO error */
  g_autofree char *empty_file = g_build_filename (dir, "empty.nerve", NULL);
  CU_ASSERT_TRUE (g_file_set_contents (empty_file, "", 0, NULL));
  CU_ASSERT_PTR_NULL (nerve_model_load (empty_file, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_FORMAT);
  expect_contains (err ? err->message : NULL, "empty.nerve: 0 bytes");
  g_clear_error (&err);
  g_unlink (empty_file);
  CU_ASSERT_PTR_NULL (nerve_model_load (dir, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  g_clear_error (&err);

  /* bad extras are refused before anything is written */
  float v = 1;
  NerveExtraTensor clash = { "fc1.weight", &v, 1 }, empty = { "e", &v, 0 }, meta = { "__metadata__", &v, 1 };
  g_autofree char *p3 = g_build_filename (dir, "x.nerve", NULL);
  CU_ASSERT_FALSE (nerve_model_save_with_extras (m, p3, &clash, 1, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_INVALID);
  g_clear_error (&err);
  CU_ASSERT_FALSE (nerve_model_save_with_extras (m, p3, &empty, 1, &err));
  g_clear_error (&err);
  CU_ASSERT_FALSE (nerve_model_save_with_extras (m, p3, &meta, 1, &err));
  g_clear_error (&err);
  NerveExtraTensor blob_clash = { "tokenizer.model", &v, 1 };
  CU_ASSERT_FALSE (nerve_model_save_with_extras (m, p3, &blob_clash, 1, &err));
  g_clear_error (&err);
  nerve_model_set_meta (m, "binary", "\xff\xfe");
  CU_ASSERT_FALSE (nerve_model_save (m, p3, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_INVALID);
  expect_contains (err ? err->message : NULL, "not UTF-8");
  g_clear_error (&err);
  CU_ASSERT_EQUAL (count_files (dir), 1);
  rm_tree (dir);
}

static void
test_describe (void)
{
  g_autoptr (NerveModel) m = make_mlp ();
  g_autoptr (GString) s = g_string_new (NULL);
  nerve_model_describe (m, s);
  expect_contains (s->str, "format version 1");
  expect_contains (s->str, "task:        classify");
  expect_contains (s->str, "fc1    dense  [6]   -> [8]          56\n");
  expect_contains (s->str, "tanh1  tanh   [8]   -> [8]          0\n");
  expect_contains (s->str, "83 trainable + 0 in buffers");
  expect_contains (s->str, "labels = zero,one,two");
  expect_contains (s->str, "xxxxxxxx... (300 bytes)");
  expect_contains (s->str, "unicode = h\xc3\xa9llo \xe2\x9c\x93\\n");
  expect_contains (s->str, "  fc2.weight       F32 [3,8]\n");
  expect_contains (s->str, "  tokenizer.model  U8 [7]  (blob)\n");
  CU_ASSERT_PTR_NULL (strstr (s->str, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"));
  if (g_getenv ("NERVE_TEST_VERBOSE"))
    fputs (s->str, stderr);
}

/* nerve_model_find_default: NERVE_MODEL_PATH's directories (the file, then
 * <stem>/file), then the fallbacks; an error naming each place otherwise. */
static void
test_find_default (void)
{
  g_autofree char *dir = make_tmpdir ();
  g_autofree char *sub = g_build_filename (dir, "denoise", NULL);
  g_autofree char *nested = g_build_filename (sub, "denoise.nerve", NULL);
  g_autofree char *flat = g_build_filename (dir, "denoise.nerve", NULL);
  g_autofree char *fallback = g_build_filename (dir, "fallback.nerve", NULL);
  g_autofree char *missing = g_build_filename (dir, "missing.nerve", NULL);
  g_mkdir (sub, 0700);
  g_file_set_contents (fallback, "x", 1, NULL);
  const char *const fallbacks[] = { missing, fallback, NULL };
  g_autoptr (GError) err = NULL;

  g_unsetenv ("NERVE_MODEL_PATH");
  g_autofree char *a = nerve_model_find_default ("denoise.nerve", fallbacks, &err);
  CU_ASSERT_STRING_EQUAL (a, fallback);
  CU_ASSERT_PTR_NULL (nerve_model_find_default ("denoise.nerve", NULL, &err));
  CU_ASSERT_TRUE (err && err->code == NERVE_ERROR_IO);
  expect_contains (err ? err->message : NULL, "NERVE_MODEL_PATH (not set)");
  g_clear_error (&err);

  /* empty entries are skipped; <dir>/denoise/denoise.nerve, then <dir>/denoise.nerve first */
  g_autofree char *search = g_strconcat (G_SEARCHPATH_SEPARATOR_S, sub, "-none", G_SEARCHPATH_SEPARATOR_S, dir, NULL);
  g_setenv ("NERVE_MODEL_PATH", search, TRUE);
  g_file_set_contents (nested, "x", 1, NULL);
  g_autofree char *b = nerve_model_find_default ("denoise.nerve", fallbacks, &err);
  CU_ASSERT_STRING_EQUAL (b, nested);
  g_file_set_contents (flat, "x", 1, NULL);
  g_autofree char *c = nerve_model_find_default ("denoise.nerve", fallbacks, &err);
  CU_ASSERT_STRING_EQUAL (c, flat);

  /* nothing anywhere: every place is named */
  CU_ASSERT_PTR_NULL (nerve_model_find_default ("sentiment.nerve", (const char *const[]) { missing, NULL }, &err));
  expect_contains (err ? err->message : NULL, "no sentiment.nerve found");
  expect_contains (err ? err->message : NULL, "sentiment" G_DIR_SEPARATOR_S "sentiment.nerve");
  expect_contains (err ? err->message : NULL, search);
  expect_contains (err ? err->message : NULL, missing);
  g_unsetenv ("NERVE_MODEL_PATH");
  g_unlink (nested);
  g_rmdir (sub);
  rm_tree (dir);
}

NERVE_TEST_MAIN ("modelfile",
                 { "roundtrip", test_roundtrip },
                 { "python_written", test_python_written },
                 { "valid_small", test_valid_small },
                 { "broken_header", test_broken_header },
                 { "broken_tensors", test_broken_tensors },
                 { "broken_declarations", test_broken_declarations },
                 { "mutations", test_mutations },
                 { "atomic_save", test_atomic_save },
                 { "describe", test_describe },
                 { "find_default", test_find_default })

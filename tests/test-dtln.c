/* DTLN import and the "dtln" denoiser front end.
 *  - the ONNX reader on hand-made protobuf bytes: values read right; every truncation
 *    and a list of corruptions fail with a clear NERVE_ERROR (no shared data needed);
 *  - with ../shared/data (or NERVE_DATA_DIR): nerve import of breizhn/DTLN's ONNX files,
 *    then nerve_denoise_signal on LJ Speech + noise at 5 dB against the independent
 *    PyTorch reference of tests/gen/dtln.py (tests/fixtures/dtln.json): whole output and
 *    stage-1 masks; the CLI end to end. Skips with a message when the data is absent. */
#include <glib/gstdio.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "denoise.h"
#include "nerve.h"

/* ---- a tiny protobuf writer for hand-made ONNX files ---- */

static void
pb_varint (GByteArray *b, guint64 v)
{
  do {
    guint8 c = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
    g_byte_array_append (b, &c, 1);
    v >>= 7;
  } while (v);
}

static void
pb_tag (GByteArray *b, int field, int wire)
{
  pb_varint (b, (guint64) field << 3 | (guint64) wire);
}

static void
pb_bytes (GByteArray *b, int field, const void *data, gsize n)
{
  pb_tag (b, field, 2);
  pb_varint (b, n);
  g_byte_array_append (b, data, n);
}

static void
pb_msg (GByteArray *b, int field, GByteArray *sub)
{
  pb_bytes (b, field, sub->data, sub->len);
  g_byte_array_unref (sub);
}

static void
pb_str (GByteArray *b, int field, const char *s)
{
  pb_bytes (b, field, s, strlen (s));
}

static void
pb_int (GByteArray *b, int field, guint64 v)
{
  pb_tag (b, field, 0);
  pb_varint (b, v);
}

/* TensorProto: name, dims, FLOAT data as raw_data (raw) or packed float_data */
static GByteArray *
pb_tensor (const char *name, int ndim, const gint64 *dims, const float *v, gsize n, gboolean raw)
{
  GByteArray *t = g_byte_array_new ();
  for (int i = 0; i < ndim; i++)
    pb_int (t, 1, (guint64) dims[i]);
  pb_int (t, 2, 1);
  pb_str (t, 8, name);
  pb_bytes (t, raw ? 9 : 4, v, n * sizeof (float));
  return t;
}

/* A model whose graph (the last field, so that every truncation breaks it) holds a node
 * with attributes, a [2,3] raw_data tensor, a [3] float_data tensor and `extra`. */
static GByteArray *
pb_model (GByteArray *extra)
{
  static const float a[6] = { 1, -2, 3.5f, 4, 5, -6.25f }, c[3] = { 0.5f, 0.25f, 0.125f };
  GByteArray *node = g_byte_array_new ();
  pb_str (node, 1, "X");
  pb_str (node, 1, "");
  pb_str (node, 2, "Y");
  pb_str (node, 3, "lstm_node");
  pb_str (node, 4, "LSTM");
  GByteArray *attr = g_byte_array_new ();
  pb_str (attr, 1, "activations");
  pb_str (attr, 9, "Sigmoid");
  pb_str (attr, 9, "Tanh");
  pb_msg (node, 5, attr);
  attr = g_byte_array_new ();
  pb_str (attr, 1, "hidden_size");
  pb_int (attr, 3, 128);
  pb_msg (node, 5, attr);
  GByteArray *g = g_byte_array_new ();
  pb_msg (g, 1, node);
  pb_msg (g, 5, pb_tensor ("a", 2, (gint64[]) { 2, 3 }, a, 6, TRUE));
  pb_msg (g, 5, pb_tensor ("c", 1, (gint64[]) { 3 }, c, 3, FALSE));
  if (extra)
    pb_msg (g, 5, extra);
  GByteArray *m = g_byte_array_new ();
  pb_int (m, 1, 6);
  pb_str (m, 2, "handmade");
  pb_msg (m, 7, g);
  return m;
}

static void
test_onnx_reader (void)
{
  g_autoptr (GByteArray) m = pb_model (NULL);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveOnnxGraph) g = nerve_onnx_parse (m->data, m->len, "handmade.onnx", &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (g);
  CU_ASSERT_EQUAL (g->ir_version, 6);
  CU_ASSERT_STRING_EQUAL (g->producer, "handmade ");
  CU_ASSERT_EQUAL_FATAL (g->n_tensors, 2);
  const NerveOnnxTensor *a = nerve_onnx_find (g, "a"), *c = nerve_onnx_find (g, "c");
  CU_ASSERT_PTR_NOT_NULL_FATAL (a);
  CU_ASSERT_PTR_NOT_NULL_FATAL (c);
  CU_ASSERT (a->ndim == 2 && a->dims[0] == 2 && a->dims[1] == 3 && a->n == 6);
  CU_ASSERT (a->data[2] == 3.5f && a->data[5] == -6.25f);
  CU_ASSERT (c->ndim == 1 && c->n == 3 && c->data[2] == 0.125f);
  CU_ASSERT_EQUAL_FATAL (g->n_nodes, 1);
  const NerveOnnxNode *n = &g->nodes[0];
  CU_ASSERT_STRING_EQUAL (n->op_type, "LSTM");
  CU_ASSERT (n->n_inputs == 2 && !strcmp (n->inputs[0], "X") && !n->inputs[1][0]);
  CU_ASSERT (n->n_outputs == 1 && !strcmp (n->outputs[0], "Y"));
  CU_ASSERT_STRING_EQUAL (nerve_onnx_node_attr (n, "activations"), "Sigmoid,Tanh");
  CU_ASSERT_STRING_EQUAL (nerve_onnx_node_attr (n, "hidden_size"), "128");
  CU_ASSERT_PTR_NULL (nerve_onnx_node_attr (n, "direction"));
  CU_ASSERT_EQUAL (nerve_onnx_find_op (g, "LSTM", 0), 0);
  CU_ASSERT_EQUAL (nerve_onnx_find_op (g, "LSTM", 1), -1);

  /* a graph that parses but is no DTLN: the importer says what is missing */
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_import_dtln_onnx (g, "handmade.onnx", g, "handmade.onnx", &err));
  CU_ASSERT (err && err->domain == NERVE_ERROR && strstr (err->message, "handmade.onnx") &&
             strstr (err->message, "LSTM"));
  if (err)
    printf ("\n  not DTLN: %s\n", err->message);

  /* every truncation fails, with a message */
  int failed = 0;
  for (guint len = 0; len < m->len; len++) {
    GError *e = NULL;
    NerveOnnxGraph *t = nerve_onnx_parse (m->data, len, "cut.onnx", &e);
    if (!t && e && e->domain == NERVE_ERROR && g_str_has_prefix (e->message, "cut.onnx: "))
      failed++;
    nerve_onnx_free (t);
    g_clear_error (&e);
  }
  CU_ASSERT_EQUAL (failed, (int) m->len);
}

/* One corruption: the bytes must fail with code and a message containing needle. */
static void
expect_bad (const char *what, GByteArray *bytes, int code, const char *needle)
{
  GError *e = NULL;
  NerveOnnxGraph *g = nerve_onnx_parse (bytes->data, bytes->len, what, &e);
  gboolean ok = !g && e && e->domain == NERVE_ERROR && (int) e->code == code && strstr (e->message, needle) &&
                g_str_has_prefix (e->message, what);
  if (!ok)
    fprintf (stderr, "\n  %s: got %s (code %d), want code %d and '%s'\n", what, e ? e->message : "success",
             e ? e->code : -1, code, needle);
  CU_ASSERT_TRUE (ok);
  nerve_onnx_free (g);
  g_clear_error (&e);
  g_byte_array_unref (bytes);
}

static void
test_onnx_corrupt (void)
{
  static const float v[4] = { 1, 2, 3, 4 };
  GByteArray *b;

  b = g_byte_array_new ();
  expect_bad ("empty.onnx", b, NERVE_ERROR_FORMAT, "empty");
  b = g_byte_array_new ();
  g_byte_array_append (b, (const guint8 *) "\x89PNG\r\n\x1a\n", 8);
  expect_bad ("png.onnx", b, NERVE_ERROR_FORMAT, "not");
  b = g_byte_array_new ();
  for (int i = 0; i < 11; i++)
    g_byte_array_append (b, (const guint8 *) "\xff", 1);
  expect_bad ("varint.onnx", b, NERVE_ERROR_FORMAT, "varint");
  b = g_byte_array_new ();
  pb_tag (b, 5, 3); /* a group */
  expect_bad ("group.onnx", b, NERVE_ERROR_FORMAT, "wire type 3");
  b = g_byte_array_new ();
  pb_int (b, 1, 6);
  expect_bad ("nograph.onnx", b, NERVE_ERROR_FORMAT, "no graph");

  /* tensors: data shorter than the shape, negative dim, absurd shape, too many dims,
   * external data, a duplicate name */
  expect_bad ("short.onnx", pb_model (pb_tensor ("s", 2, (gint64[]) { 2, 3 }, v, 4, TRUE)), NERVE_ERROR_FORMAT,
              "tensor 's' has 16 bytes of data, its shape needs 24");
  expect_bad ("shortf.onnx", pb_model (pb_tensor ("s", 1, (gint64[]) { 5 }, v, 4, FALSE)), NERVE_ERROR_FORMAT,
              "its shape needs 20");
  expect_bad ("neg.onnx", pb_model (pb_tensor ("s", 1, (gint64[]) { -4 }, v, 4, TRUE)), NERVE_ERROR_FORMAT,
              "negative dimension");
  expect_bad ("huge.onnx", pb_model (pb_tensor ("s", 3, (gint64[]) { 1 << 20, 1 << 20, 1 << 20 }, v, 4, TRUE)),
              NERVE_ERROR_FORMAT, "absurd shape");
  expect_bad ("dims.onnx",
              pb_model (pb_tensor ("s", 9, (gint64[]) { 1, 1, 1, 1, 1, 1, 1, 1, 4 }, v, 4, TRUE)),
              NERVE_ERROR_UNSUPPORTED, "more than 8 dimensions");
  GByteArray *ext = pb_tensor ("s", 1, (gint64[]) { 4 }, v, 4, TRUE);
  pb_int (ext, 14, 1);
  expect_bad ("ext.onnx", pb_model (ext), NERVE_ERROR_UNSUPPORTED, "external file");
  expect_bad ("dup.onnx", pb_model (pb_tensor ("a", 1, (gint64[]) { 4 }, v, 4, TRUE)), NERVE_ERROR_FORMAT,
              "two initializers are named 'a'");
  /* a length prefix past the end inside a nested message */
  GByteArray *t = g_byte_array_new ();
  pb_str (t, 8, "s");
  pb_tag (t, 9, 2);
  pb_varint (t, 1000);
  expect_bad ("len.onnx", pb_model (t), NERVE_ERROR_FORMAT, "claims 1000 bytes");

  /* files */
  g_autoptr (GError) err = NULL;
  CU_ASSERT_PTR_NULL (nerve_onnx_load ("/nonexistent/model_1.onnx", &err));
  CU_ASSERT (err && err->code == NERVE_ERROR_IO);
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_import_dtln ("/nonexistent/model.bin", &err));
  CU_ASSERT (err && err->code == NERVE_ERROR_INVALID && strstr (err->message, "model_1.onnx"));
}

/* ---- a tiny DTLN-shaped export (tests/fixtures/dtln-tiny, random weights) ---- */

static float *
json_floats (JsonObject *o, const char *key, gsize *n)
{
  JsonArray *a = json_object_get_array_member (o, key);
  *n = json_array_get_length (a);
  float *v = g_new (float, *n);
  for (gsize i = 0; i < *n; i++)
    v[i] = (float) json_array_get_double_element (a, i);
  return v;
}

static void
test_tiny (void)
{
  g_autofree char *dir = nerve_test_path ("tests/fixtures/dtln-tiny");
  g_autofree char *fpath = nerve_test_path ("tests/fixtures/dtln-tiny.json");
  g_autoptr (JsonParser) p = json_parser_new ();
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (json_parser_load_from_file (p, fpath, &err));
  JsonObject *o = json_node_get_object (json_parser_get_root (p));
  gsize n, ny;
  g_autofree float *x = json_floats (o, "x", &n), *ref = json_floats (o, "y", &ny);
  CU_ASSERT_EQUAL_FATAL (n, ny);

  g_autoptr (NerveModel) m = nerve_import_dtln (dir, &err);
  if (!m)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.stft.hop"), "4");
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_EQUAL (nerve_denoiser_hop (d), json_object_get_int_member (o, "hop"));
  CU_ASSERT_EQUAL (nerve_denoiser_latency (d), json_object_get_int_member (o, "frame") - nerve_denoiser_hop (d));
  g_autofree float *y = g_new (float, n);
  nerve_denoise_signal (d, x, n, y, NULL);
  double worst = nerve_assert_close ("tiny DTLN output", y, ref, n, 2e-5);
  printf ("\n  tiny export, %" G_GSIZE_FORMAT " samples: max relative |Nerve - PyTorch| = %.2e\n", n, worst);

  /* a stage-1 file given alone for both stages: stage 2 is not there */
  g_autofree char *m1 = g_build_filename (dir, "model_1.onnx", NULL);
  g_autoptr (NerveOnnxGraph) g1 = nerve_onnx_load (m1, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (g1);
  CU_ASSERT_PTR_NULL (nerve_import_dtln_onnx (g1, "a.onnx", g1, "b.onnx", &err));
  CU_ASSERT (err && g_str_has_prefix (err->message, "b.onnx: no first Conv node"));
}

/* ---- against the PyTorch reference ---- */

/* The shared data folder when it holds the DTLN weights, else NULL after a SKIP line. */
static char *
data_dir (void)
{
  g_autofree char *m1 = nerve_test_data_path ("pretrained/dtln/model_1.onnx");
  return m1 ? nerve_test_data_dir () : NULL;
}

typedef struct {
  JsonParser *parser;
  JsonObject *o;
} Fixture;

static guint8 *
fixture_b64 (Fixture *f, const char *key, gsize *len)
{
  return g_base64_decode (json_object_get_string_member (f->o, key), len);
}

static float *
read_slice (const char *dir, const char *rel, gsize start, gsize n)
{
  g_autofree char *path = g_build_filename (dir, rel, NULL);
  g_autoptr (GError) err = NULL;
  int rate = 0;
  gsize len = 0;
  g_autofree float *x = nerve_audio_read (path, &rate, &len, &err);
  if (!x || rate != 16000 || len < start + n) {
    fprintf (stderr, "  %s: %s\n", path, err ? err->message : "not 16 kHz or too short");
    return NULL;
  }
  return g_memdup2 (x + start, n * sizeof (float));
}

static double
snr_db (const float *ref, const float *x, gsize n)
{
  double s = 0, e = 0;
  for (gsize i = 0; i < n; i++) {
    s += (double) ref[i] * ref[i];
    e += ((double) ref[i] - x[i]) * ((double) ref[i] - x[i]);
  }
  return 10 * log10 (s / MAX (e, 1e-300));
}

static double
si_sdr_db (const float *ref, const float *x, gsize n)
{
  double rr = 0, rx = 0;
  for (gsize i = 0; i < n; i++)
    rr += (double) ref[i] * ref[i], rx += (double) ref[i] * x[i];
  double a = rx / rr, s = 0, e = 0;
  for (gsize i = 0; i < n; i++) {
    double t = a * ref[i];
    s += t * t, e += (x[i] - t) * (x[i] - t);
  }
  return 10 * log10 (s / e);
}

/* Stage-1 masks of the listed frames, stepping the imported main network on the
 * magnitudes of DTLN's frames (the padded signal cut every hop). */
static void
check_masks (NerveModel *m, Fixture *f, const float *x, gsize n)
{
  const int N = 512, hop = 128, lat = N - hop, bins = N / 2 + 1;
  JsonArray *frames = json_object_get_array_member (f->o, "mask_frames");
  gsize mlen = 0;
  g_autofree guint16 *ref = (guint16 *) fixture_b64 (f, "masks_u16", &mlen);
  CU_ASSERT_EQUAL_FATAL (mlen, json_array_get_length (frames) * bins * 2);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveStream) s = nerve_stream_new (m, &err);
  g_autoptr (NerveFft) fft = nerve_fft_new (N, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (s);
  CU_ASSERT_PTR_NOT_NULL_FATAL (fft);
  float frame[512], spec[2 * 257], mag[257];
  double worst = 0;
  guint next = 0;
  int last = (int) json_array_get_int_element (frames, json_array_get_length (frames) - 1);
  for (int t = 0; t <= last; t++) {
    for (int i = 0; i < N; i++) {
      gssize p = (gssize) t * hop + i - lat;
      frame[i] = p >= 0 && (gsize) p < n ? x[p] : 0.0f;
    }
    nerve_fft_forward (fft, frame, spec);
    for (int k = 0; k < bins; k++)
      mag[k] = sqrtf (spec[2 * k] * spec[2 * k] + spec[2 * k + 1] * spec[2 * k + 1]);
    const float *mask = nerve_stream_step (s, mag);
    if (t != json_array_get_int_element (frames, next))
      continue;
    for (int k = 0; k < bins; k++)
      worst = MAX (worst, fabs ((double) mask[k] - GUINT16_FROM_LE (ref[next * bins + k]) / 65535.0));
    next++;
  }
  printf ("  stage-1 masks, %u frames: max |Nerve - reference| = %.2e (reference stored to 7.6e-6)\n", next, worst);
  CU_ASSERT (worst < 5e-5);
}

static void
test_reference (void)
{
  g_autofree char *dir = data_dir ();
  if (!dir)
    return;
  g_autofree char *fpath = nerve_test_path ("tests/fixtures/dtln.json");
  Fixture f = { json_parser_new (), NULL };
  g_autoptr (GError) err = NULL;
  CU_ASSERT_TRUE_FATAL (json_parser_load_from_file (f.parser, fpath, &err));
  f.o = json_node_get_object (json_parser_get_root (f.parser));
  const gsize n = (gsize) json_object_get_int_member (f.o, "n");

  /* the same mixture as the generator, in float32 */
  g_autofree float *speech = read_slice (dir, json_object_get_string_member (f.o, "speech"),
                                         (gsize) json_object_get_int_member (f.o, "speech_start"), n);
  g_autofree float *noise = read_slice (dir, json_object_get_string_member (f.o, "noise"),
                                        (gsize) json_object_get_int_member (f.o, "noise_start"), n);
  CU_ASSERT_PTR_NOT_NULL_FATAL (speech);
  CU_ASSERT_PTR_NOT_NULL_FATAL (noise);
  const float gain = (float) json_object_get_double_member (f.o, "noise_gain");
  g_autofree float *x = g_new (float, n);
  double ss = 0;
  for (gsize i = 0; i < n; i++) {
    volatile float gn = gain * noise[i]; /* no fused multiply-add: round as numpy does */
    x[i] = speech[i] + gn;
    ss += (double) x[i] * x[i];
  }
  JsonArray *head = json_object_get_array_member (f.o, "input_head");
  for (guint i = 0; i < json_array_get_length (head); i++)
    CU_ASSERT_EQUAL (x[i], (float) json_array_get_double_element (head, i));
  CU_ASSERT (fabs (ss / json_object_get_double_member (f.o, "input_sum_sq") - 1) < 1e-9);

  /* import, save, load: what a user runs */
  g_autofree char *src = g_build_filename (dir, "pretrained", "dtln", NULL);
  g_autoptr (NerveModel) imported = nerve_import_dtln (src, &err);
  CU_ASSERT_PTR_NOT_NULL_FATAL (imported);
  g_autofree char *tmp = NULL;
  int fd = g_file_open_tmp ("dtln-XXXXXX.nerve", &tmp, NULL);
  close (fd);
  CU_ASSERT_TRUE_FATAL (nerve_model_save (imported, tmp, &err));
  g_autoptr (NerveModel) m = nerve_model_load (tmp, &err);
  g_unlink (tmp);
  CU_ASSERT_PTR_NOT_NULL_FATAL (m);
  CU_ASSERT_STRING_EQUAL (nerve_model_get_meta (m, "nerve.license"),
                          "MIT, Copyright (c) 2020 Nils L. Westhausen (breizhn/DTLN)");

  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, &err);
  if (!d)
    fprintf (stderr, "  %s\n", err->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (d);
  CU_ASSERT_STRING_EQUAL (nerve_denoiser_frontend (d), "dtln");
  CU_ASSERT_EQUAL (nerve_denoiser_rate (d), 16000);
  CU_ASSERT_EQUAL (nerve_denoiser_hop (d), 128);
  CU_ASSERT_EQUAL (nerve_denoiser_latency (d), json_object_get_int_member (f.o, "latency"));

  g_autofree float *y = g_new (float, n), *y2 = g_new (float, n);
  const gsize n_frames = (n + 127) / 128;
  g_autofree NerveDenoiseFrame *fr = g_new (NerveDenoiseFrame, n_frames);
  gint64 t0 = g_get_monotonic_time ();
  nerve_denoise_signal (d, x, n, y, fr);
  double secs = (double) (g_get_monotonic_time () - t0) / 1e6;
  nerve_denoise_signal (d, x, n, y2, NULL); /* from a reset state: the same again */
  CU_ASSERT_EQUAL (memcmp (y, y2, n * sizeof (float)), 0);

  gsize qlen = 0;
  g_autofree gint16 *q = (gint16 *) fixture_b64 (&f, "out_i16", &qlen);
  CU_ASSERT_EQUAL_FATAL (qlen, n * 2);
  const double scale = json_object_get_double_member (f.o, "out_scale");
  g_autofree float *ref = g_new (float, n);
  double maxdiff = 0;
  for (gsize i = 0; i < n; i++) {
    ref[i] = (float) (GINT16_FROM_LE (q[i]) * scale);
    maxdiff = MAX (maxdiff, fabs ((double) y[i] - ref[i]));
  }
  double agree = snr_db (ref, y, n);
  double in_sdr = si_sdr_db (speech, x, n), out_sdr = si_sdr_db (speech, y, n);
  double vad = 0, snr = 0;
  for (gsize i = 0; i < n_frames; i++) {
    CU_ASSERT (fr[i].vad >= 0 && fr[i].vad <= 1 && isfinite (fr[i].snr_db));
    vad += fr[i].vad / n_frames, snr += fr[i].snr_db / n_frames;
  }
  printf ("\n  Nerve vs PyTorch reference, %.1f s: SNR %.1f dB, max |diff| %.2e (stored to %.1e)\n"
          "  SI-SDR: input %.2f dB -> output %.2f dB; mean vad %.2f, mean frame snr %.1f dB; %.0fx real time\n",
          n / 16000.0, agree, maxdiff, scale / 2, in_sdr, out_sdr, vad, snr, n / 16000.0 / secs);
  CU_ASSERT (agree > 60);
  CU_ASSERT (maxdiff < 1e-3);
  CU_ASSERT (out_sdr > in_sdr + 5);

  check_masks (m, &f, x, n);

  /* a dtln model without its second stage is refused with a reason */
  nerve_model_set_blob (m, NERVE_DTLN_STAGE2_BLOB, NULL);
  g_clear_error (&err);
  CU_ASSERT_PTR_NULL (nerve_denoiser_new (m, &err));
  CU_ASSERT (err && strstr (err->message, "dtln.stage2"));
  g_object_unref (f.parser);
}

static void
test_cli (void)
{
  NerveRun r = nerve_test_run_cli ((const char *const[]) { "import", "--help", NULL });
  nerve_test_run_check (&r, 0, "dtln", NULL);
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *const[]) { "import", "x.bin", "y.nerve", NULL });
  nerve_test_run_check (&r, 2, NULL, "cannot tell the format of 'x.bin'");
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *const[]) { "import", "--format", "nope", "x", "y", NULL });
  nerve_test_run_check (&r, 2, NULL, "unknown format 'nope'");
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *const[]) { "import", "/nonexistent/model_1.onnx", "y.nerve", NULL });
  nerve_test_run_check (&r, 1, NULL, "no such file");
  nerve_test_run_clear (&r);

  g_autofree char *dir = data_dir ();
  if (!dir)
    return;
  g_autofree char *src = g_build_filename (dir, "pretrained", "dtln", "model_1.onnx", NULL);
  g_autofree char *tmpdir = g_dir_make_tmp ("dtln-cli-XXXXXX", NULL);
  g_autofree char *out = g_build_filename (tmpdir, "dtln.nerve", NULL);
  r = nerve_test_run_cli ((const char *const[]) { "import", src, out, NULL });
  nerve_test_run_check (&r, 0, "(dtln)", NULL);
  nerve_test_run_clear (&r);
  r = nerve_test_run_cli ((const char *const[]) { "info", out, NULL });
  nerve_test_run_check (&r, 0, "nerve.denoise.frontend = dtln", NULL);
  nerve_test_run_clear (&r);
  g_unlink (out);
  g_rmdir (tmpdir);
}

NERVE_TEST_MAIN ("dtln", { "onnx reader", test_onnx_reader }, { "onnx corrupt files", test_onnx_corrupt },
                 { "tiny DTLN-shaped export", test_tiny },
                 { "dtln vs PyTorch reference", test_reference }, { "nerve import", test_cli })

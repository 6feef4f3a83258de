/* Helpers shared by the nervedenoise suites: test models, a speech-like signal, and
 * GstHarness plumbing that checks each output buffer's timing and level meta. */
#pragma once
#include <gst/audio/audio.h>
#include <gst/check/gstharness.h>

#include "element-check.h"

#define RATE 16000
#define STFT_SIZE 512
#define STFT_HOP 128

/* A "mask" model (tests/denoise-model.c: log-power STFT features -> GRU -> dense ->
 * sigmoid gains and a voice probability) at `rate`, saved as dir/name; returns the
 * path (NULL after printing why). Random weights unless bias is finite: then every
 * gain and the VAD are sigmoid(bias). */
char *write_mask_model (const char *dir, const char *name, int rate, int size, int hop, float bias, guint64 seed);
/* A voiced-speech-like signal: a 140 Hz pulse train through formant-ish resonances,
 * 4 syllables a second, and a little seeded noise. */
float *speechlike_signal (gsize n, int rate, guint64 seed);

/* "nervedenoise name=dn model=<model> <props>" with mono caps of format (NULL: F32LE) at rate. */
GstHarness *harness_full (const char *model, const char *props, const char *format, int rate);
/* g_object_set on the element "dn" inside the harness's bin (NULL-terminated pairs). */
void set_prop (GstHarness *h, const char *name, ...) G_GNUC_NULL_TERMINATED;
/* A bus for the harness's bin, to read the element's messages (unref it). */
GstBus *harness_bus (GstHarness *h);
/* A buffer of x[0..n) at sample position pos from base: timestamp, duration, offsets. */
GstBuffer *audio_buffer (const float *x, gsize n, gboolean s16, guint64 pos, GstClockTime base, int rate);
/* Pushes x in buffers of the given sizes (cycled), positions from pos0. */
void push_signal (GstHarness *h, const float *x, gsize n, const gsize *sizes, int n_sizes, gboolean s16, guint64 pos0,
                  GstClockTime base, int rate);
void push_eos (GstHarness *h);

typedef struct {
  float *x; /* every output sample, as float (g_free) */
  gsize n;
  guint n_buffers, bad_timing, no_meta, bad_level, voiced;
  gboolean first_discont;
} Output;

/* Pulls every buffer so far into o and counts the buffers whose timestamp, duration
 * or offsets differ from their sample position (first sample at pos0 from base),
 * those without a GstAudioLevelMeta, with a level off by more than 1 dB, and voiced. */
void pull_output (GstHarness *h, Output *o, gboolean s16, guint64 pos0, GstClockTime base, int rate);
/* x through a fresh harness up to EOS, in buffers of the given sizes; o->x is returned. */
float *run_model_at (const char *model, const char *props, const float *x, gsize n, const gsize *sizes, int n_sizes,
                     gboolean s16, int rate, Output *o);

gboolean all_finite (const float *x, gsize n);
double max_abs_diff (const float *a, const float *b, gsize n);

/* Audio files (anything libsndfile reads: WAV, FLAC, OGG, AIFF...) as mono float, and
 * sample-rate conversion. Multi-channel input is averaged to mono. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

/* Returns g_malloc'd samples in [-1, 1] (integer formats) and sets *rate and *n. */
float *nerve_audio_read (const char *path, int *rate, gsize *n, GError **error);
/* Mono WAV, 16-bit PCM (clipped) or 32-bit float; written atomically. */
gboolean nerve_audio_write_wav (const char *path, const float *x, gsize n, int rate, gboolean float32,
                                GError **error);
/* Reads and converts to `rate` when the file's rate differs. */
float *nerve_audio_read_at (const char *path, int rate, gsize *n, GError **error);

/* Band-limited (windowed-sinc, polyphase) conversion from rate `from` to `to`; output
 * length is ceil(n * to / from); the filter's delay is compensated, so a sample at time
 * t stays at time t. Returns g_malloc'd samples. */
float *nerve_resample (const float *x, gsize n, int from, int to, gsize *n_out);

G_END_DECLS

/* libFuzzer target for nerve_audio_read (libsndfile underneath): the input is written to
 * a temporary file and read back as mono float. Invariants that trap: a failure is a
 * NERVE_ERROR naming the file; a success gives finite length, a positive rate, and
 * samples that nerve_audio_read_at can convert to 16 kHz with the promised length.
 *
 * Seeds (fuzz/corpus/audiofile/: WAV 16-bit mono, WAV float stereo, FLAC, AIFF 24-bit,
 * a few hundred bytes each) are written by this program:
 *   NERVE_FUZZ_WRITE_SEEDS=fuzz/corpus/audiofile build-asan/fuzz/fuzz-audiofile -runs=0 */
#include <glib/gstdio.h>
#include <math.h>
#include <sndfile.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "nerve.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static char *path;

static void
write_seed (const char *dir, const char *name, int format, int channels, int rate)
{
  g_autofree char *p = g_build_filename (dir, name, NULL);
  SF_INFO info = { .samplerate = rate, .channels = channels, .format = format };
  SNDFILE *sf = sf_open (p, SFM_WRITE, &info);
  if (!sf)
    abort ();
  float x[64 * 2];
  for (int i = 0; i < 64 * channels; i++)
    x[i] = (float) (0.5 * sin (0.3 * i));
  sf_writef_float (sf, x, 64);
  sf_close (sf);
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  const char *seeds = g_getenv ("NERVE_FUZZ_WRITE_SEEDS");
  if (seeds) {
    g_mkdir_with_parents (seeds, 0755);
    write_seed (seeds, "mono16.wav", SF_FORMAT_WAV | SF_FORMAT_PCM_16, 1, 16000);
    write_seed (seeds, "stereo-float.wav", SF_FORMAT_WAV | SF_FORMAT_FLOAT, 2, 48000);
    write_seed (seeds, "mono.flac", SF_FORMAT_FLAC | SF_FORMAT_PCM_16, 1, 8000);
    write_seed (seeds, "stereo24.aiff", SF_FORMAT_AIFF | SF_FORMAT_PCM_24, 2, 44100);
  }
  int fd = g_file_open_tmp ("nerve-fuzz-audio-XXXXXX", &path, NULL);
  if (fd < 0)
    abort ();
  close (fd);
  return 0;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  FILE *f = fopen (path, "wb"); /* not g_file_set_contents: it may fsync every input */
  if (!f || fwrite (data, 1, size, f) != size || fclose (f) != 0)
    abort ();
  GError *err = NULL;
  int rate = 0;
  gsize n = 0;
  float *x = nerve_audio_read (path, &rate, &n, &err);
  if (!x) {
    if (!err || err->domain != NERVE_ERROR || !strstr (err->message, path))
      abort ();
    g_error_free (err);
    return 0;
  }
  if (err || rate < 1 || n > (gsize) 1 << 31)
    abort ();
  float sum = 0; /* touch every sample: ASan checks the length */
  for (gsize i = 0; i < n; i++)
    sum += x[i];
  g_free (x);
  (void) sum;
  /* conversion, bounded so a 1 Hz file cannot ask for gigabytes */
  if ((double) n * 16000.0 / rate < 2e5) {
    gsize m = 0;
    float *y = nerve_audio_read_at (path, 16000, &m, &err);
    if (y) {
      guint64 g = 16000, r = (guint64) rate;
      while (r) {
        guint64 t = g % r;
        g = r, r = t;
      }
      guint64 L = 16000 / g, M = (guint64) rate / g;
      if (m != (gsize) (((guint64) n * L + M - 1) / M))
        abort ();
      g_free (y);
    } else {
      if (!err || err->domain != NERVE_ERROR)
        abort ();
      g_error_free (err);
    }
  }
  return 0;
}

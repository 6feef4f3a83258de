/* Training data for denoise models, mixed on the fly: clean speech clips and noise
 * clips held in memory at the model's rate, synthetic noise, room impulse responses,
 * and a mixer that draws (clean target, noisy input) pairs from a seeded generator, so
 * the data of training step k is a function of (seed, k) alone.
 *
 * Held-out rule: models/denoise/heldout.txt lists globs (one per line, `#` comments),
 * each matched against the end of a file's absolute path: fnmatch(3) without flags of
 * "*" "/" glob, the same as Python's fnmatch.fnmatchcase (`*` also matches `/`). Files
 * it matches belong to the evaluation set and are never trained on or used for
 * validation; the evaluation script reads the same file. */
#pragma once
#include <glib.h>

#include "rng.h"

#include <math.h>

/* Random draws the mixers and noise generators share. */
static inline float
nerve_draw_uniform (NerveRng *r, float lo, float hi)
{
  return lo + (hi - lo) * nerve_rng_uniform (r);
}

static inline float
nerve_draw_log_uniform (NerveRng *r, float lo, float hi)
{
  return expf (nerve_draw_uniform (r, logf (lo), logf (hi)));
}

/* Scales x to RMS 1 (left alone when silent): noise generators mix at a set SNR later. */
static inline void
nerve_normalize_rms (float *x, gsize n)
{
  double e = 0;
  for (gsize i = 0; i < n; i++)
    e += (double) x[i] * (double) x[i];
  if (e <= 1e-20 * (double) n)
    return;
  float g = (float) sqrt ((double) n / e);
  for (gsize i = 0; i < n; i++)
    x[i] *= g;
}

static inline gboolean
nerve_draw_coin (NerveRng *r, float p)
{
  return nerve_rng_uniform (r) < p;
}

G_BEGIN_DECLS

/* ---- file lists ---- */

/* The globs of a held-out file (NULL-terminated; empty lines and comments dropped). */
char **nerve_heldout_load (const char *path, GError **error);
/* TRUE when path (made absolute first) matches one of the globs (may be NULL): a glob
 * starting with / or * is matched as it is, any other as "*" "/" glob, i.e. against
 * the end of the path. */
gboolean nerve_heldout_match (const char *const *globs, const char *path);

/* Expands specs into a sorted list of absolute audio file paths (wav, flac, ogg, oga,
 * aif, aiff, au, caf, w64, opus). A spec is a directory (searched recursively), a file,
 * or a path whose last component holds a glob (`*?[`). Relative specs resolve under
 * base_dir (NULL = the current directory). Files matching `heldout` or `exclude` globs
 * are dropped; *n_dropped (may be NULL) counts them. A spec that names nothing
 * (missing directory, glob matching no file) is an error naming it. */
GPtrArray *nerve_audio_list_files (const char *const *specs, const char *base_dir, const char *const *heldout,
                                   const char *const *exclude, int *n_dropped, GError **error);

/* ---- clips in memory ---- */

typedef struct {
  int n, rate;
  float **x;     /* [n][len[i]] */
  gsize *len;
  float *weight; /* [n] relative pick weight (1 unless set) */
  char **paths;  /* [n] */
  double seconds;
} NerveClipSet;

/* Reads every file (nerve_audio_read_at: mono, resampled to rate). Clips shorter than
 * min_samples or silent are skipped (counted in *n_skipped, may be NULL). */
NerveClipSet *nerve_clip_set_load (GPtrArray *paths, int rate, gsize min_samples, int *n_skipped,
                                   GError **error);
NerveClipSet *nerve_clip_set_new (int rate); /* empty; add with nerve_clip_set_add */
void nerve_clip_set_add (NerveClipSet *s, const char *name, float *x /* taken */, gsize len, float weight);
/* Moves every clip of src (freed) to the end of s. */
void nerve_clip_set_append (NerveClipSet *s, NerveClipSet *src);
/* Moves the clips whose file name hashes below fraction (FNV-1a of the basename, so
 * the split does not depend on listing order or on which other files exist) into a
 * new set; at least one clip stays when s has any. */
NerveClipSet *nerve_clip_set_split (NerveClipSet *s, double fraction);
void nerve_clip_set_free (NerveClipSet *s);

/* ---- synthetic noise ---- */

typedef enum {
  NERVE_NOISE_WHITE,
  NERVE_NOISE_PINK,   /* -3 dB/octave (Kellet's filter) */
  NERVE_NOISE_BROWN,  /* -6 dB/octave (leaky integrator) */
  NERVE_NOISE_HUM,    /* 50/60 Hz mains with harmonics */
  NERVE_NOISE_BABBLE, /* 4-8 speech clips summed */
  NERVE_NOISE_CLICKS, /* short decaying bursts at random times */
  NERVE_NOISE_TONAL,  /* band-pass noise plus a few drifting tones */
  /* urban-like types (denoise-noise-urban.c) */
  NERVE_NOISE_ENGINE,  /* idling engine: jittered firing pulses (18-70 Hz) through body resonances, rumble */
  NERVE_NOISE_DRILL,   /* jackhammer (broadband impulses 8-30/s) or drill (motor whine + hiss), on and off */
  NERVE_NOISE_SIREN,   /* wail, yelp or hi-lo: swept tones with odd harmonics over distant noise */
  NERVE_NOISE_WIND,    /* air conditioner (filtered noise, compressor hum) or wind (low-passed gusts) */
  NERVE_NOISE_TRAFFIC, /* brown-ish rumble plus passing vehicles (bell envelopes, Doppler engine tone), horns */
  NERVE_NOISE_CROWD,   /* 10-30 talkers, some sped up (children's pitch), from the babble clips */
  NERVE_NOISE_N_TYPES
} NerveNoiseType;

/* The types drawn when a mix config lists none: the first seven (white ... tonal). */
#define NERVE_NOISE_N_CLASSIC 7

const char *nerve_noise_type_name (NerveNoiseType t);
/* Parses a type name ("white", ..., "crowd"); FALSE with an error listing them. */
gboolean nerve_noise_type_from_name (const char *name, NerveNoiseType *t, GError **error);
/* Fills x[n] with noise of the type at unit RMS, drawn from rng; babble and crowd need
 * speech (white noise when it has no clips). */
void nerve_noise_synth (NerveNoiseType t, NerveRng *rng, int rate, const NerveClipSet *speech, float *x, gsize n);
/* The same, with crowd talkers drawn only from speech clips talkers[0..n_talkers) (NULL =
 * all; e.g. the many text-to-speech voices). Babble keeps drawing from all clips. */
void nerve_noise_synth_talkers (NerveNoiseType t, NerveRng *rng, int rate, const NerveClipSet *speech,
                                const int *talkers, int n_talkers, float *x, gsize n);
/* Multiplies x by a slow random gain (a few sines under 2 Hz, up to depth_db peak to peak). */
void nerve_noise_modulate (NerveRng *rng, int rate, float depth_db, float *x, gsize n);

/* The urban-like types' generators (denoise-noise-urban.c; nerve_noise_synth_talkers
 * dispatches to it). */
void nerve_noise_synth_urban (NerveNoiseType t, NerveRng *rng, int rate, const NerveClipSet *speech,
                              const int *talkers, int n_talkers, float *x, gsize n);

/* ---- noise augmentation (denoise-noise-urban.c) ---- */

/* A random equaliser: 1-3 RBJ biquads drawn from peaking (60 Hz-6 kHz, +-12 dB), low
 * shelf, high shelf (+-12 dB), low-pass (1-6 kHz), high-pass (50-500 Hz) and band-pass
 * (200 Hz-4 kHz); x has unit RMS afterwards. */
void nerve_noise_random_eq (NerveRng *rng, int rate, float *x, gsize n);
/* x[i] = src at position off + i speed (cubic interpolation, looping over len), i.e.
 * the clip played speed times faster (pitch up as much); reversed when reverse. */
void nerve_noise_resample_crop (const float *src, gsize len, double off, double speed, gboolean reverse, float *x,
                                gsize n);

/* ---- mixing ----
 * Clips are picked with probability proportional to weight * min(length, 4 s). */

typedef struct {
  float snr_min, snr_max;     /* dB, uniform; speech power over noise power where the speech lies */
  float level_min, level_max; /* dBFS RMS of the mixture, uniform */
  float loud_prob, loud_max;  /* sometimes a level up to loud_max dBFS instead */
  float synth_prob;           /* noise is synthetic (else a noise clip) */
  float second_noise_prob;    /* a second noise source is added, 0-10 dB below the first */
  float modulate_prob;        /* slow amplitude modulation of the noise */
  float noise_only_prob;      /* no speech at all (target silence) */
  float rir_prob;             /* the speech is reverberated */
  float rir_early_ms;         /* target: speech through the first ms of the RIR after its
                               * direct path (early reflections); <= 0: the whole RIR */
  /* noise augmentation (all off by default; each draws from the generator only when on,
   * so a config without it mixes exactly as before) */
  float eq_prob;              /* a noise source (clip or synthetic) gets nerve_noise_random_eq */
  float speed_prob, speed_max; /* a noise clip plays at a speed in [1/speed_max, speed_max] (log-uniform) */
  float reverse_prob;         /* a noise clip plays backwards */
  float noise_mix_prob;       /* a noise clip is summed with a second clip at -6..+6 dB */
  int n_synth_types;          /* synthetic types are drawn uniformly from synth_types[0..n) (a type
                               * listed twice is drawn twice as often); 0 = the classic seven */
  NerveNoiseType synth_types[32];
} NerveMixConfig;

void nerve_mix_config_defaults (NerveMixConfig *c);

typedef struct {
  int speech;           /* clip index, -1 = none */
  int noise;            /* noise clip index, -1 = synthetic */
  NerveNoiseType synth; /* when noise == -1 */
  int rir;              /* -1 = dry */
  float snr_db, level_db, gain; /* gain: mixture scale applied to both */
  gsize speech_start, speech_len; /* where the speech lies in the segment */
} NerveMixInfo;

typedef struct _NerveMixer NerveMixer;

/* speech must have clips; noise and rir may be NULL or empty (synthetic noise only,
 * no reverberation). The sets must outlive the mixer. */
NerveMixer *nerve_mixer_new (const NerveMixConfig *c, int rate, const NerveClipSet *speech,
                             const NerveClipSet *noise, const NerveClipSet *rir, GError **error);
void nerve_mixer_free (NerveMixer *m);
/* Crowd noise draws its talkers from these speech clips only (indices into the mixer's
 * speech set, copied; NULL or n = 0: all clips). */
void nerve_mixer_set_babble_clips (NerveMixer *m, const int *clips, int n);
/* One example of n samples: clean target and noisy input, everything drawn from rng.
 * Neither is ever clipped (peaks stay below 0.99). info may be NULL. */
void nerve_mixer_draw (NerveMixer *m, NerveRng *rng, gsize n, float *clean, float *noisy, NerveMixInfo *info);

/* n mixtures of len samples each, drawn in order from one generator seeded by seed. */
typedef struct {
  int n;
  gsize len;
  float *clean, *noisy; /* [n * len] */
} NerveMixSet;

NerveMixSet *nerve_mix_set_new (NerveMixer *m, int n, gsize len, guint64 seed);
void nerve_mix_set_free (NerveMixSet *s);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveClipSet, nerve_clip_set_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveMixer, nerve_mixer_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveMixSet, nerve_mix_set_free)

G_END_DECLS

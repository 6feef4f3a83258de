/* Denoise training data: file lists with the held-out rule, clips in memory, and the
 * on-the-fly mixer (speech [+ reverberation] + noise at a drawn SNR and level). */
#include "denoise-data.h"

#include <fnmatch.h>
#include <math.h>
#include <string.h>

#include "audiofile.h"
#include "error.h"
#include "fft.h"

/* ---- held-out rule and file lists ---- */

char **
nerve_heldout_load (const char *path, GError **error)
{
  g_autofree char *text = NULL;
  g_autoptr (GError) e = NULL;
  if (!g_file_get_contents (path, &text, NULL, &e)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "held-out list %s: %s", path, e->message);
    return NULL;
  }
  GPtrArray *globs = g_ptr_array_new ();
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  for (int i = 0; lines[i]; i++) {
    char *l = g_strstrip (lines[i]);
    if (*l && *l != '#')
      g_ptr_array_add (globs, g_strdup (l));
  }
  g_ptr_array_add (globs, NULL);
  return (char **) g_ptr_array_free (globs, FALSE);
}

gboolean
nerve_heldout_match (const char *const *globs, const char *path)
{
  if (!globs || !path)
    return FALSE;
  g_autofree char *abs = g_canonicalize_filename (path, NULL);
  for (int i = 0; globs[i]; i++) {
    const char *g = globs[i];
    g_autofree char *tail = *g == '/' || *g == '*' ? NULL : g_strconcat ("*/", g, NULL);
    if (fnmatch (tail ? tail : g, abs, 0) == 0)
      return TRUE;
  }
  return FALSE;
}

static gboolean
is_audio_name (const char *name)
{
  static const char *const ext[] = { ".wav", ".flac", ".ogg", ".oga", ".aif", ".aiff", ".au", ".caf", ".w64", ".opus" };
  g_autofree char *lower = g_ascii_strdown (name, -1);
  for (gsize i = 0; i < G_N_ELEMENTS (ext); i++)
    if (g_str_has_suffix (lower, ext[i]))
      return TRUE;
  return FALSE;
}

static void
walk (const char *dir, GPtrArray *out, int depth)
{
  if (depth > 32)
    return;
  g_autoptr (GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name (d))) {
    char *p = g_build_filename (dir, name, NULL);
    if (g_file_test (p, G_FILE_TEST_IS_DIR) && !g_file_test (p, G_FILE_TEST_IS_SYMLINK)) {
      walk (p, out, depth + 1);
      g_free (p);
    } else if (is_audio_name (name) && g_file_test (p, G_FILE_TEST_IS_REGULAR)) {
      g_ptr_array_add (out, p);
    } else {
      g_free (p);
    }
  }
}

static int
compare_str (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

GPtrArray *
nerve_audio_list_files (const char *const *specs, const char *base_dir, const char *const *heldout,
                        const char *const *exclude, int *n_dropped, GError **error)
{
  g_autoptr (GPtrArray) found = g_ptr_array_new_with_free_func (g_free);
  for (int s = 0; specs && specs[s]; s++) {
    g_autofree char *abs = g_canonicalize_filename (specs[s], base_dir);
    guint before = found->len;
    if (g_file_test (abs, G_FILE_TEST_IS_DIR)) {
      walk (abs, found, 0);
    } else if (g_file_test (abs, G_FILE_TEST_IS_REGULAR)) {
      g_ptr_array_add (found, g_strdup (abs));
    } else {
      g_autofree char *dir = g_path_get_dirname (abs), *pat = g_path_get_basename (abs);
      g_autoptr (GDir) d = strpbrk (pat, "*?[") ? g_dir_open (dir, 0, NULL) : NULL;
      const char *name;
      while (d && (name = g_dir_read_name (d)))
        if (fnmatch (pat, name, FNM_PERIOD) == 0 && is_audio_name (name)) {
          char *p = g_build_filename (dir, name, NULL);
          if (g_file_test (p, G_FILE_TEST_IS_REGULAR))
            g_ptr_array_add (found, p);
          else
            g_free (p);
        }
    }
    if (found->len == before) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: no audio files there (missing folder or a glob that "
                   "matches nothing)", abs);
      return NULL;
    }
  }
  g_ptr_array_sort (found, compare_str);
  GPtrArray *out = g_ptr_array_new_with_free_func (g_free);
  int dropped = 0;
  for (guint i = 0; i < found->len; i++) {
    const char *p = found->pdata[i];
    if (i > 0 && g_str_equal (p, found->pdata[i - 1]))
      continue;
    if (nerve_heldout_match (heldout, p) || nerve_heldout_match (exclude, p))
      dropped++;
    else
      g_ptr_array_add (out, g_strdup (p));
  }
  if (n_dropped)
    *n_dropped = dropped;
  return out;
}

/* ---- clip sets ---- */

NerveClipSet *
nerve_clip_set_new (int rate)
{
  NerveClipSet *s = g_new0 (NerveClipSet, 1);
  s->rate = rate;
  return s;
}

void
nerve_clip_set_add (NerveClipSet *s, const char *name, float *x, gsize len, float weight)
{
  s->x = g_renew (float *, s->x, s->n + 1);
  s->len = g_renew (gsize, s->len, s->n + 1);
  s->weight = g_renew (float, s->weight, s->n + 1);
  s->paths = g_renew (char *, s->paths, s->n + 2);
  s->x[s->n] = x;
  s->len[s->n] = len;
  s->weight[s->n] = weight;
  s->paths[s->n] = g_strdup (name);
  s->paths[s->n + 1] = NULL;
  s->n++;
  s->seconds += (double) len / s->rate;
}

void
nerve_clip_set_free (NerveClipSet *s)
{
  if (!s)
    return;
  for (int i = 0; i < s->n; i++)
    g_free (s->x[i]);
  g_free (s->x);
  g_free (s->len);
  g_free (s->weight);
  g_strfreev (s->paths);
  g_free (s);
}

void
nerve_clip_set_append (NerveClipSet *s, NerveClipSet *src)
{
  for (int i = 0; i < src->n; i++)
    nerve_clip_set_add (s, src->paths[i], src->x[i], src->len[i], src->weight[i]);
  src->n = 0; /* the samples moved */
  nerve_clip_set_free (src);
}

NerveClipSet *
nerve_clip_set_load (GPtrArray *paths, int rate, gsize min_samples, int *n_skipped, GError **error)
{
  g_autoptr (NerveClipSet) s = nerve_clip_set_new (rate);
  int skipped = 0;
  for (guint i = 0; i < paths->len; i++) {
    gsize n = 0;
    float *x = nerve_audio_read_at (paths->pdata[i], rate, &n, error);
    if (!x)
      return NULL;
    float peak = 0;
    for (gsize k = 0; k < n; k++)
      peak = MAX (peak, fabsf (x[k]));
    if (n < MAX (min_samples, 1) || !(peak > 1e-5f) || !isfinite (peak)) {
      skipped++;
      g_free (x);
      continue;
    }
    nerve_clip_set_add (s, paths->pdata[i], x, n, 1);
  }
  if (n_skipped)
    *n_skipped = skipped;
  return g_steal_pointer (&s);
}

static guint32
fnv1a (const char *s)
{
  guint32 h = 2166136261u;
  for (; *s; s++)
    h = (h ^ (guint8) *s) * 16777619u;
  return h;
}

static double
name_fraction (const char *path)
{
  g_autofree char *base = g_path_get_basename (path);
  return (double) (fnv1a (base) % 1000003u) / 1000003.0;
}

NerveClipSet *
nerve_clip_set_split (NerveClipSet *s, double fraction)
{
  NerveClipSet *v = nerve_clip_set_new (s->rate);
  if (fraction <= 0 || s->n < 2)
    return v;
  gboolean *move = g_new0 (gboolean, s->n);
  int moved = 0, lowest = 0;
  for (int i = 0; i < s->n; i++) {
    double f = name_fraction (s->paths[i]);
    move[i] = f < fraction;
    moved += move[i];
    if (f < name_fraction (s->paths[lowest]))
      lowest = i;
  }
  if (moved == 0) /* a small set still gets one validation clip */
    move[lowest] = TRUE, moved = 1;
  if (moved == s->n) /* and keeps one to train on */
    move[lowest] = FALSE;
  int k = 0;
  double seconds = 0;
  for (int i = 0; i < s->n; i++) {
    if (move[i]) {
      nerve_clip_set_add (v, s->paths[i], s->x[i], s->len[i], s->weight[i]);
      g_free (s->paths[i]);
      continue;
    }
    s->x[k] = s->x[i];
    s->len[k] = s->len[i];
    s->weight[k] = s->weight[i];
    s->paths[k] = s->paths[i];
    seconds += (double) s->len[i] / s->rate;
    k++;
  }
  s->n = k;
  s->paths[k] = NULL;
  s->seconds = seconds;
  g_free (move);
  return v;
}

/* ---- mixing ---- */

void
nerve_mix_config_defaults (NerveMixConfig *c)
{
  *c = (NerveMixConfig) {
    .snr_min = -5, .snr_max = 20, .level_min = -35, .level_max = -15, .loud_prob = 0.05f, .loud_max = -6,
    .synth_prob = 0.4f, .second_noise_prob = 0.25f, .modulate_prob = 0.3f, .noise_only_prob = 0.03f,
    .rir_prob = 0.2f, .rir_early_ms = 50, .speed_max = 1.25f,
  };
}

struct _NerveMixer {
  NerveMixConfig c;
  int rate;
  const NerveClipSet *speech, *noise;
  double *speech_cum, *noise_cum; /* cumulative pick weights */
  int n_rir;
  float **rir, **rir_early; /* direct path first, unit energy */
  gsize *rir_len, *rir_early_len;
  gsize cap;                /* scratch size */
  float *s, *rev, *nz, *nz2, *nz3;
  int *babble, n_babble;    /* crowd talkers (NULL = all speech clips) */
  int fft_n;
  NerveFft *fft;
  float *fa, *fb, *fc, *tbuf; /* spectra [fft_n + 2], time [fft_n] */
};

/* A clip's pick weight: its weight times its length up to 4 s, so long files are not
 * drawn far more often than a segment can use and short ones are not drowned. */
static double *
cumulative (const NerveClipSet *s)
{
  if (!s || s->n == 0)
    return NULL;
  double *c = g_new (double, s->n), acc = 0;
  for (int i = 0; i < s->n; i++)
    c[i] = acc += (double) s->weight[i] * (double) MIN (s->len[i], (gsize) 4 * s->rate);
  return c;
}

static int
pick (const double *cum, int n, NerveRng *r)
{
  double u = nerve_rng_uniform (r) * cum[n - 1];
  int lo = 0, hi = n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (cum[mid] > u)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

/* RIR with its direct path (the largest peak) at sample 0 and unit energy; the early
 * part is the same up to early_ms after it. */
static void
prepare_rir (NerveMixer *m, const float *h, gsize n, int i)
{
  gsize peak = 0;
  for (gsize k = 1; k < n; k++)
    if (fabsf (h[k]) > fabsf (h[peak]))
      peak = k;
  gsize len = n - peak;
  double e = 0;
  for (gsize k = 0; k < len; k++)
    e += (double) h[peak + k] * h[peak + k];
  float g = e > 0 ? (float) (1 / sqrt (e)) : 1;
  m->rir[i] = g_new (float, len);
  for (gsize k = 0; k < len; k++)
    m->rir[i][k] = g * h[peak + k];
  m->rir_len[i] = len;
  m->rir_early_len[i] = m->c.rir_early_ms > 0 ? MIN (len, (gsize) (m->c.rir_early_ms * 1e-3f * m->rate) + 1) : len;
  m->rir_early[i] = g_memdup2 (m->rir[i], m->rir_early_len[i] * sizeof (float));
}

NerveMixer *
nerve_mixer_new (const NerveMixConfig *c, int rate, const NerveClipSet *speech, const NerveClipSet *noise,
                 const NerveClipSet *rir, GError **error)
{
  if (!speech || speech->n == 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "the mixer needs clean speech clips");
    return NULL;
  }
  if (!(c->snr_min <= c->snr_max) || !(c->level_min <= c->level_max) || c->level_max > 0 || rate < 1000) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "mixing: snr_min must be <= snr_max and level_min <= level_max <= 0 dBFS");
    return NULL;
  }
  NerveMixer *m = g_new0 (NerveMixer, 1);
  m->c = *c;
  m->rate = rate;
  m->speech = speech;
  m->noise = noise && noise->n ? noise : NULL;
  m->speech_cum = cumulative (speech);
  m->noise_cum = cumulative (m->noise);
  m->n_rir = rir ? rir->n : 0;
  m->rir = g_new0 (float *, m->n_rir);
  m->rir_early = g_new0 (float *, m->n_rir);
  m->rir_len = g_new0 (gsize, m->n_rir);
  m->rir_early_len = g_new0 (gsize, m->n_rir);
  for (int i = 0; i < m->n_rir; i++)
    prepare_rir (m, rir->x[i], rir->len[i], i);
  return m;
}

void
nerve_mixer_free (NerveMixer *m)
{
  if (!m)
    return;
  for (int i = 0; i < m->n_rir; i++) {
    g_free (m->rir[i]);
    g_free (m->rir_early[i]);
  }
  g_free (m->rir);
  g_free (m->rir_early);
  g_free (m->rir_len);
  g_free (m->rir_early_len);
  g_free (m->speech_cum);
  g_free (m->noise_cum);
  g_free (m->s);
  g_free (m->rev);
  g_free (m->nz);
  g_free (m->nz2);
  g_free (m->nz3);
  g_free (m->babble);
  nerve_fft_free (m->fft);
  g_free (m->fa);
  g_free (m->fb);
  g_free (m->fc);
  g_free (m->tbuf);
  g_free (m);
}

static void
reserve (NerveMixer *m, gsize n)
{
  if (n <= m->cap)
    return;
  m->cap = n;
  m->s = g_renew (float, m->s, n);
  m->rev = g_renew (float, m->rev, n);
  m->nz = g_renew (float, m->nz, n);
  m->nz2 = g_renew (float, m->nz2, n);
  m->nz3 = g_renew (float, m->nz3, n);
}

void
nerve_mixer_set_babble_clips (NerveMixer *m, const int *clips, int n)
{
  g_clear_pointer (&m->babble, g_free);
  m->n_babble = 0;
  for (int i = 0; clips && i < n; i++)
    g_return_if_fail (clips[i] >= 0 && clips[i] < m->speech->n);
  if (clips && n > 0) {
    m->babble = g_memdup2 (clips, sizeof (int) * (gsize) n);
    m->n_babble = n;
  }
}

/* y[0..n) = (x * h)[0..n), causal, by FFT. */
static void
convolve (NerveMixer *m, const float *x, gsize n, const float *h, gsize hn, float *y)
{
  int N = 2;
  while ((gsize) N < n + hn)
    N *= 2;
  if (N != m->fft_n) {
    nerve_fft_free (m->fft);
    m->fft = nerve_fft_new (N, NULL);
    m->fft_n = N;
    m->fa = g_renew (float, m->fa, N + 2);
    m->fb = g_renew (float, m->fb, N + 2);
    m->fc = g_renew (float, m->fc, N + 2);
    m->tbuf = g_renew (float, m->tbuf, N);
  }
  memset (m->tbuf, 0, N * sizeof (float));
  memcpy (m->tbuf, x, n * sizeof (float));
  nerve_fft_forward (m->fft, m->tbuf, m->fa);
  memset (m->tbuf, 0, N * sizeof (float));
  memcpy (m->tbuf, h, hn * sizeof (float));
  nerve_fft_forward (m->fft, m->tbuf, m->fb);
  for (int k = 0; k <= N / 2; k++) {
    float ar = m->fa[2 * k], ai = m->fa[2 * k + 1], br = m->fb[2 * k], bi = m->fb[2 * k + 1];
    m->fc[2 * k] = ar * br - ai * bi;
    m->fc[2 * k + 1] = ar * bi + ai * br;
  }
  nerve_fft_inverse (m->fft, m->fc, m->tbuf);
  memcpy (y, m->tbuf, n * sizeof (float));
}

static double
power (const float *x, gsize n)
{
  double e = 0;
  for (gsize i = 0; i < n; i++)
    e += (double) x[i] * x[i];
  return n ? e / (double) n : 0;
}

static void
scale (float *x, gsize n, float g)
{
  for (gsize i = 0; i < n; i++)
    x[i] *= g;
}

static float
uniform_in (NerveRng *r, float lo, float hi)
{
  return lo + (hi - lo) * nerve_rng_uniform (r);
}

/* A random crop of noise clip `clip` into x[n] at unit RMS (looped when short), played
 * faster or slower and/or backwards when those augmentations are on (they draw from r
 * only then). FALSE when the crop is silent. */
static gboolean
read_clip (NerveMixer *m, NerveRng *r, int clip, gsize n, float *x)
{
  const float *src = m->noise->x[clip];
  gsize len = m->noise->len[clip];
  double speed = 1;
  if (m->c.speed_prob > 0 && nerve_rng_uniform (r) < m->c.speed_prob && m->c.speed_max > 1)
    speed = exp (uniform_in (r, -logf (m->c.speed_max), logf (m->c.speed_max)));
  gboolean reverse = m->c.reverse_prob > 0 && nerve_rng_uniform (r) < m->c.reverse_prob;
  gsize need = (gsize) ceil ((double) n * speed);
  gsize off = len > need ? nerve_rng_below (r, (guint32) MIN (len - need + 1, G_MAXUINT32))
                         : nerve_rng_below (r, (guint32) MIN (len, G_MAXUINT32));
  if (speed == 1 && !reverse) {
    for (gsize i = 0; i < n; i++)
      x[i] = src[(off + i) % len];
  } else {
    nerve_noise_resample_crop (src, len, (double) off, speed, reverse, x, n);
  }
  double p = power (x, n);
  if (p < 1e-12)
    return FALSE;
  scale (x, n, (float) (1 / sqrt (p)));
  return TRUE;
}

/* One noise source at unit RMS into x: a clip (random crop, looped when short; maybe
 * summed with a second clip) or a synthetic type; maybe equalised. A crop that is silent
 * falls back to pink noise. */
static void
draw_one_noise (NerveMixer *m, NerveRng *r, gsize n, float *x, NerveMixInfo *info)
{
  gboolean synth = !m->noise || nerve_rng_uniform (r) < m->c.synth_prob;
  NerveNoiseType type = m->c.n_synth_types > 0
                          ? m->c.synth_types[nerve_rng_below (r, (guint32) MIN (m->c.n_synth_types, 32))]
                          : (NerveNoiseType) nerve_rng_below (r, NERVE_NOISE_N_CLASSIC);
  int clip = -1;
  if (!synth) {
    clip = pick (m->noise_cum, m->noise->n, r);
    if (!read_clip (m, r, clip, n, x)) {
      clip = -1;
      type = NERVE_NOISE_PINK;
      synth = TRUE;
    } else if (m->c.noise_mix_prob > 0 && nerve_rng_uniform (r) < m->c.noise_mix_prob) {
      int other = pick (m->noise_cum, m->noise->n, r);
      if (read_clip (m, r, other, n, m->nz3)) {
        float g = powf (10.0f, uniform_in (r, -6, 6) / 20);
        for (gsize i = 0; i < n; i++)
          x[i] += g * m->nz3[i];
        double p = power (x, n);
        if (p > 1e-12)
          scale (x, n, (float) (1 / sqrt (p)));
      }
    }
  }
  if (synth)
    nerve_noise_synth_talkers (type, r, m->rate, m->speech, m->babble, m->n_babble, x, n);
  if (m->c.eq_prob > 0 && nerve_rng_uniform (r) < m->c.eq_prob)
    nerve_noise_random_eq (r, m->rate, x, n);
  if (info) {
    info->noise = clip;
    info->synth = type;
  }
}

void
nerve_mixer_draw (NerveMixer *m, NerveRng *r, gsize n, float *clean, float *noisy, NerveMixInfo *info)
{
  NerveMixInfo inf = { .speech = -1, .noise = -1, .rir = -1, .snr_db = NAN };
  reserve (m, n);
  /* speech: a random crop, or a short clip at a random place in silence */
  memset (m->s, 0, n * sizeof (float));
  if (nerve_rng_uniform (r) >= m->c.noise_only_prob) {
    int c = pick (m->speech_cum, m->speech->n, r);
    const float *src = m->speech->x[c];
    gsize len = m->speech->len[c];
    inf.speech = c;
    if (len >= n) {
      gsize off = nerve_rng_below (r, (guint32) MIN (len - n + 1, G_MAXUINT32));
      memcpy (m->s, src + off, n * sizeof (float));
      inf.speech_start = 0, inf.speech_len = n;
    } else {
      gsize at = nerve_rng_below (r, (guint32) (n - len + 1));
      memcpy (m->s + at, src, len * sizeof (float));
      inf.speech_start = at, inf.speech_len = len;
    }
  }
  /* reverberation: the mixture gets the whole RIR, the target its early part */
  if (inf.speech >= 0 && m->n_rir > 0 && nerve_rng_uniform (r) < m->c.rir_prob) {
    int k = (int) nerve_rng_below (r, (guint32) m->n_rir);
    inf.rir = k;
    convolve (m, m->s, n, m->rir[k], m->rir_len[k], m->rev);
    convolve (m, m->s, n, m->rir_early[k], m->rir_early_len[k], clean);
    /* the tail rings on after a short clip: count it as where the speech lies */
    inf.speech_len = n - inf.speech_start;
  } else {
    memcpy (m->rev, m->s, n * sizeof (float));
    memcpy (clean, m->s, n * sizeof (float));
  }
  /* noise */
  draw_one_noise (m, r, n, m->nz, &inf);
  if (nerve_rng_uniform (r) < m->c.second_noise_prob) {
    draw_one_noise (m, r, n, m->nz2, NULL);
    float g = powf (10.0f, -10 * nerve_rng_uniform (r) / 20);
    for (gsize i = 0; i < n; i++)
      m->nz[i] += g * m->nz2[i];
  }
  if (nerve_rng_uniform (r) < m->c.modulate_prob)
    nerve_noise_modulate (r, m->rate, 3 + 9 * nerve_rng_uniform (r), m->nz, n);
  /* SNR where the speech lies */
  double ps = inf.speech >= 0 ? power (m->rev + inf.speech_start, inf.speech_len) : 0;
  double pn = power (m->nz + inf.speech_start, inf.speech_len ? inf.speech_len : n);
  float snr = m->c.snr_min + (m->c.snr_max - m->c.snr_min) * nerve_rng_uniform (r);
  if (ps > 1e-20 && pn > 1e-20) {
    float g = (float) sqrt (ps / (pn * pow (10, snr / 10)));
    for (gsize i = 0; i < n; i++)
      noisy[i] = m->rev[i] + g * m->nz[i];
    inf.snr_db = snr;
  } else { /* no speech: noise alone, target silence */
    memcpy (noisy, m->nz, n * sizeof (float));
    memset (clean, 0, n * sizeof (float));
    inf.speech = -1;
  }
  /* level, never clipping */
  gboolean loud = nerve_rng_uniform (r) < m->c.loud_prob;
  float level = loud ? m->c.level_max + (m->c.loud_max - m->c.level_max) * nerve_rng_uniform (r)
                     : m->c.level_min + (m->c.level_max - m->c.level_min) * nerve_rng_uniform (r);
  double p = power (noisy, n);
  float g = p > 0 ? (float) (pow (10, level / 20) / sqrt (p)) : 1;
  float peak = 0;
  for (gsize i = 0; i < n; i++)
    peak = MAX (peak, MAX (fabsf (noisy[i]), fabsf (clean[i])));
  if (peak * g > 0.99f)
    g = 0.99f / peak;
  scale (noisy, n, g);
  scale (clean, n, g);
  inf.gain = g;
  inf.level_db = p > 0 ? (float) (10 * log10 (p) + 20 * log10 (g)) : -INFINITY;
  if (info)
    *info = inf;
}

NerveMixSet *
nerve_mix_set_new (NerveMixer *m, int n, gsize len, guint64 seed)
{
  NerveMixSet *s = g_new0 (NerveMixSet, 1);
  s->n = n;
  s->len = len;
  s->clean = g_new (float, MAX ((gsize) n * len, 1));
  s->noisy = g_new (float, MAX ((gsize) n * len, 1));
  NerveRng r;
  nerve_rng_seed (&r, seed);
  for (int i = 0; i < n; i++)
    nerve_mixer_draw (m, &r, len, s->clean + (gsize) i * len, s->noisy + (gsize) i * len, NULL);
  return s;
}

void
nerve_mix_set_free (NerveMixSet *s)
{
  if (!s)
    return;
  g_free (s->clean);
  g_free (s->noisy);
  g_free (s);
}

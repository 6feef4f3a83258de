/* The "mask" denoiser's training loop (denoise-train.h). */
#include "denoise-train.h"

#include <math.h>
#include <string.h>

#include "audio-metrics.h"
#include "clip.h"
#include "denoise-private.h"
#include "denoise.h"
#include "early-stop.h"
#include "modelfile.h"
#include "optim.h"

void
nerve_denoise_train_config_defaults (NerveDenoiseTrainConfig *c)
{
  memset (c, 0, sizeof *c);
  c->rate = 16000;
  c->stft_size = 512;
  c->stft_hop = 128;
  c->window = NERVE_WINDOW_SQRT_HANN;
  nerve_mix_config_defaults (&c->mix);
  c->segment_s = 2;
  c->val_mixtures = 64;
  c->val_seconds = 4;
  c->val_seed = 20240501;
  c->val_fraction = 0.05;
  c->compress = 0.3f;
  c->complex_weight = 0.3f;
  c->spectral_weight = 1;
  c->vad_weight = 0.05f;
  c->vad_threshold_db = 30;
  c->steps_per_epoch = 500;
  c->log_every = 20;
}

void
nerve_denoise_recipe_free (NerveDenoiseRecipe *r)
{
  if (!r)
    return;
  g_strfreev (r->speech);
  g_strfreev (r->noise);
  g_strfreev (r->rir);
  g_strfreev (r->exclude);
  g_strfreev (r->licenses);
  g_free (r->speech_weights);
  g_free (r->noise_weights);
  g_free (r->tts);
  g_free (r->heldout);
  g_free (r);
}

/* ---- model checks and metadata ---- */

static int
bins_of (const NerveDenoiseTrainConfig *c)
{
  return c->stft_size / 2 + 1;
}

static int
segment_frames (const NerveDenoiseTrainConfig *c)
{
  return MAX (1, (int) lround ((double) c->segment_s * c->rate / c->stft_hop));
}

gboolean
nerve_denoise_check_model (NerveModel *m, const NerveDenoiseTrainConfig *c, GError **error)
{
  const NerveShape *in = &m->input_shape, *out = nerve_model_output_shape (m);
  int K = bins_of (c), T = segment_frames (c);
  char a[64], b[64];
  if (in->ndim != 2 || in->dim[1] != K) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "a mask network's input is [frames, %d] (STFT size %d gives %d bins), this one's is %s", K,
                 c->stft_size, K, nerve_shape_format (in, a, sizeof a));
    return FALSE;
  }
  if (out->ndim != 2 || out->dim[0] != in->dim[0] || (out->dim[1] != K && out->dim[1] != K + 1)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "a mask network's output is [frames, %d] gains (+1 voice probability), this one's is %s "
                 "for input %s", K, nerve_shape_format (out, a, sizeof a), nerve_shape_format (in, b, sizeof b));
    return FALSE;
  }
  if (in->dim[0] < T) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "training segments of %g s are %d frames but the network's input holds %d: raise the "
                 "architecture's input frames or shorten [mix] segment", (double) c->segment_s, T, in->dim[0]);
    return FALSE;
  }
  return TRUE;
}

static void
set_int (NerveModel *m, const char *key, int v)
{
  g_autofree char *s = g_strdup_printf ("%d", v);
  nerve_model_set_meta (m, key, s);
}

void
nerve_denoise_set_meta (NerveModel *m, const NerveDenoiseTrainConfig *c)
{
  nerve_model_set_meta (m, "nerve.task", "denoise");
  nerve_model_set_meta (m, "nerve.denoise.frontend", "mask");
  set_int (m, "nerve.audio.rate", c->rate);
  set_int (m, "nerve.stft.size", c->stft_size);
  set_int (m, "nerve.stft.hop", c->stft_hop);
  nerve_model_set_meta (m, "nerve.stft.window", nerve_window_name (c->window));
  const NerveShape *out = nerve_model_output_shape (m);
  nerve_model_set_meta (m, "nerve.denoise.vad", out->dim[out->ndim - 1] == bins_of (c) + 1 ? "1" : "0");
}

static gboolean
meta_int (NerveModel *m, const char *key, int min, int max, int *v, GError **error)
{
  const char *s = nerve_model_get_meta (m, key);
  char *end = NULL;
  gint64 x = s ? g_ascii_strtoll (s, &end, 10) : 0;
  if (!s || !*s || *end || x < min || x > max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "model metadata %s is %s, expected an integer in [%d, %d]",
                 key, s ? s : "missing", min, max);
    return FALSE;
  }
  *v = (int) x;
  return TRUE;
}

gboolean
nerve_denoise_config_from_model (NerveModel *m, NerveDenoiseTrainConfig *c, GError **error)
{
  const char *task = nerve_model_get_meta (m, "nerve.task"), *fe = nerve_model_get_meta (m, "nerve.denoise.frontend");
  if (g_strcmp0 (task, "denoise") != 0 || g_strcmp0 (fe, "mask") != 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_UNSUPPORTED,
                 "only Nerve's own \"mask\" denoise models can be trained (this one: task %s, front end %s)",
                 task ? task : "unset", fe ? fe : "unset");
    return FALSE;
  }
  const char *w = nerve_model_get_meta (m, "nerve.stft.window");
  return meta_int (m, "nerve.audio.rate", 1000, 384000, &c->rate, error) &&
         meta_int (m, "nerve.stft.size", 2, 1 << 16, &c->stft_size, error) &&
         meta_int (m, "nerve.stft.hop", 1, 1 << 16, &c->stft_hop, error) &&
         nerve_window_from_name (w ? w : "", &c->window, error);
}

/* ---- frames, targets, input normalisation ---- */

void
nerve_denoise_frames (NerveStft *s, const float *x, int frames, float *spec, float *feat)
{
  int hop = nerve_stft_hop (s), K = nerve_stft_bins (s);
  nerve_stft_reset (s);
  for (int t = 0; t < frames; t++) {
    float *sp = spec + (gsize) t * 2 * K;
    nerve_stft_analyze (s, x + (gsize) t * hop, sp);
    if (feat)
      nerve_denoise_mask_features (sp, K, feat + (gsize) t * K);
  }
}

void
nerve_denoise_vad_targets (const float *clean_spec, int frames, int bins, float threshold_db, float *vad)
{
  double mean = 0;
  for (int t = 0; t < frames; t++) {
    double e = 0;
    const float *s = clean_spec + (gsize) t * 2 * bins;
    for (int k = 0; k < 2 * bins; k++)
      e += (double) s[k] * s[k];
    vad[t] = (float) e;
    mean += e;
  }
  mean /= MAX (frames, 1);
  double thr = mean * pow (10, -threshold_db / 10);
  for (int t = 0; t < frames; t++)
    vad[t] = mean > 1e-20 && vad[t] > thr ? 1.0f : 0.0f;
}

void
nerve_denoise_synthesis_window (NerveWindowType type, int size, int hop, float *w)
{
  /* as nerve_stft_new: C = the mean over the hop's phases of sum_j w[j]^2 */
  nerve_window_fill (type, w, size);
  double C = 0;
  for (int i = 0; i < hop; i++)
    for (int j = i; j < size; j += hop)
      C += (double) w[j] * w[j] / hop;
  for (int i = 0; i < size; i++)
    w[i] = (float) (w[i] / C);
}

/* A batch of B mixtures framed for the network: spec_n/spec_c [B, T, 2K], feat
 * [B, T, K] (T = the network's frames; rows past `frames` stay zero), vad [B, T];
 * for the time-domain loss a synthesis window, an FFT plan and scratch. */
typedef struct {
  int B, T, K, frames;
  gsize seg;
  float *clean, *noisy, *spec_n, *spec_c, *feat, *vad;
  int *lengths;
  NerveStft *stft;
  NerveFft *fft;
  float *window, *wave_work;
} Batch;

static gboolean
batch_init (Batch *b, const NerveDenoiseTrainConfig *c, int B, int T, GError **error)
{
  memset (b, 0, sizeof *b);
  b->stft = nerve_stft_new (c->stft_size, c->stft_hop, c->window, c->window, error);
  if (!b->stft)
    return FALSE;
  b->B = B, b->T = T, b->K = bins_of (c), b->frames = MIN (segment_frames (c), T);
  b->seg = (gsize) b->frames * c->stft_hop;
  b->clean = g_new (float, (gsize) B * b->seg);
  b->noisy = g_new (float, (gsize) B * b->seg);
  b->spec_n = nerve_alloc_floats ((gsize) B * T * 2 * b->K);
  b->spec_c = nerve_alloc_floats ((gsize) B * T * 2 * b->K);
  b->feat = nerve_alloc_floats ((gsize) B * T * b->K);
  b->vad = nerve_alloc_floats ((gsize) B * T);
  b->lengths = g_new (int, B);
  for (int i = 0; i < B; i++)
    b->lengths[i] = b->frames;
  if (c->sisdr_weight > 0 || c->snr_weight > 0) {
    if (b->seg <= (gsize) (c->stft_size - c->stft_hop)) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "the time-domain loss needs training segments longer "
                   "than the STFT latency (%d samples)", c->stft_size - c->stft_hop);
      return FALSE;
    }
    if (!(b->fft = nerve_fft_new (c->stft_size, error)))
      return FALSE;
    b->window = g_new (float, c->stft_size);
    nerve_denoise_synthesis_window (c->window, c->stft_size, c->stft_hop, b->window);
    b->wave_work = g_new (float, nerve_mask_waveform_work_size (b->frames, c->stft_size, c->stft_hop));
  }
  return TRUE;
}

static void
batch_clear (Batch *b)
{
  nerve_stft_free (b->stft);
  g_free (b->clean);
  g_free (b->noisy);
  nerve_free_floats (b->spec_n);
  nerve_free_floats (b->spec_c);
  nerve_free_floats (b->feat);
  nerve_free_floats (b->vad);
  g_free (b->lengths);
  nerve_fft_free (b->fft);
  g_free (b->window);
  g_free (b->wave_work);
}

static void
batch_draw (Batch *b, const NerveDenoiseTrainConfig *c, NerveMixer *mix, NerveRng *rng)
{
  for (int i = 0; i < b->B; i++) {
    float *cl = b->clean + (gsize) i * b->seg, *no = b->noisy + (gsize) i * b->seg;
    nerve_mixer_draw (mix, rng, b->seg, cl, no, NULL);
    gsize row = (gsize) i * b->T;
    nerve_denoise_frames (b->stft, no, b->frames, b->spec_n + row * 2 * b->K, b->feat + row * b->K);
    nerve_denoise_frames (b->stft, cl, b->frames, b->spec_c + row * 2 * b->K, NULL);
    nerve_denoise_vad_targets (b->spec_c + row * 2 * b->K, b->frames, b->K, c->vad_threshold_db, b->vad + row);
  }
}

gboolean
nerve_denoise_fold_input_norm (NerveModel *m, const NerveDenoiseTrainConfig *c, NerveMixer *mix, int batches,
                               int batch, guint64 seed)
{
  NerveLayer *first = NULL;
  for (int i = 0; i < m->n_layers; i++)
    for (int k = 0; k < m->layers[i]->n_inputs; k++)
      if (m->layers[i]->inputs[k] == -1) {
        if (first)
          return FALSE; /* more than one layer reads the input */
        first = m->layers[i];
      }
  int K = bins_of (c);
  if (!first || !g_str_equal (first->klass->type, "dense") || first->n_params != 2 ||
      m->input_shape.ndim != 2 || m->input_shape.dim[1] != K)
    return FALSE;
  Batch b;
  NerveDenoiseTrainConfig plain = *c; /* no time-domain loss here */
  plain.sisdr_weight = plain.snr_weight = 0;
  if (!batch_init (&b, &plain, batch, m->input_shape.dim[0], NULL)) {
    batch_clear (&b);
    return FALSE;
  }
  double *sum = g_new0 (double, K), *sq = g_new0 (double, K);
  gsize count = 0;
  NerveRng rng;
  nerve_rng_seed (&rng, seed);
  for (int it = 0; it < batches; it++) {
    batch_draw (&b, c, mix, &rng);
    for (int i = 0; i < b.B; i++)
      for (int t = 0; t < b.frames; t++) {
        const float *f = b.feat + ((gsize) i * b.T + t) * K;
        for (int k = 0; k < K; k++) {
          sum[k] += f[k];
          sq[k] += (double) f[k] * f[k];
        }
        count++;
      }
  }
  float *W = first->params[0].data, *bias = first->params[1].data;
  int O = first->params[0].shape.dim[0];
  for (int o = 0; o < O; o++) {
    double shift = 0;
    for (int k = 0; k < K; k++) {
      double mu = sum[k] / (double) count, var = sq[k] / (double) count - mu * mu;
      W[(gsize) o * K + k] /= (float) sqrt (MAX (var, 1e-4));
      shift += (double) W[(gsize) o * K + k] * mu;
    }
    bias[o] -= (float) shift;
  }
  g_free (sum);
  g_free (sq);
  batch_clear (&b);
  return TRUE;
}

/* ---- validation ---- */

double
nerve_denoise_validate (NerveModel *m, const NerveMixSet *val, double *sisdr_in, GError **error)
{
  g_autoptr (NerveDenoiser) d = nerve_denoiser_new (m, error);
  if (!d)
    return NAN;
  float *out = g_new (float, MAX (val->len, 1));
  double gain = 0, in = 0;
  int counted = 0;
  for (int i = 0; i < val->n; i++) {
    const float *clean = val->clean + (gsize) i * val->len, *noisy = val->noisy + (gsize) i * val->len;
    double e = 0;
    for (gsize k = 0; k < val->len; k++)
      e += (double) clean[k] * clean[k];
    if (e <= 0)
      continue; /* SI-SDR needs a reference */
    nerve_denoise_signal (d, noisy, val->len, out, NULL);
    double a = nerve_si_sdr (out, clean, val->len), b = nerve_si_sdr (noisy, clean, val->len);
    gain += a - b;
    in += b;
    counted++;
  }
  g_free (out);
  if (sisdr_in)
    *sisdr_in = counted ? in / counted : NAN;
  return counted ? gain / counted : NAN;
}

/* ---- the loop ---- */

static gboolean
validate_epoch (NerveModel *m, const NerveMixSet *val, NerveDenoiseProgress *p, GError **error)
{
  p->val_sisdri = nerve_denoise_validate (m, val, &p->val_sisdr_in, error);
  return !isnan (p->val_sisdri) || !error || !*error;
}

gboolean
nerve_denoise_train (NerveModel *m, const NerveDenoiseTrainConfig *c, const NerveTrainConfig *tc, NerveMixer *mix,
                     const NerveMixSet *val, NerveDenoiseProgressFn progress, gpointer user_data, GError **error)
{
  if (tc->epochs < 1 || tc->batch < 1 || tc->batch > 4096 || c->steps_per_epoch < 1) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "epochs, steps_per_epoch must be >= 1 and batch in [1, 4096]");
    return FALSE;
  }
  if (!nerve_denoise_check_model (m, c, error))
    return FALSE;
  const int B = tc->batch, T = m->input_shape.dim[0], K = bins_of (c);
  const int D = nerve_model_output_shape (m)->dim[1];
  const gboolean has_vad = D == K + 1;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, B, NERVE_RUNNER_GRADS, error);
  if (!r)
    return FALSE;
  g_autoptr (NerveOptimizer) opt = nerve_optimizer_new (m, &tc->optim, error);
  if (!opt)
    return FALSE;
  NerveSchedule sched = tc->schedule;
  sched.total_steps = c->steps_per_epoch * tc->epochs;
  if (!nerve_schedule_check (&sched, error))
    return FALSE;
  NerveEarlyStop es;
  nerve_early_stop_init (&es, tc->patience > 0 ? tc->patience : G_MAXINT, TRUE, tc->min_delta);
  int first_epoch = 0;
  if (tc->resume && tc->checkpoint && g_file_test (tc->checkpoint, G_FILE_TEST_EXISTS)) {
    first_epoch = nerve_train_load_checkpoint (m, tc->checkpoint, &es, opt, error);
    if (first_epoch < 0)
      return FALSE;
  }
  Batch b;
  if (!batch_init (&b, c, B, T, error)) {
    batch_clear (&b);
    return FALSE;
  }
  gboolean ok = FALSE;
  float *best = nerve_alloc_floats (m->n_floats);
  float *dout = nerve_alloc_floats ((gsize) B * T * D);
  memcpy (best, m->arena, m->n_floats * sizeof (float));
  if (first_epoch > 0 && tc->out && g_file_test (tc->out, G_FILE_TEST_EXISTS)) {
    g_autoptr (NerveModel) bm = nerve_model_load (tc->out, NULL);
    if (bm && bm->n_floats == m->n_floats)
      memcpy (best, bm->arena, m->n_floats * sizeof (float));
  }
  g_autoptr (GTimer) timer = g_timer_new ();
  NerveDenoiseProgress p = { .epochs = tc->epochs, .steps = c->steps_per_epoch };
  if (tc->baseline_first && first_epoch == 0) {
    p.phase = NERVE_TRAIN_EPOCH_END;
    if (!validate_epoch (m, val, &p, error))
      goto out;
    nerve_early_stop_update (&es, (float) p.val_sisdri, 0, &p.improved);
    if (tc->out && !nerve_model_save (m, tc->out, error))
      goto out;
    p.loss = p.spec_loss = p.vad_loss = NAN;
    if (progress)
      progress (&p, user_data);
  }
  gint64 steps_total = (gint64) c->steps_per_epoch * (tc->epochs - first_epoch), steps_done = 0;
  for (int epoch = first_epoch; epoch < tc->epochs; epoch++) {
    double sum = 0, sum_spec = 0, sum_vad = 0, sum_wave = 0;
    p = (NerveDenoiseProgress) { .phase = NERVE_TRAIN_BATCH, .epoch = epoch + 1, .epochs = tc->epochs,
                                 .steps = c->steps_per_epoch };
    for (int s = 0; s < c->steps_per_epoch; s++) {
      gint64 step = (gint64) epoch * c->steps_per_epoch + s;
      NerveRng rng;
      nerve_rng_seed (&rng, tc->seed * 1000003u + (guint64) step);
      batch_draw (&b, c, mix, &rng);
      const float *out = nerve_runner_forward_seq (r, b.feat, b.lengths, B, TRUE, &rng);
      memset (dout, 0, (gsize) B * T * D * sizeof (float));
      float ls = 0, lw = 0;
      if (c->spectral_weight > 0)
        ls = nerve_spectral_mask_loss (dout, out, b.spec_n, b.spec_c, b.lengths, B, T, K, D, c->compress,
                                       c->complex_weight, c->spectral_weight);
      float loss = c->spectral_weight * ls;
      const NerveWaveLoss kinds[2] = { NERVE_WAVE_LOSS_SNR, NERVE_WAVE_LOSS_SISDR };
      const float weights[2] = { c->snr_weight, c->sisdr_weight };
      for (int w = 0; w < 2; w++)
        if (weights[w] > 0) {
          lw = nerve_mask_waveform_loss (dout, b.wave_work, out, b.spec_n, b.clean, b.window, b.fft, B, T, b.frames, K,
                                         D, c->stft_size, c->stft_hop, kinds[w], weights[w], NULL);
          loss += weights[w] * lw;
        }
      float lv = has_vad ? nerve_vad_bce_loss (dout, out, b.vad, b.lengths, B, T, D, K, c->vad_weight) : 0;
      loss += c->vad_weight * lv;
      if (!isfinite (loss)) {
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                     "training diverged: loss is %g at epoch %d step %d (lower the learning rate)", loss, epoch + 1,
                     s + 1);
        goto out;
      }
      nerve_model_zero_grads (m);
      nerve_runner_backward (r, dout);
      if (tc->clip_norm > 0 && !isfinite (nerve_clip_grad_norm (m, tc->clip_norm)))
        continue; /* a non-finite gradient: skip the step */
      p.lr = nerve_schedule_lr (&sched, (int) nerve_optimizer_get_step (opt));
      nerve_optimizer_step (opt, p.lr);
      sum += loss, sum_spec += ls, sum_vad += lv, sum_wave += lw;
      steps_done++;
      if (progress && ((s + 1) % MAX (c->log_every, 1) == 0 || s + 1 == c->steps_per_epoch)) {
        p.step = s + 1;
        p.loss = sum / (s + 1), p.spec_loss = sum_spec / (s + 1), p.vad_loss = sum_vad / (s + 1);
        p.wave_loss = sum_wave / (s + 1);
        p.elapsed_s = g_timer_elapsed (timer, NULL);
        p.steps_per_s = steps_done / MAX (p.elapsed_s, 1e-9);
        p.eta_s = (double) (steps_total - steps_done) / MAX (p.steps_per_s, 1e-9);
        progress (&p, user_data);
      }
    }
    p.phase = NERVE_TRAIN_EPOCH_END;
    p.step = c->steps_per_epoch;
    p.loss = sum / c->steps_per_epoch, p.spec_loss = sum_spec / c->steps_per_epoch;
    p.vad_loss = sum_vad / c->steps_per_epoch, p.wave_loss = sum_wave / c->steps_per_epoch;
    if (!validate_epoch (m, val, &p, error))
      goto out;
    p.stopping = nerve_early_stop_update (&es, (float) p.val_sisdri, epoch + 1, &p.improved);
    if (p.improved) {
      memcpy (best, m->arena, m->n_floats * sizeof (float));
      if (tc->out && !nerve_model_save (m, tc->out, error))
        goto out;
    }
    if (tc->checkpoint && !nerve_train_save_checkpoint (m, tc->checkpoint, epoch + 1, &es, opt, error))
      goto out;
    p.elapsed_s = g_timer_elapsed (timer, NULL);
    if (progress)
      progress (&p, user_data);
    if (p.stopping || (tc->stop_after > 0 && epoch + 1 - first_epoch >= tc->stop_after))
      break;
  }
  memcpy (m->arena, best, m->n_floats * sizeof (float));
  ok = TRUE;
out:
  batch_clear (&b);
  nerve_free_floats (best);
  nerve_free_floats (dout);
  return ok;
}

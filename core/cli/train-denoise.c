/* nerve train for task = denoise recipes, and nerve finetune for denoise models: list
 * and load the speech/noise/RIR files (minus the held-out ones), hold some out for a
 * fixed validation set, mix the rest on the fly and train the mask network. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static void
progress (const NerveDenoiseProgress *p, gpointer user_data)
{
  static double last_plain = -1e9;
  (void) user_data;
  gboolean tty = isatty (fileno (stderr));
  int eta = (int) (p->eta_s + 0.5), el = (int) (p->elapsed_s + 0.5);
  if (p->phase == NERVE_TRAIN_BATCH) {
    if (tty || p->elapsed_s - last_plain >= 10) {
      last_plain = p->elapsed_s;
      fprintf (stderr, "%sepoch %d/%d  step %d/%d  %.2f steps/s  loss %.4f (spectral %.4f, wave %.2f dB, vad %.4f)  "
               "ETA %d:%02d:%02d%s", tty ? "\r\033[K" : "", p->epoch, p->epochs, p->step, p->steps, p->steps_per_s,
               p->loss, p->spec_loss, p->wave_loss, p->vad_loss, eta / 3600, eta / 60 % 60, eta % 60, tty ? "" : "\n");
      fflush (stderr);
    }
    return;
  }
  if (tty)
    fprintf (stderr, "\r\033[K");
  if (p->epoch == 0)
    printf ("start       val SI-SDRi %+.2f dB (inputs %.2f dB)\n", p->val_sisdri, p->val_sisdr_in);
  else
    printf ("epoch %d/%d  train loss %.4f (spectral %.4f, wave %.2f dB, vad %.4f)  val SI-SDRi %+.2f dB (inputs %.2f dB)  "
            "lr %.3g  %d:%02d:%02d%s%s\n", p->epoch, p->epochs, p->loss, p->spec_loss, p->wave_loss, p->vad_loss, p->val_sisdri,
            p->val_sisdr_in, p->lr, el / 3600, el / 60 % 60, el % 60, p->improved ? "  (best, saved)" : "",
            p->stopping ? "  early stop" : "");
  fflush (stdout);
}

typedef struct {
  NerveClipSet *speech, *noise, *rir, *val_speech, *val_noise;
  GArray *tts;   /* indices of the text-to-speech clips in speech (crowd noise's talkers) */
  GString *desc;
} Data;

static void
data_clear (Data *d)
{
  nerve_clip_set_free (d->speech);
  nerve_clip_set_free (d->noise);
  nerve_clip_set_free (d->rir);
  nerve_clip_set_free (d->val_speech);
  nerve_clip_set_free (d->val_noise);
  if (d->tts)
    g_array_free (d->tts, TRUE);
  if (d->desc)
    g_string_free (d->desc, TRUE);
}

/* Lists and loads each spec (relative ones under root) at rate with its weight
 * (weights NULL = 1 each); no specs = an empty set. */
static NerveClipSet *
load_set (const char *what, char **specs, const float *weights, const char *root, char **heldout, char **exclude,
          int rate, GString *desc, GError **error)
{
  g_autoptr (NerveClipSet) all = nerve_clip_set_new (rate);
  for (int i = 0; specs && specs[i]; i++) {
    int dropped = 0, skipped = 0;
    g_autoptr (GPtrArray) files = nerve_audio_list_files ((const char *const[]) { specs[i], NULL }, root,
                                                          (const char *const *) heldout,
                                                          (const char *const *) exclude, &dropped, error);
    if (!files) {
      g_prefix_error (error, "%s: ", what);
      if (strstr (specs[i], "sonic-pi"))
        g_prefix_error (error, "(the sonic-pi samples come with Debian's sonic-pi-samples package) ");
      return NULL;
    }
    g_autoptr (GTimer) t = g_timer_new ();
    NerveClipSet *s = nerve_clip_set_load (files, rate, (gsize) rate / 20, &skipped, error);
    if (!s)
      return NULL;
    float w = weights ? weights[i] : 1;
    for (int k = 0; k < s->n; k++)
      s->weight[k] = w;
    printf ("%-6s %5d clips, %6.1f min, weight %g (%d held out or excluded, %d too short or silent) from %s  "
            "[%.1f s]\n", what, s->n, s->seconds / 60, (double) w, dropped, skipped, specs[i],
            g_timer_elapsed (t, NULL));
    g_string_append_printf (desc, "%s%s: %d clips, %.1f min from %s", desc->len ? "; " : "", what, s->n,
                            s->seconds / 60, specs[i]);
    fflush (stdout);
    nerve_clip_set_append (all, s);
  }
  return g_steal_pointer (&all);
}

/* Speech (+ TTS folder), noise and RIRs; then the validation share of speech and noise. */
static gboolean
load_data (Data *d, NerveDenoiseRecipe *r, const char *root, const NerveMixConfig *mix, int rate, double val_fraction,
           GError **error)
{
  g_auto (GStrv) globs = NULL;
  if (r->heldout && !(globs = nerve_heldout_load (r->heldout, error)))
    return FALSE;
  d->desc = g_string_new (NULL);
  if (!(d->speech = load_set ("speech", r->speech, r->speech_weights, root, globs, r->exclude, rate, d->desc, error)))
    return FALSE;
  if (r->tts) {
    g_autoptr (GPtrArray) f = nerve_audio_list_files ((const char *const[]) { r->tts, NULL }, NULL, NULL, NULL, NULL, NULL);
    if (!f || f->len == 0) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO,
                   "%s: no text-to-speech clips. Render them first with models/denoise/make-tts.sh "
                   "(espeak-ng and flite voices; a few minutes), or drop [data] tts from the recipe", r->tts);
      return FALSE;
    }
    NerveClipSet *tts = load_set ("tts", (char *[]) { r->tts, NULL }, &r->tts_weight, NULL, globs, r->exclude, rate,
                                  d->desc, error);
    if (!tts)
      return FALSE;
    nerve_clip_set_append (d->speech, tts);
  }
  if (!(d->noise = load_set ("noise", r->noise, r->noise_weights, root, globs, r->exclude, rate, d->desc, error)) ||
      !(d->rir = load_set ("rir", r->rir, NULL, root, globs, r->exclude, rate, d->desc, error)))
    return FALSE;
  if (d->speech->n < 2) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "need at least 2 clean speech clips (found %d)",
                 d->speech->n);
    return FALSE;
  }
  g_string_append (d->desc, "; synthetic noise: ");
  for (int i = 0; i < (mix->n_synth_types ? mix->n_synth_types : NERVE_NOISE_N_CLASSIC); i++)
    g_string_append_printf (d->desc, "%s%s", i ? ", " : "",
                            nerve_noise_type_name (mix->n_synth_types ? mix->synth_types[i] : (NerveNoiseType) i));
  if (mix->eq_prob > 0 || mix->speed_prob > 0 || mix->reverse_prob > 0 || mix->noise_mix_prob > 0)
    g_string_append_printf (d->desc, "; noise augmentation: equaliser %g, speed %g (up to x%g), reversed %g, "
                            "two clips mixed %g", (double) mix->eq_prob, (double) mix->speed_prob,
                            (double) mix->speed_max, (double) mix->reverse_prob, (double) mix->noise_mix_prob);
  d->val_speech = nerve_clip_set_split (d->speech, val_fraction);
  d->val_noise = nerve_clip_set_split (d->noise, val_fraction);
  d->tts = g_array_new (FALSE, FALSE, sizeof (int));
  g_autofree char *canon = r->tts ? g_canonicalize_filename (r->tts, NULL) : NULL;
  g_autofree char *tts_dir = canon ? g_strconcat (canon, G_DIR_SEPARATOR_S, NULL) : NULL;
  for (int i = 0; tts_dir && i < d->speech->n; i++)
    if (g_str_has_prefix (d->speech->paths[i], tts_dir))
      g_array_append_val (d->tts, i);
  printf ("validation: %d speech and %d noise clips held out of training (by file name)\n", d->val_speech->n,
          d->val_noise->n);
  return TRUE;
}

typedef struct {
  NerveMixer *train, *val;
  NerveMixSet *set;
} Mixers;

static gboolean
make_mixers (Mixers *x, Data *d, const NerveDenoiseTrainConfig *c, GError **error)
{
  NerveMixConfig vc = c->mix;
  vc.noise_only_prob = 0; /* SI-SDR needs speech */
  /* the validation set mixes plain noise (no augmentation, the classic synthetic types)
   * whatever the recipe trains with, so validation numbers compare across recipes */
  vc.eq_prob = vc.speed_prob = vc.reverse_prob = vc.noise_mix_prob = 0;
  vc.n_synth_types = 0;
  if (!(x->train = nerve_mixer_new (&c->mix, c->rate, d->speech, d->noise, d->rir, error)) ||
      !(x->val = nerve_mixer_new (&vc, c->rate, d->val_speech->n ? d->val_speech : d->speech,
                                  d->val_noise->n ? d->val_noise : d->noise, d->rir, error)))
    return FALSE;
  if (d->tts && d->tts->len > 0) {
    nerve_mixer_set_babble_clips (x->train, (const int *) (gpointer) d->tts->data, (int) d->tts->len);
    printf ("crowd noise talkers: the %u text-to-speech clips\n", d->tts->len);
  }
  g_autoptr (GTimer) t = g_timer_new ();
  x->set = nerve_mix_set_new (x->val, c->val_mixtures, (gsize) (c->val_seconds * c->rate), c->val_seed);
  printf ("validation set: %d mixtures of %.1f s (seed %" G_GUINT64_FORMAT ") [%.1f s]\n", c->val_mixtures,
          (double) c->val_seconds, c->val_seed, g_timer_elapsed (t, NULL));
  return TRUE;
}

static void
mixers_clear (Mixers *x)
{
  nerve_mixer_free (x->train);
  nerve_mixer_free (x->val);
  nerve_mix_set_free (x->set);
}

/* Everything after the data is in memory. */
static int
train_loaded (NerveModel *m, NerveRecipe *r, const NerveCliTrainOptions *o, Data *d, Mixers *x, double prep_s)
{
  g_autoptr (GError) err = NULL;
  NerveDenoiseTrainConfig *c = &r->denoise->cfg;
  nerve_model_init_params (m, r->train.seed);
  nerve_denoise_set_meta (m, c);
  if (nerve_denoise_fold_input_norm (m, c, x->train, 8, MIN (r->train.batch, 16), r->train.seed + 7))
    printf ("input normalisation folded into the first dense layer (8 batches)\n");
  g_autofree char *base = g_path_get_basename (r->path), *text = NULL;
  nerve_model_set_meta (m, "nerve.recipe", base);
  if (g_file_get_contents (r->path, &text, NULL, NULL))
    nerve_model_set_meta (m, "nerve.denoise.recipe", text);
  nerve_model_set_meta (m, "nerve.data", d->desc->str);
  if (r->denoise->licenses) {
    g_autofree char *lic = g_strjoinv ("\n", r->denoise->licenses);
    nerve_model_set_meta (m, "nerve.license", lic);
  }
  printf ("training %s: %zu parameters, %d epochs x %d steps, batch %d x %.1f s, STFT %d/%d %s, %d thread%s "
          "(%.1f s of preparation)\n", r->path, nerve_model_n_trainable (m), r->train.epochs, c->steps_per_epoch,
          r->train.batch, (double) c->segment_s, c->stft_size, c->stft_hop, nerve_window_name (c->window),
          o->threads, o->threads == 1 ? "" : "s", prep_s);
  if (o->resume && g_file_test (o->checkpoint, G_FILE_TEST_EXISTS))
    printf ("resuming from %s\n", o->checkpoint);
  NerveTrainConfig tc = r->train;
  int total = tc.epochs * c->steps_per_epoch;
  if (tc.schedule.warmup_steps >= total) { /* a quick run (--epochs, --steps-per-epoch) */
    tc.schedule.warmup_steps = total / 10;
    printf ("warm-up shortened to %d steps: this run has only %d\n", tc.schedule.warmup_steps, total);
  }
  fflush (stdout);
  tc.out = o->out;
  tc.checkpoint = o->checkpoint;
  tc.resume = o->resume;
  tc.stop_after = o->stop_after;
  g_autoptr (GTimer) timer = g_timer_new ();
  if (!nerve_denoise_train (m, c, &tc, x->train, x->set, progress, NULL, &err))
    return nerve_cli_fail ("train", err);
  if (o->stop_after == 0)
    unlink (o->checkpoint);
  printf ("trained in %.1f s; best model (by validation SI-SDR improvement) in %s\n", g_timer_elapsed (timer, NULL),
          o->out);
  return 0;
}

int
nerve_cli_train_denoise (NerveRecipe *r, const NerveCliTrainOptions *o)
{
  g_autoptr (GError) err = NULL;
  NerveDenoiseRecipe *dr = r->denoise;
  NerveDenoiseTrainConfig *c = &dr->cfg;
  const char *root = o->data_root ? o->data_root : r->data_root;
  if (o->steps_per_epoch > 0)
    c->steps_per_epoch = o->steps_per_epoch;
  g_autoptr (NerveModel) m = nerve_model_new (r->architecture, &err);
  if (!m || !nerve_denoise_check_model (m, c, &err)) {
    g_prefix_error (&err, "%s: ", r->path);
    return nerve_cli_fail ("train", err);
  }
  Data d = { 0 };
  Mixers x = { 0 };
  g_autoptr (GTimer) timer = g_timer_new ();
  int status;
  if (load_data (&d, dr, root, &c->mix, c->rate, c->val_fraction, &err) &&
      make_mixers (&x, &d, c, &err))
    status = train_loaded (m, r, o, &d, &x, g_timer_elapsed (timer, NULL));
  else
    status = nerve_cli_fail ("train", err);
  mixers_clear (&x);
  data_clear (&d);
  return status;
}

static int
finetune_loaded (NerveModel *m, const char *path, const char *out_opt, NerveDenoiseTrainConfig *c, Data *d, Mixers *x,
                 int steps, int batch, double lr, int seed)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *out = g_strdup (out_opt);
  if (!out) {
    g_autofree char *base = g_path_get_basename (path);
    if (g_str_has_suffix (base, ".nerve"))
      base[strlen (base) - 6] = 0;
    out = g_strconcat (base, "-finetuned.nerve", NULL);
  }
  g_autofree char *from = g_path_get_basename (path);
  nerve_model_set_meta (m, "nerve.finetuned_from", from);
  g_autofree char *desc = g_strdup_printf ("%s; %d steps, batch %d, lr %g", d->desc->str, steps, batch, lr);
  nerve_model_set_meta (m, "nerve.finetune.data", desc);
  NerveTrainConfig tc = { .epochs = (steps + c->steps_per_epoch - 1) / c->steps_per_epoch, .batch = batch,
                          .seed = (guint64) seed, .clip_norm = 5, .out = out, .baseline_first = TRUE };
  nerve_optim_config_defaults (&tc.optim, NERVE_OPTIM_ADAM);
  if (!nerve_schedule_parse (&tc.schedule, "constant", &err))
    return nerve_cli_fail ("finetune", err);
  tc.schedule.base_lr = (float) lr;
  printf ("fine-tuning %s: %d steps of %d mixtures, validation every %d steps, lr %g\n", path,
          tc.epochs * c->steps_per_epoch, batch, c->steps_per_epoch, lr);
  fflush (stdout);
  g_autoptr (GTimer) timer = g_timer_new ();
  if (!nerve_denoise_train (m, c, &tc, x->train, x->set, progress, NULL, &err))
    return nerve_cli_fail ("finetune", err);
  printf ("fine-tuned in %.1f s; best model (by validation SI-SDR improvement) in %s\n", g_timer_elapsed (timer, NULL),
          out);
  return 0;
}

int
nerve_cli_finetune_denoise (int argc, char **argv)
{
  g_autofree char *out = NULL, *heldout = NULL;
  g_auto (GStrv) speech = NULL, noise = NULL, rir = NULL;
  int steps = 1000, eval_every = 200, threads = 1, batch = 16, seed = 1;
  double lr = 1e-4, synth = -1, val_fraction = 0.1;
  GOptionEntry entries[] = {
    { "speech", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &speech, "Clean speech: a folder (searched recursively) or a glob; repeatable", "DIR" },
    { "noise", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &noise, "Noise: a folder or a glob; repeatable (synthetic noise is mixed in too)", "DIR" },
    { "rir", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &rir, "Room impulse responses for reverberation (optional); repeatable", "DIR" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &out, "Write the fine-tuned model here (default: MODEL-finetuned.nerve)", "FILE" },
    { "steps", 0, 0, G_OPTION_ARG_INT, &steps, "Training steps (default 1000)", "N" },
    { "eval-every", 0, 0, G_OPTION_ARG_INT, &eval_every, "Validate (and keep the best model) every N steps (default 200)", "N" },
    { "lr", 0, 0, G_OPTION_ARG_DOUBLE, &lr, "Adam learning rate (default 1e-4)", "X" },
    { "batch", 'b', 0, G_OPTION_ARG_INT, &batch, "Mixtures per step (default 16)", "N" },
    { "synthetic", 0, 0, G_OPTION_ARG_DOUBLE, &synth, "Share of synthetic noise (default 0.2)", "P" },
    { "val-fraction", 0, 0, G_OPTION_ARG_DOUBLE, &val_fraction, "Share of the files held out for validation (default 0.1)", "F" },
    { "heldout", 0, 0, G_OPTION_ARG_FILENAME, &heldout, "File of globs never to train on (models/denoise/heldout.txt format)", "FILE" },
    { "seed", 0, 0, G_OPTION_ARG_INT, &seed, "Seed of the mixtures and the validation set (default 1)", "N" },
    { "threads", 't', 0, G_OPTION_ARG_INT, &threads, "BLAS threads (default 1)", "N" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("MODEL --speech DIR --noise DIR - fine-tune a denoise model");
  g_option_context_set_summary (ctx, "Mixes the clean speech with the noise (and synthetic noise) on the fly like the\n"
                                     "model's training recipe did, and keeps the starting weights unless the\n"
                                     "validation SI-SDR improvement gets better.");
  g_option_context_add_main_entries (ctx, entries, NULL);
  int status;
  if (!nerve_cli_parse (ctx, &argc, &argv, 1, &status))
    return status;
  if (!speech || !noise || steps < 1 || eval_every < 1 || batch < 1 || batch > 4096 || !(lr > 0 && lr < 10) ||
      synth > 1 || !(val_fraction >= 0 && val_fraction <= 0.5) || seed < 0) {
    fprintf (stderr, "nerve finetune: needs --speech and --noise; --steps, --eval-every, --batch, --lr, --synthetic "
                     "or --val-fraction out of range\n");
    return 2;
  }
  nerve_set_threads (threads);
  g_autoptr (GError) err = NULL;
  g_autoptr (NerveModel) m = nerve_model_load (argv[1], &err);
  if (!m)
    return nerve_cli_fail ("finetune", err);
  NerveDenoiseTrainConfig c;
  nerve_denoise_train_config_defaults (&c);
  const char *recipe = nerve_model_get_meta (m, "nerve.denoise.recipe");
  if ((recipe && !nerve_denoise_config_from_recipe_text (recipe, &c, &err)) ||
      !nerve_denoise_config_from_model (m, &c, &err) || !nerve_denoise_check_model (m, &c, &err)) {
    g_prefix_error (&err, "%s: ", argv[1]);
    return nerve_cli_fail ("finetune", err);
  }
  c.mix.synth_prob = synth >= 0 ? (float) synth : 0.2f;
  c.val_fraction = val_fraction;
  c.val_seed = (guint64) seed + 1000;
  c.val_mixtures = MIN (c.val_mixtures, 32);
  c.steps_per_epoch = MIN (eval_every, steps);
  Data d = { 0 };
  Mixers x = { 0 };
  NerveDenoiseRecipe fr = { .speech = speech, .noise = noise, .rir = rir, .heldout = heldout, .tts_weight = 1 };
  if (load_data (&d, &fr, NULL, &c.mix, c.rate, c.val_fraction, &err) &&
      make_mixers (&x, &d, &c, &err))
    status = finetune_loaded (m, argv[1], out, &c, &d, &x, steps, batch, lr, seed);
  else
    status = nerve_cli_fail ("finetune", err);
  mixers_clear (&x);
  data_clear (&d);
  return status;
}

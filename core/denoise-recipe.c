/* The groups of a recipe with task = denoise (recipe.h, denoise-train.h):
 *   [audio] rate            [stft] size, hop, window
 *   [data]  root, speech, noise, rir, tts, exclude, heldout, validation_fraction, licenses,
 *           speech_weights, noise_weights, tts_weight
 *   [mix]   segment, snr_min, snr_max, level_min, level_max, loud_prob, loud_max,
 *           synthetic_prob, second_noise_prob, modulate_prob, noise_only_prob,
 *           rir_prob, rir_early_ms, eq_prob, speed_prob, speed_max, reverse_prob,
 *           noise_mix_prob, synthetic_types
 *   [validation] mixtures, seconds, seed
 *   [loss]  compress, complex_weight, spectral_weight, sisdr_weight, snr_weight, vad_weight,
 *           vad_threshold_db
 *   [train] steps_per_epoch (besides the keys every task has) */
#include <string.h>

#include "recipe.h"

typedef struct {
  const char *group, *key;
} Known;

static const Known known[] = {
  { "audio", "rate" },
  { "stft", "size" }, { "stft", "hop" }, { "stft", "window" },
  { "data", "root" }, { "data", "speech" }, { "data", "noise" }, { "data", "rir" }, { "data", "tts" },
  { "data", "exclude" }, { "data", "heldout" }, { "data", "validation_fraction" }, { "data", "licenses" },
  { "data", "speech_weights" }, { "data", "noise_weights" }, { "data", "tts_weight" },
  { "mix", "segment" }, { "mix", "snr_min" }, { "mix", "snr_max" }, { "mix", "level_min" }, { "mix", "level_max" },
  { "mix", "loud_prob" }, { "mix", "loud_max" }, { "mix", "synthetic_prob" }, { "mix", "second_noise_prob" },
  { "mix", "modulate_prob" }, { "mix", "noise_only_prob" }, { "mix", "rir_prob" }, { "mix", "rir_early_ms" },
  { "mix", "eq_prob" }, { "mix", "speed_prob" }, { "mix", "speed_max" }, { "mix", "reverse_prob" },
  { "mix", "noise_mix_prob" }, { "mix", "synthetic_types" },
  { "validation", "mixtures" }, { "validation", "seconds" }, { "validation", "seed" },
  { "loss", "compress" }, { "loss", "complex_weight" }, { "loss", "vad_weight" }, { "loss", "vad_threshold_db" },
  { "loss", "spectral_weight" }, { "loss", "sisdr_weight" }, { "loss", "snr_weight" },
  { "train", "steps_per_epoch" },
};

gboolean
nerve_denoise_recipe_known_key (const char *group, const char *key)
{
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++)
    if (g_str_equal (known[i].group, group) && g_str_equal (known[i].key, key))
      return TRUE;
  return FALSE;
}

/* The numeric groups, over the values already in c. */
static gboolean
load_config (GKeyFile *kf, const char *path, NerveDenoiseTrainConfig *c, GError **error)
{
  NerveMixConfig *m = &c->mix;
  int seed = (int) MIN (c->val_seed, (guint64) G_MAXINT);
  if (!nerve_recipe_get_int (kf, path, "audio", "rate", 1000, 384000, &c->rate, error) ||
      !nerve_recipe_get_int (kf, path, "stft", "size", 16, 1 << 15, &c->stft_size, error) ||
      !nerve_recipe_get_int (kf, path, "stft", "hop", 1, 1 << 15, &c->stft_hop, error) ||
      !nerve_recipe_get_double (kf, path, "data", "validation_fraction", 0, 0.5, &c->val_fraction, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "segment", 0.05, 60, &c->segment_s, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "snr_min", -50, 100, &m->snr_min, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "snr_max", -50, 100, &m->snr_max, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "level_min", -100, 0, &m->level_min, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "level_max", -100, 0, &m->level_max, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "loud_prob", 0, 1, &m->loud_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "loud_max", -100, 0, &m->loud_max, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "synthetic_prob", 0, 1, &m->synth_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "second_noise_prob", 0, 1, &m->second_noise_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "modulate_prob", 0, 1, &m->modulate_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "noise_only_prob", 0, 1, &m->noise_only_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "rir_prob", 0, 1, &m->rir_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "rir_early_ms", 0, 10000, &m->rir_early_ms, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "eq_prob", 0, 1, &m->eq_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "speed_prob", 0, 1, &m->speed_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "speed_max", 1, 4, &m->speed_max, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "reverse_prob", 0, 1, &m->reverse_prob, error) ||
      !nerve_recipe_get_float (kf, path, "mix", "noise_mix_prob", 0, 1, &m->noise_mix_prob, error) ||
      !nerve_recipe_get_int (kf, path, "validation", "mixtures", 1, 100000, &c->val_mixtures, error) ||
      !nerve_recipe_get_float (kf, path, "validation", "seconds", 0.1, 600, &c->val_seconds, error) ||
      !nerve_recipe_get_int (kf, path, "validation", "seed", 0, G_MAXINT, &seed, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "compress", 0.05, 2, &c->compress, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "complex_weight", 0, 1, &c->complex_weight, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "spectral_weight", 0, 1000, &c->spectral_weight, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "sisdr_weight", 0, 1000, &c->sisdr_weight, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "snr_weight", 0, 1000, &c->snr_weight, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "vad_weight", 0, 100, &c->vad_weight, error) ||
      !nerve_recipe_get_float (kf, path, "loss", "vad_threshold_db", 0, 200, &c->vad_threshold_db, error) ||
      !nerve_recipe_get_int (kf, path, "train", "steps_per_epoch", 1, 1 << 28, &c->steps_per_epoch, error))
    return FALSE;
  c->val_seed = (guint64) seed;
  if (g_key_file_has_key (kf, "mix", "synthetic_types", NULL)) {
    gsize n = 0;
    g_auto (GStrv) names = g_key_file_get_string_list (kf, "mix", "synthetic_types", &n, NULL);
    if (n == 0 || n > G_N_ELEMENTS (m->synth_types)) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [mix] synthetic_types needs 1 to %d names "
                   "separated by ;", path, (int) G_N_ELEMENTS (m->synth_types));
      return FALSE;
    }
    for (gsize i = 0; i < n; i++)
      if (!nerve_noise_type_from_name (g_strstrip (names[i]), &m->synth_types[i], error)) {
        g_prefix_error (error, "%s: [mix] synthetic_types: ", path);
        return FALSE;
      }
    m->n_synth_types = (int) n;
  }
  g_autofree char *w = g_key_file_get_string (kf, "stft", "window", NULL);
  if (w && !nerve_window_from_name (w, &c->window, error)) {
    g_prefix_error (error, "%s: [stft] window: ", path);
    return FALSE;
  }
  if (!(c->spectral_weight > 0 || c->sisdr_weight > 0 || c->snr_weight > 0)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: [loss] spectral_weight, sisdr_weight and snr_weight are all 0: nothing to train the gains on", path);
    return FALSE;
  }
  if (c->stft_hop > c->stft_size || m->snr_min > m->snr_max || m->level_min > m->level_max ||
      m->loud_max < m->level_max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: needs [stft] hop <= size, [mix] snr_min <= snr_max and level_min <= level_max <= loud_max", path);
    return FALSE;
  }
  return TRUE;
}

gboolean
nerve_denoise_config_from_recipe_text (const char *text, NerveDenoiseTrainConfig *c, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) e = NULL;
  if (!g_key_file_load_from_data (kf, text, (gsize) -1, G_KEY_FILE_NONE, &e)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "stored recipe: %s", e->message);
    return FALSE;
  }
  return load_config (kf, "stored recipe", c, error);
}

/* A list key: "a; b; c" (GKeyFile's list separator). */
static char **
get_list (GKeyFile *kf, const char *group, const char *key)
{
  gsize n = 0;
  char **v = g_key_file_get_string_list (kf, group, key, &n, NULL);
  for (gsize i = 0; v && i < n; i++)
    g_strstrip (v[i]);
  return v;
}

/* One weight > 0 per spec, or NULL when the key is absent. */
static gboolean
get_weights (GKeyFile *kf, const char *path, const char *key, char **specs, float **out, GError **error)
{
  if (!g_key_file_has_key (kf, "data", key, NULL))
    return TRUE;
  gsize n = 0;
  g_autoptr (GError) e = NULL;
  g_autofree double *w = g_key_file_get_double_list (kf, "data", key, &n, &e);
  gboolean ok = !e && specs && n == g_strv_length (specs);
  for (gsize i = 0; ok && i < n; i++)
    ok = w[i] > 0 && w[i] < 1e6;
  if (!ok) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] %s needs one positive number per entry of %.6s",
                 path, key, key);
    return FALSE;
  }
  *out = g_new (float, n);
  for (gsize i = 0; i < n; i++)
    (*out)[i] = (float) w[i];
  return TRUE;
}

static char *
resolve (const char *dir, const char *p)
{
  return g_path_is_absolute (p) ? g_strdup (p) : g_build_filename (dir, p, NULL);
}

NerveDenoiseRecipe *
nerve_denoise_recipe_parse (GKeyFile *kf, const char *path, const char *dir, char **data_root, GError **error)
{
  g_autoptr (NerveDenoiseRecipe) r = g_new0 (NerveDenoiseRecipe, 1);
  nerve_denoise_train_config_defaults (&r->cfg);
  if (!load_config (kf, path, &r->cfg, error))
    return NULL;
  r->speech = get_list (kf, "data", "speech");
  r->noise = get_list (kf, "data", "noise");
  r->rir = get_list (kf, "data", "rir");
  r->exclude = get_list (kf, "data", "exclude");
  r->licenses = get_list (kf, "data", "licenses");
  if (!r->speech || !r->speech[0]) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: [data] speech is required (folders or globs of clean speech, separated by ;)", path);
    return NULL;
  }
  r->tts_weight = 1;
  if (!get_weights (kf, path, "speech_weights", r->speech, &r->speech_weights, error) ||
      !get_weights (kf, path, "noise_weights", r->noise, &r->noise_weights, error) ||
      !nerve_recipe_get_float (kf, path, "data", "tts_weight", 1e-6, 1e6, &r->tts_weight, error))
    return NULL;
  g_autofree char *root = g_key_file_get_string (kf, "data", "root", NULL);
  g_autofree char *tts = g_key_file_get_string (kf, "data", "tts", NULL);
  g_autofree char *heldout = g_key_file_get_string (kf, "data", "heldout", NULL);
  *data_root = root ? resolve (dir, g_strstrip (root)) : g_strdup (dir);
  r->tts = tts ? resolve (dir, g_strstrip (tts)) : NULL;
  r->heldout = heldout ? resolve (dir, g_strstrip (heldout)) : NULL;
  return g_steal_pointer (&r);
}

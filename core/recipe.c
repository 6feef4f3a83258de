#include "recipe.h"

#include <math.h>

typedef struct {
  const char *group, *key;
} Known;

static const Known known[] = {
  { "model", "architecture" }, { "model", "task" },
  { "data", "format" }, { "data", "path" }, { "data", "validation" }, { "data", "mean" }, { "data", "std" },
  { "train", "epochs" }, { "train", "batch" }, { "train", "seed" }, { "train", "augment" },
  { "optimizer", "type" }, { "optimizer", "lr" }, { "optimizer", "momentum" }, { "optimizer", "nesterov" },
  { "optimizer", "weight_decay" }, { "optimizer", "l1" }, { "optimizer", "beta1" }, { "optimizer", "beta2" },
  { "optimizer", "eps" },
  { "schedule", "type" }, { "schedule", "warmup_steps" }, { "schedule", "step_size" }, { "schedule", "gamma" },
  { "schedule", "min_lr" },
  { "regularization", "clip_norm" },
  { "early_stopping", "patience" }, { "early_stopping", "min_delta" },
};

static gboolean
check_keys (GKeyFile *kf, const char *path, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (int g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
    for (int k = 0; keys && keys[k]; k++) {
      gboolean ok = FALSE;
      for (gsize i = 0; i < G_N_ELEMENTS (known) && !ok; i++)
        ok = g_str_equal (known[i].group, groups[g]) && g_str_equal (known[i].key, keys[k]);
      if (!ok) {
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: unknown key '%s' in [%s]", path,
                     keys[k], groups[g]);
        return FALSE;
      }
    }
  }
  return TRUE;
}

/* Optional typed values: absent keeps the default, malformed or out of range fails. */
static gboolean
get_double (GKeyFile *kf, const char *path, const char *g, const char *k, double min, double max,
            double *v, GError **error)
{
  if (!g_key_file_has_key (kf, g, k, NULL))
    return TRUE;
  g_autoptr (GError) e = NULL;
  double d = g_key_file_get_double (kf, g, k, &e);
  if (e || !isfinite (d) || d < min || d > max) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [%s] %s must be a number in [%g, %g]", path,
                 g, k, min, max);
    return FALSE;
  }
  *v = d;
  return TRUE;
}

static gboolean
get_float (GKeyFile *kf, const char *path, const char *g, const char *k, double min, double max, float *v,
           GError **error)
{
  double d = *v;
  if (!get_double (kf, path, g, k, min, max, &d, error))
    return FALSE;
  *v = (float) d;
  return TRUE;
}

static gboolean
get_int (GKeyFile *kf, const char *path, const char *g, const char *k, int min, int max, int *v,
         GError **error)
{
  double d = *v;
  if (!get_double (kf, path, g, k, min, max, &d, error))
    return FALSE;
  if (d != floor (d)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [%s] %s must be an integer", path, g, k);
    return FALSE;
  }
  *v = (int) d;
  return TRUE;
}

void
nerve_recipe_free (NerveRecipe *r)
{
  if (!r)
    return;
  g_free (r->path);
  g_free (r->architecture);
  g_free (r->task);
  g_free (r->data_format);
  g_free (r->data_path);
  g_free (r);
}

NerveRecipe *
nerve_recipe_load (const char *path, GError **error)
{
  g_autoptr (GKeyFile) kf = g_key_file_new ();
  g_autoptr (GError) e = NULL;
  if (!g_key_file_load_from_file (kf, path, G_KEY_FILE_NONE, &e)) {
    g_set_error (error, NERVE_ERROR, e->domain == G_FILE_ERROR ? NERVE_ERROR_IO : NERVE_ERROR_FORMAT,
                 "%s: %s", path, e->message);
    return NULL;
  }
  if (!check_keys (kf, path, error))
    return NULL;
  g_autoptr (NerveRecipe) r = g_new0 (NerveRecipe, 1);
  r->path = g_strdup (path);
  g_autofree char *arch = g_key_file_get_string (kf, "model", "architecture", NULL);
  if (!arch) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [model] architecture (a JSON file) is required", path);
    return NULL;
  }
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *arch_path = g_path_is_absolute (arch) ? g_strdup (arch) : g_build_filename (dir, arch, NULL);
  if (!g_file_get_contents (arch_path, &r->architecture, NULL, &e)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: architecture: %s", path, e->message);
    return NULL;
  }
  r->task = g_key_file_get_string (kf, "model", "task", NULL);
  if (!r->task)
    r->task = g_strdup ("classify");
  r->data_format = g_key_file_get_string (kf, "data", "format", NULL);
  r->data_path = g_key_file_get_string (kf, "data", "path", NULL);
  if (!r->data_format || !g_str_equal (r->data_format, "idx") || !r->data_path) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: [data] needs format = idx and a path (other formats arrive with their tasks)", path);
    return NULL;
  }
  r->validation = 5000;
  r->mean = 0;
  r->std = 1;
  NerveTrainConfig *t = &r->train;
  t->epochs = 10;
  t->batch = 64;
  t->seed = 1;
  int seed = 1;
  r->lr = 1e-3f;
  g_autofree char *otype = g_key_file_get_string (kf, "optimizer", "type", NULL);
  if (!nerve_optim_config_parse (&t->optim, otype ? otype : "adam", error)) {
    g_prefix_error (error, "%s: [optimizer] type: ", path);
    return NULL;
  }
  g_autofree char *stype = g_key_file_get_string (kf, "schedule", "type", NULL);
  if (!nerve_schedule_parse (&t->schedule, stype ? stype : "constant", error)) {
    g_prefix_error (error, "%s: [schedule] type: ", path);
    return NULL;
  }
  g_autofree char *augment = g_key_file_get_string (kf, "train", "augment", NULL);
  if (augment && !g_str_equal (augment, "none") && !g_str_equal (augment, "flip")) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [train] augment must be none or flip", path);
    return NULL;
  }
  t->augment_flip = augment && g_str_equal (augment, "flip");
  if (g_key_file_has_key (kf, "optimizer", "nesterov", NULL)) {
    t->optim.nesterov = g_key_file_get_boolean (kf, "optimizer", "nesterov", &e);
    if (e) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [optimizer] nesterov must be true or false", path);
      return NULL;
    }
  }
  if (!get_int (kf, path, "data", "validation", 1, 1 << 30, &r->validation, error) ||
      !get_float (kf, path, "data", "mean", -1e6, 1e6, &r->mean, error) ||
      !get_float (kf, path, "data", "std", 1e-6, 1e6, &r->std, error) ||
      !get_int (kf, path, "train", "epochs", 1, 100000, &t->epochs, error) ||
      !get_int (kf, path, "train", "batch", 1, 65536, &t->batch, error) ||
      !get_int (kf, path, "train", "seed", 0, G_MAXINT, &seed, error) ||
      !get_float (kf, path, "optimizer", "lr", 0, 10, &r->lr, error) ||
      !get_float (kf, path, "optimizer", "momentum", 0, 1, &t->optim.momentum, error) ||
      !get_float (kf, path, "optimizer", "weight_decay", 0, 10, &t->optim.weight_decay, error) ||
      !get_float (kf, path, "optimizer", "l1", 0, 10, &t->optim.l1, error) ||
      !get_float (kf, path, "optimizer", "beta1", 0, 0.999999, &t->optim.beta1, error) ||
      !get_float (kf, path, "optimizer", "beta2", 0, 0.999999999, &t->optim.beta2, error) ||
      !get_float (kf, path, "optimizer", "eps", 0, 1, &t->optim.eps, error) ||
      !get_int (kf, path, "schedule", "warmup_steps", 0, G_MAXINT, &t->schedule.warmup_steps, error) ||
      !get_int (kf, path, "schedule", "step_size", 1, G_MAXINT, &t->schedule.step_size, error) ||
      !get_float (kf, path, "schedule", "gamma", 0, 1, &t->schedule.gamma, error) ||
      !get_float (kf, path, "schedule", "min_lr", 0, 10, &t->schedule.min_lr, error) ||
      !get_float (kf, path, "regularization", "clip_norm", 0, 1e6, &t->clip_norm, error) ||
      !get_int (kf, path, "early_stopping", "patience", 0, 100000, &t->patience, error) ||
      !get_float (kf, path, "early_stopping", "min_delta", 0, 1, &t->min_delta, error))
    return NULL;
  t->seed = (guint64) seed;
  t->schedule.base_lr = r->lr;
  return g_steal_pointer (&r);
}

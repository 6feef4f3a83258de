#include "recipe.h"

#include <math.h>

typedef struct {
  const char *group, *key;
} Known;

static const Known known[] = {
  { "model", "architecture" }, { "model", "task" },
  { "data", "format" }, { "data", "path" }, { "data", "validation" }, { "data", "mean" }, { "data", "std" },
  { "data", "root" }, { "data", "phrases" }, { "data", "fine_grained" }, { "data", "dedup" }, { "data", "labels" },
  { "data", "validation_path" }, { "data", "validation_fraction" }, { "data", "test_path" },
  { "data", "test_format" }, { "data", "test_fraction" }, { "data", "test_seed" },
  { "text", "max_length" },
  { "tokenizer", "vocab_size" }, { "tokenizer", "model_type" }, { "tokenizer", "lowercase" },
  { "tokenizer", "normalization" }, { "tokenizer", "character_coverage" }, { "tokenizer", "byte_fallback" },
  { "tokenizer", "max_sentences" }, { "tokenizer", "seed" }, { "tokenizer", "corpus" },
  { "tokenizer", "corpus_max_lines" },
  { "pretrain", "method" }, { "pretrain", "layer" }, { "pretrain", "epochs" }, { "pretrain", "window" },
  { "pretrain", "negatives" }, { "pretrain", "subsample" }, { "pretrain", "lr" }, { "pretrain", "seed" },
  { "train", "epochs" }, { "train", "batch" }, { "train", "seed" }, { "train", "augment" },
  { "optimizer", "type" }, { "optimizer", "lr" }, { "optimizer", "momentum" }, { "optimizer", "nesterov" },
  { "optimizer", "weight_decay" }, { "optimizer", "l1" }, { "optimizer", "beta1" }, { "optimizer", "beta2" },
  { "optimizer", "eps" },
  { "schedule", "type" }, { "schedule", "warmup_steps" }, { "schedule", "step_size" }, { "schedule", "gamma" },
  { "schedule", "min_lr" },
  { "regularization", "clip_norm" },
  { "early_stopping", "patience" }, { "early_stopping", "min_delta" },
};

/* Keys every task shares: the model, the optimizer and the schedules. */
static gboolean
common_key (const char *group, const char *key)
{
  static const char *const groups[] = { "model", "optimizer", "schedule", "regularization", "early_stopping", NULL };
  return g_strv_contains (groups, group) ||
         (g_str_equal (group, "train") && !g_str_equal (key, "augment"));
}

static gboolean
check_keys (GKeyFile *kf, const char *path, gboolean denoise, GError **error)
{
  g_auto (GStrv) groups = g_key_file_get_groups (kf, NULL);
  for (int g = 0; groups[g]; g++) {
    g_auto (GStrv) keys = g_key_file_get_keys (kf, groups[g], NULL, NULL);
    for (int k = 0; keys && keys[k]; k++) {
      gboolean ok = FALSE;
      for (gsize i = 0; i < G_N_ELEMENTS (known) && !ok; i++)
        ok = g_str_equal (known[i].group, groups[g]) && g_str_equal (known[i].key, keys[k]);
      if (denoise)
        ok = (ok && common_key (groups[g], keys[k])) || nerve_denoise_recipe_known_key (groups[g], keys[k]);
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
gboolean
nerve_recipe_get_double (GKeyFile *kf, const char *path, const char *g, const char *k, double min, double max,
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

gboolean
nerve_recipe_get_float (GKeyFile *kf, const char *path, const char *g, const char *k, double min, double max,
                        float *v, GError **error)
{
  double d = *v;
  if (!nerve_recipe_get_double (kf, path, g, k, min, max, &d, error))
    return FALSE;
  *v = (float) d;
  return TRUE;
}

gboolean
nerve_recipe_get_int (GKeyFile *kf, const char *path, const char *g, const char *k, int min, int max, int *v,
                      GError **error)
{
  double d = *v;
  if (!nerve_recipe_get_double (kf, path, g, k, min, max, &d, error))
    return FALSE;
  if (d != floor (d)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [%s] %s must be an integer", path, g, k);
    return FALSE;
  }
  *v = (int) d;
  return TRUE;
}

gboolean
nerve_recipe_get_bool (GKeyFile *kf, const char *path, const char *g, const char *k, gboolean *v, GError **error)
{
  if (!g_key_file_has_key (kf, g, k, NULL))
    return TRUE;
  g_autoptr (GError) e = NULL;
  gboolean b = g_key_file_get_boolean (kf, g, k, &e);
  if (e) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [%s] %s must be true or false", path, g, k);
    return FALSE;
  }
  *v = b;
  return TRUE;
}

static gboolean
get_format (GKeyFile *kf, const char *path, const char *k, NerveTextFormat *f, GError **error)
{
  g_autofree char *v = g_key_file_get_string (kf, "data", k, NULL);
  if (v && (!nerve_text_format_parse (v, f, NULL) || *f == NERVE_TEXT_FORMAT_AUTO)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] %s must be tsv, sst2 or sst-trees", path, k);
    return FALSE;
  }
  return TRUE;
}

/* [data] keys of text tasks, [text] and [tokenizer]. */
static gboolean
load_text_keys (GKeyFile *kf, NerveRecipe *r, const char *dir, GError **error)
{
  const char *path = r->path;
  g_autofree char *root = g_key_file_get_string (kf, "data", "root", NULL);
  r->data_root = !root ? g_strdup (dir) : g_path_is_absolute (root) ? g_strdup (root) : g_build_filename (dir, root, NULL);
  nerve_text_format_parse (r->data_format, &r->text_format, NULL);
  r->test_format = r->text_format;
  r->phrases = FALSE;
  r->validation_fraction = 0.1;
  r->test_seed = 1;
  r->max_length = 64;
  r->labels = g_key_file_get_string_list (kf, "data", "labels", NULL, NULL);
  r->validation_path = g_key_file_get_string (kf, "data", "validation_path", NULL);
  r->test_path = g_key_file_get_string (kf, "data", "test_path", NULL);
  r->corpus = g_key_file_get_string_list (kf, "tokenizer", "corpus", NULL, NULL);
  if (!nerve_recipe_get_bool (kf, path, "data", "phrases", &r->phrases, error) ||
      !nerve_recipe_get_bool (kf, path, "data", "fine_grained", &r->fine_grained, error))
    return FALSE;
  r->dedup = r->phrases;
  NerveTokenizerTrainOptions *t = &r->tokenizer;
  nerve_tokenizer_train_options_init (t);
  int seed = 0;
  if (!nerve_recipe_get_bool (kf, path, "data", "dedup", &r->dedup, error) ||
      !get_format (kf, path, "test_format", &r->test_format, error) ||
      !nerve_recipe_get_double (kf, path, "data", "validation_fraction", 1e-6, 0.999999, &r->validation_fraction, error) ||
      !nerve_recipe_get_double (kf, path, "data", "test_fraction", 1e-6, 0.999999, &r->test_fraction, error) ||
      !nerve_recipe_get_int (kf, path, "data", "test_seed", 0, G_MAXINT, &r->test_seed, error) ||
      !nerve_recipe_get_int (kf, path, "text", "max_length", 1, 1 << 16, &r->max_length, error) ||
      !nerve_recipe_get_int (kf, path, "tokenizer", "vocab_size", 2, 1 << 20, &t->vocab_size, error) ||
      !nerve_recipe_get_bool (kf, path, "tokenizer", "lowercase", &t->lowercase, error) ||
      !nerve_recipe_get_bool (kf, path, "tokenizer", "byte_fallback", &t->byte_fallback, error) ||
      !nerve_recipe_get_float (kf, path, "tokenizer", "character_coverage", 0.5, 1, &t->character_coverage, error) ||
      !nerve_recipe_get_int (kf, path, "tokenizer", "max_sentences", 0, G_MAXINT, &t->max_sentences, error) ||
      !nerve_recipe_get_int (kf, path, "tokenizer", "seed", 0, G_MAXINT, &seed, error) ||
      !nerve_recipe_get_int (kf, path, "tokenizer", "corpus_max_lines", 0, G_MAXINT, &r->corpus_max_lines, error))
    return FALSE;
  t->seed = (guint32) seed;
  if (r->labels && g_strv_length (r->labels) < 2) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] labels must name at least 2 classes", path);
    return FALSE;
  }
  if (r->phrases && r->text_format != NERVE_TEXT_FORMAT_SST_TREES) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] phrases needs format = sst-trees", path);
    return FALSE;
  }
  if (r->test_path && r->test_fraction > 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] has both test_path and test_fraction", path);
    return FALSE;
  }
  if (g_key_file_has_group (kf, "pretrain")) {
    g_autofree char *method = g_key_file_get_string (kf, "pretrain", "method", NULL);
    if (!method || !g_str_equal (method, "word2vec")) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [pretrain] method must be word2vec", path);
      return FALSE;
    }
    NerveWord2VecOptions *w = &r->word2vec;
    nerve_word2vec_options_init (w);
    int wseed = (int) w->seed;
    r->pretrain = TRUE;
    r->pretrain_layer = g_key_file_get_string (kf, "pretrain", "layer", NULL);
    if (!nerve_recipe_get_int (kf, path, "pretrain", "epochs", 1, 1000, &w->epochs, error) ||
        !nerve_recipe_get_int (kf, path, "pretrain", "window", 1, 100, &w->window, error) ||
        !nerve_recipe_get_int (kf, path, "pretrain", "negatives", 1, 100, &w->negatives, error) ||
        !nerve_recipe_get_float (kf, path, "pretrain", "subsample", 0, 1, &w->subsample, error) ||
        !nerve_recipe_get_float (kf, path, "pretrain", "lr", 1e-6, 1, &w->lr, error) ||
        !nerve_recipe_get_int (kf, path, "pretrain", "seed", 0, G_MAXINT, &wseed, error))
      return FALSE;
    w->seed = (guint64) wseed;
  }
  r->tok_strings[0] = g_key_file_get_string (kf, "tokenizer", "model_type", NULL);
  r->tok_strings[1] = g_key_file_get_string (kf, "tokenizer", "normalization", NULL);
  if (r->tok_strings[0])
    t->model_type = r->tok_strings[0];
  if (r->tok_strings[1])
    t->normalization = r->tok_strings[1];
  return TRUE;
}

/* Keys that only one kind of task reads are errors in the other. */
static gboolean
check_task_keys (GKeyFile *kf, const NerveRecipe *r, GError **error)
{
  static const char *const image_only[] = { "validation", "mean", "std", NULL };
  for (gsize i = 0; i < G_N_ELEMENTS (known); i++) {
    gboolean text_key = g_str_equal (known[i].group, "text") || g_str_equal (known[i].group, "tokenizer") ||
                        g_str_equal (known[i].group, "pretrain") ||
                        (g_str_equal (known[i].group, "data") && !g_str_equal (known[i].key, "format") &&
                         !g_str_equal (known[i].key, "path") && !g_strv_contains (image_only, known[i].key));
    gboolean image_key = g_str_equal (known[i].group, "data") && g_strv_contains (image_only, known[i].key);
    if ((r->text ? image_key : text_key) && g_key_file_has_key (kf, known[i].group, known[i].key, NULL)) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [%s] %s does not apply to task %s%s", r->path,
                   known[i].group, known[i].key, r->task,
                   g_str_equal (known[i].key, "validation") ? " (use validation_fraction or validation_path)" : "");
      return FALSE;
    }
  }
  return TRUE;
}

char *
nerve_recipe_data_path (const NerveRecipe *r, const char *path)
{
  if (g_path_is_absolute (path))
    return g_strdup (path);
  return g_build_filename (r->data_root ? r->data_root : ".", path, NULL);
}

void
nerve_recipe_free (NerveRecipe *r)
{
  if (!r)
    return;
  g_free (r->pretrain_layer);
  nerve_denoise_recipe_free (r->denoise);
  g_free (r->path);
  g_free (r->architecture);
  g_free (r->task);
  g_free (r->data_format);
  g_free (r->data_path);
  g_free (r->data_root);
  g_strfreev (r->labels);
  g_free (r->validation_path);
  g_free (r->test_path);
  g_strfreev (r->corpus);
  g_free (r->tok_strings[0]);
  g_free (r->tok_strings[1]);
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
  g_autofree char *task = g_key_file_get_string (kf, "model", "task", NULL);
  gboolean denoise = task && g_str_equal (task, "denoise");
  if (!check_keys (kf, path, denoise, error))
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
  r->text = g_str_equal (r->task, "sentiment") || g_str_equal (r->task, "text-classify");
  if (!r->text && !denoise && !g_str_equal (r->task, "classify")) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "%s: [model] task '%s' is not classify, sentiment, text-classify or denoise", path, r->task);
    return NULL;
  }
  if (denoise) {
    r->denoise = nerve_denoise_recipe_parse (kf, path, dir, &r->data_root, error);
    if (!r->denoise)
      return NULL;
  } else if (!r->data_path || !r->data_format ||
      (r->text ? !g_strv_contains ((const char *const[]) { "tsv", "sst2", "sst-trees", NULL }, r->data_format)
               : !g_str_equal (r->data_format, "idx"))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "%s: [data] needs a path and format = %s for task %s",
                 path, r->text ? "tsv, sst2 or sst-trees" : "idx", r->task);
    return NULL;
  }
  if ((!denoise && !check_task_keys (kf, r, error)) || (r->text && !load_text_keys (kf, r, dir, error)))
    return NULL;
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
  if (!nerve_recipe_get_int (kf, path, "data", "validation", 1, 1 << 30, &r->validation, error) ||
      !nerve_recipe_get_float (kf, path, "data", "mean", -1e6, 1e6, &r->mean, error) ||
      !nerve_recipe_get_float (kf, path, "data", "std", 1e-6, 1e6, &r->std, error) ||
      !nerve_recipe_get_int (kf, path, "train", "epochs", 1, 100000, &t->epochs, error) ||
      !nerve_recipe_get_int (kf, path, "train", "batch", 1, 65536, &t->batch, error) ||
      !nerve_recipe_get_int (kf, path, "train", "seed", 0, G_MAXINT, &seed, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "lr", 0, 10, &r->lr, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "momentum", 0, 1, &t->optim.momentum, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "weight_decay", 0, 10, &t->optim.weight_decay, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "l1", 0, 10, &t->optim.l1, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "beta1", 0, 0.999999, &t->optim.beta1, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "beta2", 0, 0.999999999, &t->optim.beta2, error) ||
      !nerve_recipe_get_float (kf, path, "optimizer", "eps", 0, 1, &t->optim.eps, error) ||
      !nerve_recipe_get_int (kf, path, "schedule", "warmup_steps", 0, G_MAXINT, &t->schedule.warmup_steps, error) ||
      !nerve_recipe_get_int (kf, path, "schedule", "step_size", 1, G_MAXINT, &t->schedule.step_size, error) ||
      !nerve_recipe_get_float (kf, path, "schedule", "gamma", 0, 1, &t->schedule.gamma, error) ||
      !nerve_recipe_get_float (kf, path, "schedule", "min_lr", 0, 10, &t->schedule.min_lr, error) ||
      !nerve_recipe_get_float (kf, path, "regularization", "clip_norm", 0, 1e6, &t->clip_norm, error) ||
      !nerve_recipe_get_int (kf, path, "early_stopping", "patience", 0, 100000, &t->patience, error) ||
      !nerve_recipe_get_float (kf, path, "early_stopping", "min_delta", 0, 1, &t->min_delta, error))
    return NULL;
  t->seed = (guint64) seed;
  t->schedule.base_lr = r->lr;
  return g_steal_pointer (&r);
}

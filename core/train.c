/* The classifier training loop. Every epoch's shuffle and dropout draw from a
 * generator seeded by (seed, epoch), so a run resumed from its checkpoint continues
 * exactly as the uninterrupted run would have. */
#include "train.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "clip.h"
#include "early-stop.h"
#include "loss.h"
#include "modelfile.h"

#define CKPT_EPOCH "nerve.checkpoint.epoch"
#define CKPT_ES "nerve.checkpoint.early-stop"
#define CKPT_OPTIM "nerve.checkpoint.optimizer"

static int
argmax (const float *v, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best])
      best = i;
  return best;
}

static gboolean
check_compatible (NerveModel *m, const NerveDataset *d, GError **error)
{
  const NerveShape *out = nerve_model_output_shape (m);
  char a[64], b[64];
  if (!nerve_shape_equal (&m->input_shape, &d->shape)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE, "data samples have shape %s, the model expects %s",
                 nerve_shape_format (&d->shape, a, sizeof a), nerve_shape_format (&m->input_shape, b, sizeof b));
    return FALSE;
  }
  if (out->ndim != 1 || out->dim[0] != d->n_classes) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_SHAPE,
                 "the model outputs %s but the data has %d classes: the last layer needs %d units",
                 nerve_shape_format (out, a, sizeof a), d->n_classes, d->n_classes);
    return FALSE;
  }
  return TRUE;
}

static int
compare_u64 (const void *a, const void *b)
{
  guint64 x = *(const guint64 *) a, y = *(const guint64 *) b;
  return x < y ? -1 : x > y;
}

/* Sorts v[0..n) by lengths[v[i]], ties by v[i]; keys is scratch [n]. */
static void
sort_slice_by_length (int *v, int n, const int *lengths, guint64 *keys)
{
  for (int i = 0; i < n; i++)
    keys[i] = ((guint64) (guint32) MAX (lengths[v[i]], 0) << 32) | (guint32) v[i];
  qsort (keys, (gsize) n, sizeof *keys, compare_u64);
  for (int i = 0; i < n; i++)
    v[i] = (int) (keys[i] & 0xffffffffu);
}

/* 0..n-1, sorted by length when the data has lengths. */
static int *
sort_by_length (const NerveDataset *d)
{
  int *v = g_new (int, MAX (d->n, 1));
  for (int i = 0; i < d->n; i++)
    v[i] = i;
  if (d->lengths) {
    guint64 *keys = g_new (guint64, MAX (d->n, 1));
    sort_slice_by_length (v, d->n, d->lengths, keys);
    g_free (keys);
  }
  return v;
}

gboolean
nerve_evaluate_classifier (NerveModel *m, const NerveDataset *d, int batch, NerveEvalResult *res,
                           GError **error)
{
  memset (res, 0, sizeof *res);
  if (!check_compatible (m, d, error))
    return FALSE;
  g_autoptr (NerveRunner) r = nerve_runner_new (m, batch, 0, error);
  if (!r)
    return FALSE;
  int C = d->n_classes;
  res->n_classes = C;
  res->confusion = g_new0 (int, (gsize) C * C);
  int *order = sort_by_length (d), *y = g_new (int, batch), *len = g_new (int, batch);
  float *x = nerve_alloc_floats ((gsize) batch * d->stride);
  double loss = 0;
  int correct = 0;
  for (int start = 0; start < d->n; start += batch) {
    int nb = MIN (batch, d->n - start);
    nerve_dataset_gather (d, order + start, nb, x, y);
    nerve_dataset_gather_lengths (d, order + start, nb, len);
    const float *out = nerve_runner_forward_seq (r, x, d->lengths ? len : NULL, nb, FALSE, NULL);
    loss += nerve_cross_entropy (NULL, out, y, NULL, nb, C, 1.0f) * nb;
    for (int i = 0; i < nb; i++) {
      int p = argmax (out + (gsize) i * C, C);
      correct += p == y[i];
      res->confusion[y[i] * C + p]++;
    }
  }
  res->loss = loss / d->n;
  res->accuracy = (double) correct / d->n;
  g_free (order);
  g_free (len);
  g_free (y);
  nerve_free_floats (x);
  return TRUE;
}

void
nerve_eval_result_clear (NerveEvalResult *r)
{
  g_clear_pointer (&r->confusion, g_free);
}

/* Mirror image of every [C,H,W] sample with probability 1/2. */
static void
flip_batch (float *x, int nb, const NerveShape *s, NerveRng *rng)
{
  int C = s->dim[0], H = s->dim[1], W = s->dim[2];
  for (int i = 0; i < nb; i++) {
    if (nerve_rng_u32 (rng) & 1)
      continue;
    float *p = x + (gsize) i * C * H * W;
    for (int row = 0; row < C * H; row++)
      for (int a = 0, b = W - 1; a < b; a++, b--) {
        float t = p[row * W + a];
        p[row * W + a] = p[row * W + b];
        p[row * W + b] = t;
      }
  }
}

gboolean
nerve_train_save_checkpoint (NerveModel *m, const char *path, int epoch, const NerveEarlyStop *es,
                             NerveOptimizer *opt, GError **error)
{
  g_autofree char *e = g_strdup_printf ("%d", epoch);
  g_autofree char *s = g_strdup_printf ("%.9g %d %d %" G_GINT64_FORMAT, es->best, es->best_epoch,
                                        es->bad_epochs, nerve_optimizer_get_step (opt));
  nerve_model_set_meta (m, CKPT_EPOCH, e);
  nerve_model_set_meta (m, CKPT_ES, s);
  NerveExtraTensor extra = { CKPT_OPTIM, nerve_optimizer_state (opt), nerve_optimizer_state_size (opt) };
  gboolean ok = nerve_model_save_with_extras (m, path, &extra, extra.n ? 1 : 0, error);
  g_hash_table_remove (m->metadata, CKPT_EPOCH);
  g_hash_table_remove (m->metadata, CKPT_ES);
  return ok;
}

int
nerve_train_load_checkpoint (NerveModel *m, const char *path, NerveEarlyStop *es, NerveOptimizer *opt,
                             GError **error)
{
  g_autoptr (GHashTable) extras = NULL;
  g_autoptr (NerveModel) c = nerve_model_load_with_extras (path, &extras, error);
  if (!c)
    return -1;
  const char *e = nerve_model_get_meta (c, CKPT_EPOCH), *s = nerve_model_get_meta (c, CKPT_ES);
  gint64 step;
  if (!e || !s || g_strcmp0 (c->architecture, m->architecture) != 0 || c->n_floats != m->n_floats ||
      sscanf (s, "%f %d %d %" G_GINT64_FORMAT, &es->best, &es->best_epoch, &es->bad_epochs, &step) != 4) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                 "%s is not a checkpoint of this recipe's model (architecture or trainer state differs)", path);
    return -1;
  }
  NerveTensor *os = extras ? g_hash_table_lookup (extras, CKPT_OPTIM) : NULL;
  if ((os ? os->numel : 0) != nerve_optimizer_state_size (opt)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: optimizer state does not match the recipe's optimizer", path);
    return -1;
  }
  if (os)
    memcpy (nerve_optimizer_state (opt), os->data, os->numel * sizeof (float));
  nerve_optimizer_set_step (opt, step);
  memcpy (m->arena, c->arena, m->n_floats * sizeof (float));
  return (int) g_ascii_strtoll (e, NULL, 10);
}

gboolean
nerve_train_classifier (NerveModel *m, const NerveDataset *train, const NerveDataset *val,
                        const NerveTrainConfig *cfg, NerveTrainProgressFn progress, gpointer user_data,
                        GError **error)
{
  if (cfg->epochs < 1 || cfg->batch < 1 || cfg->batch > 65536) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "epochs must be >= 1 and batch in [1, 65536]");
    return FALSE;
  }
  if (!check_compatible (m, train, error) || !check_compatible (m, val, error))
    return FALSE;
  if (cfg->augment_flip && train->shape.ndim != 3) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "flip augmentation needs [C,H,W] images");
    return FALSE;
  }
  g_autoptr (NerveRunner) r = nerve_runner_new (m, cfg->batch, NERVE_RUNNER_GRADS, error);
  if (!r)
    return FALSE;
  NerveOptimizer *opt = nerve_optimizer_new (m, &cfg->optim, error);
  if (!opt)
    return FALSE;

  const int B = cfg->batch, C = train->n_classes;
  const int batches = (train->n + B - 1) / B;
  NerveSchedule sched = cfg->schedule;
  sched.total_steps = batches * cfg->epochs;
  if (!nerve_schedule_check (&sched, error)) {
    nerve_optimizer_free (opt);
    return FALSE;
  }
  NerveEarlyStop es;
  nerve_early_stop_init (&es, cfg->patience > 0 ? cfg->patience : G_MAXINT, TRUE, cfg->min_delta);

  int first_epoch = 0;
  gboolean ok = FALSE;
  if (cfg->resume && cfg->checkpoint && g_file_test (cfg->checkpoint, G_FILE_TEST_EXISTS)) {
    first_epoch = nerve_train_load_checkpoint (m, cfg->checkpoint, &es, opt, error);
    if (first_epoch < 0) {
      nerve_optimizer_free (opt);
      return FALSE;
    }
  }
  /* m holds the latest weights; the best ones are kept here and in cfg->out */
  float *best = nerve_alloc_floats (m->n_floats);
  memcpy (best, m->arena, m->n_floats * sizeof (float));
  if (first_epoch > 0 && cfg->out && g_file_test (cfg->out, G_FILE_TEST_EXISTS)) {
    g_autoptr (NerveModel) b = nerve_model_load (cfg->out, NULL);
    if (b && b->n_floats == m->n_floats)
      memcpy (best, b->arena, m->n_floats * sizeof (float));
  }

  int *perm = g_new (int, train->n), *y = g_new (int, B), *len = g_new (int, B);
  int *order = g_new (int, batches);
  guint64 *keys = train->lengths ? g_new (guint64, (gsize) B * NERVE_TRAIN_BUCKET_WINDOW) : NULL;
  float *x = nerve_alloc_floats ((gsize) B * train->stride);
  float *dlogits = nerve_alloc_floats ((gsize) B * C);
  g_autoptr (GTimer) timer = g_timer_new ();
  gint64 items_done = 0, items_total = (gint64) train->n * (cfg->epochs - first_epoch);

  if (cfg->baseline_first && first_epoch == 0) {
    NerveEvalResult ev;
    if (!nerve_evaluate_classifier (m, val, MIN (B * 4, 1024), &ev, error))
      goto out;
    nerve_eval_result_clear (&ev);
    nerve_early_stop_update (&es, (float) ev.accuracy, 0, NULL);
    if (cfg->out && !nerve_model_save (m, cfg->out, error))
      goto out;
    if (progress) {
      NerveTrainProgress p = { .phase = NERVE_TRAIN_EPOCH_END, .epoch = 0, .epochs = cfg->epochs,
                               .val_loss = ev.loss, .val_acc = ev.accuracy, .improved = TRUE,
                               .train_loss = NAN, .train_acc = NAN };
      progress (&p, user_data);
    }
  }
  for (int epoch = first_epoch; epoch < cfg->epochs; epoch++) {
    NerveRng rng;
    nerve_rng_seed (&rng, cfg->seed * 1000003u + (guint64) epoch);
    for (int i = 0; i < train->n; i++)
      perm[i] = i;
    nerve_rng_shuffle (&rng, perm, train->n);
    for (int b = 0; b < batches; b++)
      order[b] = b;
    if (train->lengths) {
      int w = B * NERVE_TRAIN_BUCKET_WINDOW;
      for (int s = 0; s < train->n; s += w)
        sort_slice_by_length (perm + s, MIN (w, train->n - s), train->lengths, keys);
      nerve_rng_shuffle (&rng, order, batches);
    }
    double loss_sum = 0;
    gint64 correct = 0, seen = 0;
    NerveTrainProgress p = { .phase = NERVE_TRAIN_BATCH, .epoch = epoch + 1, .epochs = cfg->epochs, .batches = batches };
    for (int bi = 0; bi < batches; bi++) {
      const int *bidx = perm + (gsize) order[bi] * B;
      int nb = MIN (B, train->n - order[bi] * B);
      nerve_dataset_gather (train, bidx, nb, x, y);
      nerve_dataset_gather_lengths (train, bidx, nb, len);
      if (cfg->augment_flip)
        flip_batch (x, nb, &train->shape, &rng);
      const float *out = nerve_runner_forward_seq (r, x, train->lengths ? len : NULL, nb, TRUE, &rng);
      memset (dlogits, 0, (gsize) nb * C * sizeof (float));
      float loss = nerve_cross_entropy (dlogits, out, y, cfg->class_weights, nb, C, 1.0f);
      if (!isfinite (loss)) {
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                     "training diverged: loss is %g at epoch %d batch %d (lower the learning rate)",
                     loss, epoch + 1, bi + 1);
        goto out;
      }
      for (int i = 0; i < nb; i++)
        correct += argmax (out + (gsize) i * C, C) == y[i];
      nerve_model_zero_grads (m);
      nerve_runner_backward (r, dlogits);
      if (cfg->clip_norm > 0)
        nerve_clip_grad_norm (m, cfg->clip_norm);
      p.lr = nerve_schedule_lr (&sched, (int) nerve_optimizer_get_step (opt));
      nerve_optimizer_step (opt, p.lr);
      loss_sum += (double) loss * nb;
      seen += nb;
      items_done += nb;
      if (progress && (bi % 20 == 19 || bi == batches - 1)) {
        p.batch_index = bi + 1;
        p.train_loss = loss_sum / seen;
        p.train_acc = (double) correct / seen;
        p.elapsed_s = g_timer_elapsed (timer, NULL);
        p.items_per_s = items_done / MAX (p.elapsed_s, 1e-9);
        p.eta_s = (items_total - items_done) / MAX (p.items_per_s, 1e-9);
        progress (&p, user_data);
      }
    }
    NerveEvalResult ev;
    if (!nerve_evaluate_classifier (m, val, MIN (B * 4, 1024), &ev, error))
      goto out;
    nerve_eval_result_clear (&ev);
    p.phase = NERVE_TRAIN_EPOCH_END;
    p.val_loss = ev.loss;
    p.val_acc = ev.accuracy;
    p.stopping = nerve_early_stop_update (&es, (float) ev.accuracy, epoch + 1, &p.improved);
    if (p.improved) {
      memcpy (best, m->arena, m->n_floats * sizeof (float));
      if (cfg->out && !nerve_model_save (m, cfg->out, error))
        goto out;
    }
    if (cfg->checkpoint && !nerve_train_save_checkpoint (m, cfg->checkpoint, epoch + 1, &es, opt, error))
      goto out;
    p.elapsed_s = g_timer_elapsed (timer, NULL);
    if (progress)
      progress (&p, user_data);
    if (p.stopping || (cfg->stop_after > 0 && epoch + 1 - first_epoch >= cfg->stop_after))
      break;
  }
  memcpy (m->arena, best, m->n_floats * sizeof (float));
  ok = TRUE;
out:
  nerve_optimizer_free (opt);
  nerve_free_floats (best);
  nerve_free_floats (x);
  nerve_free_floats (dlogits);
  g_free (perm);
  g_free (y);
  g_free (len);
  g_free (order);
  g_free (keys);
  return ok;
}

/* Skip-gram with negative sampling, plain C: one float per weight, exact sigmoid,
 * negatives drawn from the unigram distribution raised to 3/4. */
#include "word2vec.h"

#include <gio/gio.h>
#include <math.h>
#include <string.h>

#include "error.h"
#include "rng.h"
#include "tensor.h"

void
nerve_token_corpus_free (NerveTokenCorpus *c)
{
  if (!c)
    return;
  g_free (c->ids);
  g_free (c->starts);
  g_free (c);
}

/* HTML line breaks in scraped reviews would otherwise become tokens. */
static void
strip_br (char *s)
{
  char *p;
  while ((p = strstr (s, "<br />")))
    memset (p, ' ', 6);
}

NerveTokenCorpus *
nerve_token_corpus_from_files (const NerveTokenizer *t, const char *const *paths, gsize max_lines,
                               GError **error)
{
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  g_autoptr (GArray) starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  g_autoptr (GArray) line_ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  gsize lines = 0;
  for (int f = 0; paths[f] && (max_lines == 0 || lines < max_lines); f++) {
    g_autoptr (GFile) file = g_file_new_for_path (paths[f]);
    g_autoptr (GError) err = NULL;
    g_autoptr (GInputStream) in = G_INPUT_STREAM (g_file_read (file, NULL, &err));
    if (!in) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", paths[f], err->message);
      return NULL;
    }
    if (g_str_has_suffix (paths[f], ".gz")) {
      g_autoptr (GConverter) z = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
      GInputStream *conv = g_converter_input_stream_new (in, z);
      g_object_unref (in);
      in = conv;
    }
    g_autoptr (GDataInputStream) data = g_data_input_stream_new (in);
    char *line;
    while ((max_lines == 0 || lines < max_lines) &&
           (line = g_data_input_stream_read_line (data, NULL, NULL, &err))) {
      strip_br (line);
      gboolean ok = nerve_tokenizer_encode (t, line, -1, line_ids, NULL, &err);
      g_free (line);
      if (!ok)
        break;
      if (line_ids->len == 0)
        continue;
      gsize at = ids->len;
      g_array_append_val (starts, at);
      g_array_append_vals (ids, line_ids->data, line_ids->len);
      lines++;
    }
    if (err) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", paths[f], err->message);
      return NULL;
    }
  }
  NerveTokenCorpus *c = g_new0 (NerveTokenCorpus, 1);
  c->n_seqs = starts->len;
  gsize end = ids->len;
  g_array_append_val (starts, end);
  c->n_ids = ids->len;
  c->ids = (gint32 *) g_array_free (g_steal_pointer (&ids), FALSE);
  c->starts = (gsize *) g_array_free (g_steal_pointer (&starts), FALSE);
  return c;
}

void
nerve_word2vec_options_init (NerveWord2VecOptions *o)
{
  *o = (NerveWord2VecOptions) {
    .dim = 100, .window = 5, .negatives = 5, .epochs = 5, .lr = 0.025f, .subsample = 1e-4f,
    .seed = 1, .threads = 1,
  };
}

typedef struct {
  const NerveTokenCorpus *c;
  const NerveWord2VecOptions *o;
  int vocab;
  float *in, *out;      /* [vocab, dim]: input (the result) and output vectors */
  double *cdf;          /* [vocab] negative-sampling distribution, cumulative */
  float *keep;          /* [vocab] probability of keeping a token (subsampling) */
  gint64 total;         /* tokens to visit over all epochs */
  gssize done;          /* atomically advanced in blocks */
  NerveWord2VecProgress progress;
  gpointer user_data;
  GMutex lock;          /* progress reporting */
  GTimer *timer;
  double loss_sum;
  gint64 loss_n;
} Train;

typedef struct {
  Train *t;
  int index;
} Worker;

static int
draw_negative (const Train *t, NerveRng *rng)
{
  double u = (double) nerve_rng_uniform (rng) * t->cdf[t->vocab - 1];
  int lo = 0, hi = t->vocab - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (t->cdf[mid] <= u)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo;
}

/* One positive and `negatives` negative logistic updates of in-vector v against
 * output vectors; the input's gradient gathers in grad. Returns the loss. */
static float
sgns_pair (Train *t, const float *v, float *grad, int target, NerveRng *rng, float lr)
{
  const int D = t->o->dim;
  float loss = 0;
  for (int k = 0; k <= t->o->negatives; k++) {
    int w = k == 0 ? target : draw_negative (t, rng);
    if (k > 0 && w == target)
      continue;
    float *u = t->out + (gsize) w * D;
    float dot = 0;
    for (int d = 0; d < D; d++)
      dot += v[d] * u[d];
    float label = k == 0 ? 1.0f : 0.0f;
    float s = 1.0f / (1.0f + expf (-dot));
    loss -= logf (k == 0 ? fmaxf (s, 1e-7f) : fmaxf (1.0f - s, 1e-7f));
    float g = lr * (label - s);
    for (int d = 0; d < D; d++) {
      grad[d] += g * u[d];
      u[d] += g * v[d];
    }
  }
  return loss;
}

static gpointer
worker_run (gpointer data)
{
  Worker *wk = data;
  Train *t = wk->t;
  const NerveTokenCorpus *c = t->c;
  const NerveWord2VecOptions *o = t->o;
  const int D = o->dim, threads = MAX (1, o->threads);
  NerveRng rng;
  nerve_rng_seed (&rng, o->seed * 7919u + (guint64) wk->index);
  float *grad = g_new (float, D);
  gint32 *kept = NULL;
  gsize kept_cap = 0;
  gint64 local = 0;
  double loss = 0;
  gint64 pairs = 0;
  for (int epoch = 0; epoch < o->epochs; epoch++)
    for (gsize s = (gsize) wk->index; s < c->n_seqs; s += (gsize) threads) {
      const gint32 *seq = c->ids + c->starts[s];
      gsize n = c->starts[s + 1] - c->starts[s], m = 0;
      if (n > kept_cap)
        kept = g_renew (gint32, kept, kept_cap = n);
      for (gsize i = 0; i < n; i++)
        if (seq[i] >= 0 && seq[i] < t->vocab && nerve_rng_uniform (&rng) < t->keep[seq[i]])
          kept[m++] = seq[i];
      local += (gint64) n;
      float progress = (float) ((double) (gssize) g_atomic_pointer_get (&t->done) / (double) t->total);
      float lr = o->lr * MAX (1e-4f, 1.0f - progress);
      for (gsize i = 0; i < m; i++) {
        int b = (int) nerve_rng_below (&rng, (guint32) o->window);
        for (gsize j = i > (gsize) (o->window - b) ? i - (o->window - b) : 0;
             j <= i + (gsize) (o->window - b) && j < m; j++) {
          if (j == i)
            continue;
          float *v = t->in + (gsize) kept[j] * D;
          memset (grad, 0, sizeof (float) * D);
          loss += (double) sgns_pair (t, v, grad, kept[i], &rng, lr);
          pairs++;
          for (int d = 0; d < D; d++)
            v[d] += grad[d];
        }
      }
      if (local >= 10000) {
        gint64 done = (gint64) g_atomic_pointer_add (&t->done, (gssize) local) + local;
        local = 0;
        g_mutex_lock (&t->lock);
        t->loss_sum += loss;
        t->loss_n += pairs;
        loss = 0, pairs = 0;
        if (t->progress && wk->index == 0) {
          double el = g_timer_elapsed (t->timer, NULL);
          t->progress ((double) done / t->total, done / MAX (el, 1e-9), t->loss_sum / MAX (t->loss_n, 1),
                       t->user_data);
          t->loss_sum = 0, t->loss_n = 0;
        }
        g_mutex_unlock (&t->lock);
      }
    }
  g_atomic_pointer_add (&t->done, (gssize) local);
  g_free (grad);
  g_free (kept);
  return NULL;
}

gboolean
nerve_word2vec_train (const NerveTokenCorpus *c, int vocab, const NerveWord2VecOptions *o, float *out,
                      NerveWord2VecProgress progress, gpointer user_data, GError **error)
{
  if (vocab < 2 || o->dim < 1 || o->dim > 4096 || o->window < 1 || o->window > 100 || o->negatives < 1 ||
      o->negatives > 100 || o->epochs < 1 || !(o->lr > 0) || o->subsample < 0 || o->threads < 1 ||
      o->threads > 256) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "word2vec: need vocab >= 2, dim 1-4096, window 1-100, negatives 1-100, epochs >= 1, "
                 "lr > 0, subsample >= 0, threads 1-256");
    return FALSE;
  }
  if (c->n_ids == 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "word2vec: the corpus is empty");
    return FALSE;
  }
  Train t = { .c = c, .o = o, .vocab = vocab, .progress = progress, .user_data = user_data };
  const int D = o->dim;
  t.in = nerve_alloc_floats ((gsize) vocab * D);
  t.out = nerve_alloc_floats ((gsize) vocab * D);
  t.cdf = g_new0 (double, vocab);
  t.keep = g_new (float, vocab);
  if (!t.in || !t.out) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "word2vec: cannot allocate %d x %d vectors", vocab, D);
    nerve_free_floats (t.in);
    nerve_free_floats (t.out);
    g_free (t.cdf);
    g_free (t.keep);
    return FALSE;
  }
  gint64 *count = g_new0 (gint64, vocab), total = 0;
  for (gsize i = 0; i < c->n_ids; i++)
    if (c->ids[i] >= 0 && c->ids[i] < vocab)
      count[c->ids[i]]++, total++;
  double acc = 0;
  for (int w = 0; w < vocab; w++) {
    acc += pow ((double) count[w], 0.75);
    t.cdf[w] = acc;
    double f = (double) count[w] / MAX (total, 1);
    double sub = (double) o->subsample;
    t.keep[w] = sub > 0 && f > 0 ? (float) MIN (1.0, (sqrt (f / sub) + 1) * sub / f) : 1.0f;
  }
  g_free (count);
  NerveRng rng;
  nerve_rng_seed (&rng, o->seed);
  for (gsize i = 0; i < (gsize) vocab * D; i++)
    t.in[i] = (nerve_rng_uniform (&rng) - 0.5f) / D;
  t.total = (gint64) c->n_ids * o->epochs;
  t.timer = g_timer_new ();
  g_mutex_init (&t.lock);
  Worker *wk = g_new (Worker, o->threads);
  GThread **th = g_new (GThread *, o->threads);
  for (int i = 0; i < o->threads; i++) {
    wk[i] = (Worker) { &t, i };
    th[i] = i == 0 ? NULL : g_thread_new ("word2vec", worker_run, &wk[i]);
  }
  worker_run (&wk[0]);
  for (int i = 1; i < o->threads; i++)
    g_thread_join (th[i]);
  memcpy (out, t.in, sizeof (float) * (gsize) vocab * D);
  g_free (wk);
  g_free (th);
  g_mutex_clear (&t.lock);
  g_timer_destroy (t.timer);
  nerve_free_floats (t.in);
  nerve_free_floats (t.out);
  g_free (t.cdf);
  g_free (t.keep);
  return TRUE;
}

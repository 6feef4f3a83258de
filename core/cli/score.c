/* nerve score: speech-enhancement metrics of an estimate against its clean reference
 * (SI-SDR, SNR, STOI, and their improvement over the noisy input), for one set of files
 * or, with --list, as per-group means over a list: the evaluator the denoise benchmark
 * calls. Each estimate (and noisy input) is resampled to the scoring rate, shifted by
 * the delay that maximises its cross-correlation with the clean signal (bounded by
 * --max-delay: processors add algorithmic latency), and trimmed to a common length. */
#include <json-glib/json-glib.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audio-metrics.h"
#include "audiofile.h"
#include "cli.h"

typedef struct {
  double si_sdr, snr, stoi;
  int delay; /* samples the signal trailed the clean one by */
} Scores;

typedef struct {
  int rate;
  gsize n; /* samples scored */
  Scores est, noisy;
  gboolean has_noisy;
} Result;

/* Reads `path` at `rate`, shifts it by its delay against `clean` and trims `*n` to what
 * both cover. */
static float *
read_aligned (const char *path, int rate, const float *clean, gsize *n, int max_lag, int *delay, GError **error)
{
  gsize len;
  float *x = nerve_audio_read_at (path, rate, &len, error);
  if (!x)
    return NULL;
  *delay = nerve_audio_delay (x, clean, MIN (len, *n), max_lag);
  *n = MIN (*n, len - (gsize) *delay);
  return x;
}

static gboolean
score_one (const char *clean_path, const char *est_path, const char *noisy_path, int rate, double max_delay_ms,
           Result *r, GError **error)
{
  g_autofree float *clean = NULL, *est = NULL, *noisy = NULL;
  gsize n;
  clean = rate > 0 ? nerve_audio_read_at (clean_path, rate, &n, error) : nerve_audio_read (clean_path, &rate, &n, error);
  if (!clean)
    return FALSE;
  memset (r, 0, sizeof *r);
  r->rate = rate;
  int max_lag = (int) MIN (lround (max_delay_ms * rate / 1000), G_MAXINT / 2);
  if (!(est = read_aligned (est_path, rate, clean, &n, max_lag, &r->est.delay, error)))
    return FALSE;
  r->has_noisy = noisy_path != NULL;
  if (noisy_path && !(noisy = read_aligned (noisy_path, rate, clean, &n, max_lag, &r->noisy.delay, error)))
    return FALSE;
  r->n = n;
  struct {
    const float *x;
    Scores *s;
    const char *path;
  } sig[2] = { { est + r->est.delay, &r->est, est_path }, { noisy ? noisy + r->noisy.delay : NULL, &r->noisy, noisy_path } };
  for (int i = 0; i < 2 && sig[i].x; i++) {
    g_autoptr (GError) err = NULL;
    sig[i].s->si_sdr = nerve_si_sdr (sig[i].x, clean, n);
    sig[i].s->snr = nerve_snr (sig[i].x, clean, n);
    sig[i].s->stoi = nerve_stoi (clean, sig[i].x, n, rate, &err);
    if (err) {
      g_set_error (error, err->domain, err->code, "%s against %s: %s", sig[i].path, clean_path, err->message);
      return FALSE;
    }
  }
  return TRUE;
}

/* ---- per-group means ---- */

enum { M_SI_SDR, M_SNR, M_STOI, M_DELAY_MS, M_N_SI_SDR, M_N_SNR, M_N_STOI, M_COUNT };

typedef struct {
  char *name;
  int n, n_noisy;
  double sum[M_COUNT];
} Group;

static void
group_add (Group *g, const Result *r)
{
  g->n++;
  g->sum[M_SI_SDR] += r->est.si_sdr;
  g->sum[M_SNR] += r->est.snr;
  g->sum[M_STOI] += r->est.stoi;
  g->sum[M_DELAY_MS] += 1000.0 * r->est.delay / r->rate;
  if (r->has_noisy) {
    g->n_noisy++;
    g->sum[M_N_SI_SDR] += r->noisy.si_sdr;
    g->sum[M_N_SNR] += r->noisy.snr;
    g->sum[M_N_STOI] += r->noisy.stoi;
  }
}

/* The improvement means are over the lines that name a noisy file. */
static void
group_means (const Group *g, double *m)
{
  for (int k = 0; k < M_COUNT; k++)
    m[k] = g->sum[k] / (k >= M_N_SI_SDR ? g->n_noisy : g->n);
}

static void
group_free (gpointer p)
{
  Group *g = p;
  g_free (g->name);
  g_free (g);
}

/* ---- output ---- */

/* JSON has no inf/nan: a perfect estimate's +inf dB is written as null. */
static void
json_num (JsonBuilder *b, const char *key, double v)
{
  json_builder_set_member_name (b, key);
  if (isfinite (v))
    json_builder_add_double_value (b, v);
  else
    json_builder_add_null_value (b);
}

static void
json_scores (JsonBuilder *b, const char *prefix, double si_sdr, double snr, double stoi)
{
  g_autofree char *k1 = g_strconcat (prefix, "si_sdr", NULL), *k2 = g_strconcat (prefix, "snr", NULL),
                  *k3 = g_strconcat (prefix, "stoi", NULL);
  json_num (b, k1, si_sdr);
  json_num (b, k2, snr);
  json_num (b, k3, stoi);
}

static void
json_improvements (JsonBuilder *b, const double *est, const double *noisy)
{
  json_num (b, "si_sdr_improvement", est[0] - noisy[0]);
  json_num (b, "snr_improvement", est[1] - noisy[1]);
  json_num (b, "stoi_improvement", est[2] - noisy[2]);
}

static void
print_json (JsonBuilder *b)
{
  g_autoptr (JsonNode) root = json_builder_get_root (b);
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_pretty (gen, TRUE);
  json_generator_set_root (gen, root);
  g_autofree char *text = json_generator_to_data (gen, NULL);
  printf ("%s\n", text);
}

static void
print_one (const Result *r, const char *clean, const char *est, const char *noisy, gboolean json)
{
  double e[3] = { r->est.si_sdr, r->est.snr, r->est.stoi }, nz[3] = { r->noisy.si_sdr, r->noisy.snr, r->noisy.stoi };
  if (json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "clean");
    json_builder_add_string_value (b, clean);
    json_builder_set_member_name (b, "estimate");
    json_builder_add_string_value (b, est);
    json_builder_set_member_name (b, "rate");
    json_builder_add_int_value (b, r->rate);
    json_builder_set_member_name (b, "samples");
    json_builder_add_int_value (b, (gint64) r->n);
    json_builder_set_member_name (b, "delay");
    json_builder_add_int_value (b, r->est.delay);
    json_scores (b, "", e[0], e[1], e[2]);
    if (r->has_noisy) {
      json_builder_set_member_name (b, "noisy");
      json_builder_add_string_value (b, noisy);
      json_builder_set_member_name (b, "noisy_delay");
      json_builder_add_int_value (b, r->noisy.delay);
      json_scores (b, "noisy_", nz[0], nz[1], nz[2]);
      json_improvements (b, e, nz);
    }
    json_builder_end_object (b);
    print_json (b);
    return;
  }
  printf ("%d Hz, %zu samples scored (%.2f s); estimate delay %d samples (%.1f ms)", r->rate, r->n,
          (double) r->n / r->rate, r->est.delay, 1000.0 * r->est.delay / r->rate);
  if (r->has_noisy)
    printf (", noisy delay %d", r->noisy.delay);
  printf ("\n\n%-12s %10s", "", "estimate");
  if (r->has_noisy)
    printf (" %10s %12s", "noisy", "improvement");
  printf ("\n");
  const char *names[3] = { "SI-SDR (dB)", "SNR (dB)", "STOI" };
  for (int k = 0; k < 3; k++) {
    const char *f = k < 2 ? "%10.2f" : "%10.4f", *fi = k < 2 ? " %+12.2f" : " %+12.4f";
    printf ("%-12s ", names[k]);
    printf (f, e[k]);
    if (r->has_noisy) {
      printf (" ");
      printf (f, nz[k]);
      printf (fi, e[k] - nz[k]);
    }
    printf ("\n");
  }
}

static void
json_group (JsonBuilder *b, const Group *g)
{
  double m[M_COUNT];
  group_means (g, m);
  json_builder_begin_object (b);
  json_builder_set_member_name (b, "n");
  json_builder_add_int_value (b, g->n);
  json_scores (b, "", m[M_SI_SDR], m[M_SNR], m[M_STOI]);
  json_num (b, "delay_ms", m[M_DELAY_MS]);
  if (g->n_noisy) {
    json_builder_set_member_name (b, "n_noisy");
    json_builder_add_int_value (b, g->n_noisy);
    json_scores (b, "noisy_", m[M_N_SI_SDR], m[M_N_SNR], m[M_N_STOI]);
    json_improvements (b, m + M_SI_SDR, m + M_N_SI_SDR);
  }
  json_builder_end_object (b);
}

static void
print_groups (GPtrArray *groups, const Group *all, const char *list, gboolean json)
{
  if (json) {
    g_autoptr (JsonBuilder) b = json_builder_new ();
    json_builder_begin_object (b);
    json_builder_set_member_name (b, "list");
    json_builder_add_string_value (b, list);
    json_builder_set_member_name (b, "groups");
    json_builder_begin_object (b);
    for (guint i = 0; i < groups->len; i++) {
      const Group *g = groups->pdata[i];
      json_builder_set_member_name (b, g->name);
      json_group (b, g);
    }
    json_builder_end_object (b);
    json_builder_set_member_name (b, "all");
    json_group (b, all);
    json_builder_end_object (b);
    print_json (b);
    return;
  }
  int w = 5;
  for (guint i = 0; i < groups->len; i++)
    w = MAX (w, (int) strlen (((Group *) groups->pdata[i])->name));
  printf ("%-*s %5s %8s %8s %7s %9s | %8s %8s %7s | %8s %8s %7s\n", w, "group", "n", "SI-SDR", "SNR", "STOI",
          "delay ms", "in:SISDR", "in:SNR", "in:STOI", "SI-SDRi", "SNRi", "STOIi");
  for (guint i = 0; i <= groups->len; i++) {
    const Group *g = i < groups->len ? groups->pdata[i] : all;
    double m[M_COUNT];
    group_means (g, m);
    printf ("%-*s %5d %8.2f %8.2f %7.4f %9.1f", w, i < groups->len ? g->name : "all", g->n, m[M_SI_SDR], m[M_SNR],
            m[M_STOI], m[M_DELAY_MS]);
    if (g->n_noisy)
      printf (" | %8.2f %8.2f %7.4f | %+8.2f %+8.2f %+7.4f", m[M_N_SI_SDR], m[M_N_SNR], m[M_N_STOI],
              m[M_SI_SDR] - m[M_N_SI_SDR], m[M_SNR] - m[M_N_SNR], m[M_STOI] - m[M_N_STOI]);
    printf ("\n");
  }
}

/* clean<TAB>estimate[<TAB>noisy[<TAB>group]] lines; '#' comments and blank lines skipped,
 * an empty or "-" noisy field means none; relative paths are relative to the list's
 * folder. */
static int
score_list (const char *list, int rate, double max_delay_ms, gboolean json)
{
  g_autoptr (GError) err = NULL;
  g_autofree char *text = NULL;
  if (!g_file_get_contents (list, &text, NULL, &err))
    return nerve_cli_fail ("score", err);
  g_autofree char *dir = g_path_get_dirname (list);
  g_auto (GStrv) lines = g_strsplit (text, "\n", -1);
  g_autoptr (GPtrArray) groups = g_ptr_array_new_with_free_func (group_free);
  g_autoptr (GHashTable) by_name = g_hash_table_new (g_str_hash, g_str_equal);
  Group all = { 0 };
  for (int i = 0; lines[i]; i++) {
    char *line = g_strchomp (lines[i]); /* also drops a '\r' */
    if (!*line || *line == '#')
      continue;
    g_auto (GStrv) f = g_strsplit (line, "\t", 5);
    guint nf = g_strv_length (f);
    if (nf < 2 || nf > 4 || !*f[0] || !*f[1]) {
      fprintf (stderr, "nerve score: %s:%d: expected clean<TAB>estimate[<TAB>noisy[<TAB>group]]\n", list, i + 1);
      return 1;
    }
    char *path[3] = { NULL, NULL, NULL };
    for (guint k = 0; k < 3 && k < nf; k++)
      if (*f[k] && strcmp (f[k], "-"))
        path[k] = g_path_is_absolute (f[k]) ? g_strdup (f[k]) : g_build_filename (dir, f[k], NULL);
    Result r;
    gboolean ok = score_one (path[0], path[1], path[2], rate, max_delay_ms, &r, &err);
    for (int k = 0; k < 3; k++)
      g_free (path[k]);
    if (!ok) {
      fprintf (stderr, "nerve score: %s:%d: %s\n", list, i + 1, err->message);
      return 1;
    }
    const char *name = nf == 4 && *f[3] ? f[3] : "-";
    Group *g = g_hash_table_lookup (by_name, name);
    if (!g) {
      g = g_new0 (Group, 1);
      g->name = g_strdup (name);
      g_ptr_array_add (groups, g);
      g_hash_table_insert (by_name, g->name, g);
    }
    group_add (g, &r);
    group_add (&all, &r);
  }
  if (all.n == 0) {
    fprintf (stderr, "nerve score: %s: no lines to score\n", list);
    return 1;
  }
  print_groups (groups, &all, list, json);
  return 0;
}

int
nerve_cli_score (int argc, char **argv)
{
  int rate = 0;
  double max_delay = 100;
  gboolean json = FALSE;
  g_autofree char *list = NULL;
  GOptionEntry entries[] = {
    { "rate", 'r', 0, G_OPTION_ARG_INT, &rate, "Score at this rate (default: the clean file's)", "HZ" },
    { "max-delay", 0, 0, G_OPTION_ARG_DOUBLE, &max_delay,
      "Longest delay of the estimate searched for, ms (default 100; 0 = no alignment)", "MS" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON object", NULL },
    { "list", 'l', 0, G_OPTION_ARG_FILENAME, &list,
      "Score every clean<TAB>estimate<TAB>noisy<TAB>group line of FILE; print per-group means", "FILE" },
    { NULL },
  };
  g_autoptr (GOptionContext) ctx = g_option_context_new ("CLEAN ESTIMATE [NOISY] - speech-enhancement metrics");
  g_option_context_set_summary (ctx,
    "SI-SDR (dB, scale-invariant, means removed), SNR (dB) and STOI (Taal et al. 2011, 0..1)\n"
    "of ESTIMATE against CLEAN, and with NOISY its scores and the improvements over it.\n"
    "Signals are resampled to the scoring rate, each shifted by the lag (0..max-delay)\n"
    "that maximises its cross-correlation with CLEAN, and trimmed to a common length.\n"
    "--list: relative paths are relative to the list's folder; the noisy and group fields\n"
    "may be left out (noisy empty or '-').");
  g_option_context_add_main_entries (ctx, entries, NULL);
  g_autoptr (GError) err = NULL;
  if (!g_option_context_parse (ctx, &argc, &argv, &err)) {
    fprintf (stderr, "nerve: %s\n", err->message);
    return 2;
  }
  int args = argc - 1;
  if (list ? args != 0 : args < 2 || args > 3) {
    g_autofree char *help = g_option_context_get_help (ctx, TRUE, NULL);
    fprintf (stderr, "%s", help);
    return 2;
  }
  if (rate < 0 || !(max_delay >= 0 && max_delay <= 10000)) {
    fprintf (stderr, "nerve score: --rate must be positive and --max-delay within 0..10000 ms\n");
    return 2;
  }
  if (list)
    return score_list (list, rate, max_delay, json);
  Result r;
  const char *noisy = args == 3 ? argv[3] : NULL;
  if (!score_one (argv[1], argv[2], noisy, rate, max_delay, &r, &err))
    return nerve_cli_fail ("score", err);
  print_one (&r, argv[1], argv[2], noisy, json);
  return 0;
}

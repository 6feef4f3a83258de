/* Text dataset loaders (SST trees, SST-2, TSV), seeded splits and tokenization. */
#include "textdata.h"

#include <gio/gio.h>
#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "rng.h"

#define MAX_TREE_DEPTH 1000
#define MAX_INT_LABEL 100000

static const char *const sst2_names[] = { "negative", "positive", NULL };
static const char *const sst5_names[] = { "very negative", "negative", "neutral", "positive", "very positive", NULL };

void
nerve_text_load_options_init (NerveTextLoadOptions *o)
{
  memset (o, 0, sizeof *o);
  o->format = NERVE_TEXT_FORMAT_AUTO;
}

static const char *const format_names[] = { "auto", "tsv", "sst2", "sst-trees" };

gboolean
nerve_text_format_parse (const char *name, NerveTextFormat *format, GError **error)
{
  for (gsize i = 0; i < G_N_ELEMENTS (format_names); i++)
    if (name && g_ascii_strcasecmp (name, format_names[i]) == 0) {
      *format = (NerveTextFormat) i;
      return TRUE;
    }
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
               "unknown text format '%s' (expected tsv, sst2, sst-trees or auto)", name ? name : "");
  return FALSE;
}

const char *
nerve_text_format_name (NerveTextFormat format)
{
  return (gsize) format < G_N_ELEMENTS (format_names) ? format_names[format] : "?";
}

void
nerve_text_dataset_free (NerveTextDataset *d)
{
  if (!d)
    return;
  g_strfreev (d->texts);
  g_free (d->labels);
  g_free (d->groups);
  g_free (d->roots);
  g_strfreev (d->label_names);
  g_free (d);
}

GBytes *
nerve_read_file (const char *path, gsize max_bytes, GError **error)
{
  g_autoptr (GFile) f = g_file_new_for_path (path);
  g_autoptr (GError) err = NULL;
  g_autoptr (GInputStream) raw = G_INPUT_STREAM (g_file_read (f, NULL, &err));
  if (!raw) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", path, err->message);
    return NULL;
  }
  g_autoptr (GInputStream) in = g_buffered_input_stream_new (raw);
  guint8 magic[2] = { 0 };
  gssize got = g_buffered_input_stream_fill (G_BUFFERED_INPUT_STREAM (in), 2, NULL, &err);
  if (got < 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s", path, err->message);
    return NULL;
  }
  g_buffered_input_stream_peek (G_BUFFERED_INPUT_STREAM (in), magic, 0, 2);
  gboolean gz = got >= 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gz) {
    g_autoptr (GConverter) z = G_CONVERTER (g_zlib_decompressor_new (G_ZLIB_COMPRESSOR_FORMAT_GZIP));
    GInputStream *conv = g_converter_input_stream_new (in, z);
    g_object_unref (in);
    in = conv;
  }
  GByteArray *buf = g_byte_array_new ();
  guint8 chunk[65536];
  for (;;) {
    gssize n = g_input_stream_read (in, chunk, sizeof chunk, NULL, &err);
    if (n < 0 || buf->len + (gsize) MAX (n, 0) > max_bytes) {
      if (n < 0)
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: %s%s", path, gz ? "gzip: " : "", err->message);
      else
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_IO, "%s: larger than %zu bytes%s", path, max_bytes,
                     gz ? " once decompressed" : "");
      g_byte_array_unref (buf);
      return NULL;
    }
    if (n == 0)
      break;
    g_byte_array_append (buf, chunk, (guint) n);
  }
  return g_byte_array_free_to_bytes (buf);
}

void
nerve_text_strip_br (char *s)
{
  for (char *p = s; (p = strchr (p, '<'));) {
    if (g_ascii_strncasecmp (p + 1, "br", 2) != 0) {
      p++;
      continue;
    }
    char *q = p + 3;
    while (*q == ' ')
      q++;
    if (*q == '/')
      q++;
    if (*q != '>') {
      p++;
      continue;
    }
    *p = ' ';
    memmove (p + 1, q + 1, strlen (q + 1) + 1);
    p++;
  }
}

/* ---- building a dataset ---- */

typedef struct {
  const char *name;
  GPtrArray *texts;   /* char * */
  GPtrArray *raw;     /* label strings, parallel to texts */
  GArray *lines;      /* int, 1-based line of each sample */
  GArray *groups;     /* int, SST phrases */
  GByteArray *roots;  /* SST phrases */
  const char *const *default_names; /* for integer labels */
  int n_repaired;
} Builder;

static void
builder_init (Builder *b, const char *name)
{
  memset (b, 0, sizeof *b);
  b->name = name;
  b->texts = g_ptr_array_new_with_free_func (g_free);
  b->raw = g_ptr_array_new_with_free_func (g_free);
  b->lines = g_array_new (FALSE, FALSE, sizeof (int));
}

static void
builder_clear (Builder *b)
{
  g_ptr_array_unref (b->texts);
  g_ptr_array_unref (b->raw);
  g_array_unref (b->lines);
  if (b->groups)
    g_array_unref (b->groups);
  if (b->roots)
    g_byte_array_unref (b->roots);
}

static void
builder_add (Builder *b, char *text, char *label, int line)
{
  g_ptr_array_add (b->texts, text);
  g_ptr_array_add (b->raw, label);
  g_array_append_val (b->lines, line);
}

static gboolean
parse_index (const char *s, gint64 max, int *out)
{
  guint64 v;
  if (!g_ascii_string_to_unsigned (s, 10, 0, (guint64) max, &v, NULL))
    return FALSE;
  *out = (int) v;
  return TRUE;
}

static int
compare_names (gconstpointer a, gconstpointer b)
{
  return strcmp (*(char *const *) a, *(char *const *) b);
}

/* Turns the raw label strings into class ids and names (see NerveTextLoadOptions). */
static gboolean
resolve_labels (Builder *b, const NerveTextLoadOptions *o, NerveTextDataset *d, GError **error)
{
  int n = (int) b->raw->len;
  d->labels = g_new (int, MAX (n, 1));
  if (o->labels) {
    int known = (int) g_strv_length ((char **) o->labels);
    for (int i = 0; i < n; i++) {
      const char *s = b->raw->pdata[i];
      int k = -1;
      for (int c = 0; c < known && k < 0; c++)
        if (g_ascii_strcasecmp (s, o->labels[c]) == 0)
          k = c;
      if (k < 0 && (!parse_index (s, known - 1, &k))) {
        g_autofree char *list = g_strjoinv (", ", (char **) o->labels);
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                     "%s:%d: label '%s' is neither one of the labels (%s) nor an index 0-%d", b->name,
                     g_array_index (b->lines, int, i), s, list, known - 1);
        return FALSE;
      }
      d->labels[i] = k;
    }
    d->n_classes = known;
    d->label_names = g_strdupv ((char **) o->labels);
    return TRUE;
  }
  gboolean numeric = TRUE;
  int max = -1;
  for (int i = 0; i < n && numeric; i++)
    if ((numeric = parse_index (b->raw->pdata[i], MAX_INT_LABEL, &d->labels[i])))
      max = MAX (max, d->labels[i]);
  if (numeric) {
    d->n_classes = max + 1;
    if (b->default_names && (int) g_strv_length ((char **) b->default_names) >= d->n_classes &&
        d->n_classes > 1) {
      d->n_classes = (int) g_strv_length ((char **) b->default_names);
      d->label_names = g_strdupv ((char **) b->default_names);
    } else {
      d->label_names = g_new0 (char *, d->n_classes + 1);
      for (int c = 0; c < d->n_classes; c++)
        d->label_names[c] = g_strdup_printf ("%d", c);
    }
    return TRUE;
  }
  /* named labels: the sorted distinct strings */
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *names = g_ptr_array_new ();
  for (int i = 0; i < n; i++)
    if (g_hash_table_add (seen, b->raw->pdata[i]))
      g_ptr_array_add (names, g_strdup (b->raw->pdata[i]));
  g_ptr_array_sort (names, compare_names);
  d->n_classes = (int) names->len;
  for (int c = 0; c < d->n_classes; c++)
    g_hash_table_insert (seen, names->pdata[c], GINT_TO_POINTER (c));
  for (int i = 0; i < n; i++)
    d->labels[i] = GPOINTER_TO_INT (g_hash_table_lookup (seen, b->raw->pdata[i]));
  g_ptr_array_add (names, NULL);
  d->label_names = (char **) g_ptr_array_free (names, FALSE);
  return TRUE;
}

static NerveTextDataset *
builder_finish (Builder *b, const NerveTextLoadOptions *o, GError **error)
{
  g_autoptr (NerveTextDataset) d = g_new0 (NerveTextDataset, 1);
  d->n = (int) b->texts->len;
  d->n_repaired = b->n_repaired;
  if (d->n == 0) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s: no samples", b->name);
    return NULL;
  }
  if (!resolve_labels (b, o, d, error))
    return NULL;
  g_ptr_array_add (b->texts, NULL);
  d->texts = (char **) g_ptr_array_steal (b->texts, NULL);
  if (b->groups) {
    d->groups = (int *) g_array_steal (b->groups, NULL);
    d->roots = g_byte_array_steal (b->roots, NULL);
  }
  return g_steal_pointer (&d);
}

/* A line made safe: NUL bytes become spaces, invalid UTF-8 becomes U+FFFD. */
static char *
clean_line (Builder *b, const char *s, gsize len)
{
  char *tmp = g_malloc (len + 1);
  memcpy (tmp, s, len);
  tmp[len] = 0;
  for (gsize i = 0; i < len; i++)
    if (!tmp[i])
      tmp[i] = ' ';
  if (g_utf8_validate (tmp, (gssize) len, NULL))
    return tmp;
  b->n_repaired++;
  char *fixed = g_utf8_make_valid (tmp, (gssize) len);
  g_free (tmp);
  return fixed;
}

/* Penn Treebank bracket escapes in whitespace-separated tokens (SST writes -LRB-,
 * SST-2 -lrb-). */
static void
unescape_ptb (GString *s)
{
  static const char *const esc[][2] = { { "-lrb-", "(" }, { "-rrb-", ")" }, { "-lsb-", "[" },
                                        { "-rsb-", "]" }, { "-lcb-", "{" }, { "-rcb-", "}" } };
  for (gsize i = 0; i + 5 <= s->len; i++) {
    if (s->str[i] != '-' || (i > 0 && s->str[i - 1] != ' '))
      continue;
    if (i + 5 < s->len && s->str[i + 5] != ' ')
      continue;
    for (gsize k = 0; k < G_N_ELEMENTS (esc); k++)
      if (g_ascii_strncasecmp (s->str + i, esc[k][0], 5) == 0) {
        g_string_erase (s, (gssize) i, 5);
        g_string_insert (s, (gssize) i, esc[k][1]);
        break;
      }
  }
}

static char *
trimmed_text (char *s)
{
  g_strstrip (s);
  return s;
}

/* ---- SST trees ---- */

typedef struct {
  int label, first_word;
} Node;

static gboolean
parse_tree (Builder *b, const NerveTextLoadOptions *o, const char *s, int line, int tree, GError **error)
{
  Node stack[64];
  Node *nodes = stack;
  g_autofree Node *heap = NULL;
  int depth = 0, cap = G_N_ELEMENTS (stack);
  g_autoptr (GPtrArray) words = g_ptr_array_new_with_free_func (g_free);
  gsize i = 0, n = strlen (s);
  gboolean done = FALSE;
#define FAIL(...)                                                                                    \
  do {                                                                                               \
    g_autofree char *m_ = g_strdup_printf (__VA_ARGS__);                                             \
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s:%d:%zu: %s", b->name, line, i + 1, m_); \
    return FALSE;                                                                                    \
  } while (0)
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      i++;
      continue;
    }
    if (done)
      FAIL ("text after the end of the tree");
    if (c == '(') {
      i++;
      if (i >= n || s[i] < '0' || s[i] > '4' || (i + 1 < n && s[i + 1] != ' ' && s[i + 1] != '('))
        FAIL ("expected a label 0-4 after '('");
      if (depth == MAX_TREE_DEPTH)
        FAIL ("tree nested deeper than %d", MAX_TREE_DEPTH);
      if (depth == cap) {
        cap *= 2;
        heap = g_renew (Node, heap, cap);
        if (nodes == stack)
          memcpy (heap, stack, sizeof stack);
        nodes = heap;
      }
      nodes[depth++] = (Node) { s[i] - '0', (int) words->len };
      i++;
      while (i < n && s[i] == ' ')
        i++;
      if (i < n && s[i] != '(' && s[i] != ')') { /* a leaf: the word runs to ')' */
        GString *w = g_string_new (NULL);
        while (i < n && s[i] != ')') {
          if (s[i] == '(') {
            g_string_free (w, TRUE);
            FAIL ("'(' inside a word");
          }
          if (s[i] != ' ' && s[i] != '\t') /* "R  ock": a word never holds spaces */
            g_string_append_c (w, s[i]);
          i++;
        }
        g_ptr_array_add (words, g_string_free (w, FALSE));
      }
      continue;
    }
    if (c == ')') {
      if (depth == 0)
        FAIL ("unbalanced ')'");
      Node nd = nodes[--depth];
      if (nd.first_word == (int) words->len)
        FAIL ("empty phrase");
      i++;
      gboolean root = depth == 0;
      done = root;
      if (!o->phrases && !root)
        continue;
      int label = nd.label;
      if (!o->fine_grained) {
        if (label == 2)
          continue;
        label = label > 2;
      }
      GString *t = g_string_new (NULL);
      for (guint k = (guint) nd.first_word; k < words->len; k++) {
        if (t->len)
          g_string_append_c (t, ' ');
        g_string_append (t, words->pdata[k]);
      }
      unescape_ptb (t);
      builder_add (b, g_string_free (t, FALSE), g_strdup_printf ("%d", label), line);
      if (o->phrases) {
        g_array_append_val (b->groups, tree);
        guint8 r = (guint8) root;
        g_byte_array_append (b->roots, &r, 1);
      }
      continue;
    }
    FAIL ("unexpected '%c' (a tree is \"(LABEL word)\" or \"(LABEL subtree subtree)\")", c);
  }
  if (!done)
    FAIL ("tree ends before its brackets close");
#undef FAIL
  return TRUE;
}

/* ---- line formats ---- */

typedef struct {
  int label_col, text_col, ncols;
} TsvLayout;

/* A header is a first line whose tab-separated fields include "label" and "text". */
static gboolean
tsv_header (const char *line, TsvLayout *out)
{
  if (!strchr (line, '\t'))
    return FALSE;
  g_auto (GStrv) f = g_strsplit (line, "\t", 64);
  TsvLayout t = { -1, -1, (int) g_strv_length (f) };
  for (int i = 0; i < t.ncols; i++) {
    g_strstrip (f[i]);
    if (g_ascii_strcasecmp (f[i], "label") == 0 && t.label_col < 0)
      t.label_col = i;
    else if (g_ascii_strcasecmp (f[i], "text") == 0 && t.text_col < 0)
      t.text_col = i;
  }
  if (t.label_col < 0 || t.text_col < 0)
    return FALSE;
  *out = t;
  return TRUE;
}

static NerveTextFormat
guess_format (const char *name, const char *first)
{
  if (g_str_has_suffix (name, ".tsv") || g_str_has_suffix (name, ".tsv.gz") || strchr (first, '\t'))
    return NERVE_TEXT_FORMAT_TSV;
  if (first[0] == '(')
    return NERVE_TEXT_FORMAT_SST_TREES;
  return NERVE_TEXT_FORMAT_SST2;
}

NerveTextDataset *
nerve_text_dataset_load_data (const char *data, gsize len, const char *name, const NerveTextLoadOptions *opts,
                              GError **error)
{
  NerveTextLoadOptions defaults;
  nerve_text_load_options_init (&defaults);
  const NerveTextLoadOptions *o = opts ? opts : &defaults;
  Builder b;
  builder_init (&b, name);
  NerveTextFormat format = o->format;
  TsvLayout tsv = { 0, 1, 2 };
  NerveTextDataset *d = NULL;
  int line = 0, trees = 0;
  gboolean first = TRUE;
  for (gsize pos = 0; pos < len;) {
    const char *nl = memchr (data + pos, '\n', len - pos);
    gsize end = nl ? (gsize) (nl - data) : len, l = end - pos;
    const char *raw = data + pos;
    pos = end + 1;
    line++;
    if (l && raw[l - 1] == '\r')
      l--;
    g_autofree char *s = clean_line (&b, raw, l);
    char *p = s;
    while (*p == ' ' || *p == '\t')
      p++;
    if (!*p)
      continue; /* blank lines are not samples */
    if (first) {
      first = FALSE;
      if (format == NERVE_TEXT_FORMAT_AUTO)
        format = guess_format (name, s);
      if (format == NERVE_TEXT_FORMAT_TSV && tsv_header (s, &tsv))
        continue;
      if (format == NERVE_TEXT_FORMAT_SST_TREES && o->phrases) {
        b.groups = g_array_new (FALSE, FALSE, sizeof (int));
        b.roots = g_byte_array_new ();
      }
      b.default_names = format == NERVE_TEXT_FORMAT_TSV     ? NULL
                        : format == NERVE_TEXT_FORMAT_SST2 ? sst2_names
                        : o->fine_grained                  ? sst5_names
                                                           : sst2_names;
    }
    if (format == NERVE_TEXT_FORMAT_SST_TREES) {
      if (!parse_tree (&b, o, s, line, trees++, error))
        goto out;
      continue;
    }
    if (format == NERVE_TEXT_FORMAT_SST2) {
      char *sp = strchr (s, ' ');
      if (!sp || sp == s) {
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                     "%s:%d: expected \"LABEL sentence\" (an SST-2 line)", name, line);
        goto out;
      }
      *sp = 0;
      GString *t = g_string_new (trimmed_text (sp + 1));
      unescape_ptb (t);
      if (!t->len) {
        g_string_free (t, TRUE);
        g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s:%d: empty sentence after the label", name, line);
        goto out;
      }
      builder_add (&b, g_string_free (t, FALSE), g_strdup (s), line);
      continue;
    }
    /* TSV: the text column, when last, takes the rest of the line (tabs included) */
    g_auto (GStrv) f = g_strsplit (s, "\t", tsv.ncols);
    if ((int) g_strv_length (f) != tsv.ncols) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT,
                   "%s:%d: expected %d tab-separated fields (label%stext), found %u", name, line, tsv.ncols,
                   tsv.ncols > 2 ? ", ..., " : "<TAB>", g_strv_length (f));
      goto out;
    }
    char *label = trimmed_text (f[tsv.label_col]), *text = f[tsv.text_col];
    nerve_text_strip_br (text);
    trimmed_text (text);
    if (!*label || !*text) {
      g_set_error (error, NERVE_ERROR, NERVE_ERROR_FORMAT, "%s:%d: empty %s", name, line, *label ? "text" : "label");
      goto out;
    }
    builder_add (&b, g_strdup (text), g_strdup (label), line);
  }
  d = builder_finish (&b, o, error);
out:
  builder_clear (&b);
  return d;
}

NerveTextDataset *
nerve_text_dataset_load (const char *path, const NerveTextLoadOptions *o, GError **error)
{
  g_autoptr (GBytes) bytes = nerve_read_file (path, (gsize) 4 << 30, error);
  if (!bytes)
    return NULL;
  gsize len;
  const char *data = g_bytes_get_data (bytes, &len);
  return nerve_text_dataset_load_data (data ? data : "", len, path, o, error);
}

/* ---- splits ---- */

guint8 *
nerve_holdout_mask (int n, double fraction, guint64 seed, int *count, GError **error)
{
  if (n < 2 || !(fraction > 0 && fraction < 1)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "a held-out split needs a fraction in (0, 1) and at least 2 samples (got %g of %d)", fraction, n);
    return NULL;
  }
  int k = CLAMP ((int) (n * fraction + 0.5), 1, n - 1);
  int *perm = g_new (int, n);
  for (int i = 0; i < n; i++)
    perm[i] = i;
  NerveRng rng;
  nerve_rng_seed (&rng, seed);
  nerve_rng_shuffle (&rng, perm, n);
  guint8 *mask = g_new0 (guint8, n);
  for (int i = 0; i < k; i++)
    mask[perm[i]] = 1;
  g_free (perm);
  if (count)
    *count = k;
  return mask;
}

/* Keeps the samples with keep[i] in d (in order); the others go to the returned set
 * when take is TRUE, else are freed. */
static NerveTextDataset *
partition (NerveTextDataset *d, const guint8 *keep, gboolean take)
{
  NerveTextDataset *o = NULL;
  int n_out = 0;
  for (int i = 0; i < d->n; i++)
    n_out += !keep[i];
  if (take) {
    o = g_new0 (NerveTextDataset, 1);
    o->texts = g_new0 (char *, n_out + 1);
    o->labels = g_new (int, MAX (n_out, 1));
    o->groups = d->groups ? g_new (int, MAX (n_out, 1)) : NULL;
    o->roots = d->roots ? g_new (guint8, MAX (n_out, 1)) : NULL;
    o->n_classes = d->n_classes;
    o->label_names = g_strdupv (d->label_names);
  }
  int a = 0, b = 0;
  for (int i = 0; i < d->n; i++) {
    if (keep[i]) {
      d->texts[a] = d->texts[i];
      d->labels[a] = d->labels[i];
      if (d->groups)
        d->groups[a] = d->groups[i], d->roots[a] = d->roots[i];
      a++;
    } else if (take) {
      o->texts[b] = d->texts[i];
      o->labels[b] = d->labels[i];
      if (d->groups)
        o->groups[b] = d->groups[i], o->roots[b] = d->roots[i];
      b++;
    } else {
      g_free (d->texts[i]);
    }
  }
  d->texts[a] = NULL;
  d->n = a;
  if (o)
    o->n = b;
  return o;
}

NerveTextDataset *
nerve_text_dataset_split (NerveTextDataset *d, double fraction, guint64 seed, GError **error)
{
  int units = d->n;
  if (d->groups) {
    units = 0;
    for (int i = 0; i < d->n; i++)
      units = MAX (units, d->groups[i] + 1);
  }
  g_autofree guint8 *held = nerve_holdout_mask (units, fraction, seed, NULL, error);
  if (!held)
    return NULL;
  g_autofree guint8 *keep = g_new (guint8, MAX (d->n, 1));
  int kept = 0;
  for (int i = 0; i < d->n; i++)
    kept += keep[i] = !held[d->groups ? d->groups[i] : i];
  if (kept == 0 || kept == d->n) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
                 "a held-out split of %g leaves one side empty (%d samples)", fraction, d->n);
    return NULL;
  }
  return partition (d, keep, TRUE);
}

void
nerve_text_dataset_keep_roots (NerveTextDataset *d)
{
  if (d->roots)
    partition (d, d->roots, FALSE);
  g_clear_pointer (&d->groups, g_free);
  g_clear_pointer (&d->roots, g_free);
}

void
nerve_text_dataset_dedup (NerveTextDataset *d)
{
  g_autoptr (GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree guint8 *keep = g_new (guint8, MAX (d->n, 1));
  for (int i = 0; i < d->n; i++)
    keep[i] = g_hash_table_add (seen, d->texts[i]);
  g_hash_table_remove_all (seen); /* before partition frees the strings it points to */
  partition (d, keep, FALSE);
}

/* ---- tokenization ---- */

NerveDataset *
nerve_text_dataset_encode (const NerveTextDataset *d, const NerveTokenizer *t, int max_length, int *n_truncated,
                           GError **error)
{
  if (max_length < 1 || max_length > (1 << 20)) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "max_length must be in [1, 2^20], got %d", max_length);
    return NULL;
  }
  g_autoptr (NerveDataset) o = g_new0 (NerveDataset, 1);
  o->n = d->n;
  o->shape = nerve_shape_make (1, max_length);
  o->stride = (gsize) max_length;
  o->n_classes = d->n_classes;
  o->labels = g_strdupv (d->label_names);
  o->y = g_memdup2 (d->labels, sizeof (int) * MAX (d->n, 1));
  o->lengths = g_new (int, MAX (d->n, 1));
  if (!(o->x = nerve_alloc_floats ((gsize) MAX (d->n, 1) * max_length))) {
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_NOMEM, "cannot allocate %d x %d token ids", d->n, max_length);
    return NULL;
  }
  memset (o->x, 0, sizeof (float) * (gsize) d->n * max_length);
  g_autoptr (GArray) ids = g_array_new (FALSE, FALSE, sizeof (gint32));
  int truncated = 0;
  for (int i = 0; i < d->n; i++) {
    if (!nerve_tokenizer_encode (t, d->texts[i], -1, ids, NULL, error))
      return NULL;
    int len = MIN ((int) ids->len, max_length);
    truncated += (int) ids->len > max_length;
    float *x = o->x + (gsize) i * max_length;
    for (int k = 0; k < len; k++)
      x[k] = (float) g_array_index (ids, gint32, k);
    o->lengths[i] = len;
  }
  if (n_truncated)
    *n_truncated = truncated;
  return g_steal_pointer (&o);
}

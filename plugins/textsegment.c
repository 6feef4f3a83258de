/* Cutting a UTF-8 text stream into units (lines or sentences); see textsegment.h. */
#include "textsegment.h"

#include <string.h>

static inline gboolean
is_space (guint8 c)
{
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static inline gboolean
is_terminator (guint8 c)
{
  return c == '.' || c == '!' || c == '?';
}

/* Length of a closing quote or bracket at d[i] (0: none; -1: cut off at the end). */
static int
closer_len (const guint8 *d, gsize i, gsize len)
{
  static const char *const closers[] = { "\"", "'", ")", "]", "\xe2\x80\x9d", "\xe2\x80\x99", "\xc2\xbb" };
  for (guint k = 0; k < G_N_ELEMENTS (closers); k++) {
    gsize n = strlen (closers[k]);
    gsize avail = MIN (n, len - i);
    if (memcmp (d + i, closers[k], avail) == 0)
      return avail == n ? (int) n : -1;
  }
  return 0;
}

/* "J. Smith", "Mr. Smith", "e.g. this": a single '.' after these does not end a sentence. */
static gboolean
is_abbreviation (const guint8 *d, gsize unit_start, gsize dot)
{
  static const char *const abbr[] = { "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "vs", "e.g", "i.e", "cf" };
  gsize w = dot;
  while (w > unit_start && !is_space (d[w - 1]) && d[w - 1] != '(' && d[w - 1] != '"')
    w--;
  gsize n = dot - w;
  if (n == 1 && g_ascii_isalpha (d[w]))
    return TRUE;
  for (guint k = 0; k < G_N_ELEMENTS (abbr); k++)
    if (strlen (abbr[k]) == n && g_ascii_strncasecmp ((const char *) d + w, abbr[k], n) == 0)
      return TRUE;
  return FALSE;
}

gboolean
nerve_text_find_boundary (GstNerveSentimentSegment mode, const guint8 *d, gsize unit_start, gsize from, gsize len,
               gsize *text_end, gsize *next, gsize *resume)
{
  if (mode == GST_NERVE_SENTIMENT_SEGMENT_LINE) {
    const guint8 *nl = from < len ? memchr (d + from, '\n', len - from) : NULL;
    if (!nl) {
      *resume = len;
      return FALSE;
    }
    *text_end = (gsize) (nl - d);
    *next = *text_end + 1;
    return TRUE;
  }
  for (gsize i = from; i < len; i++) {
    if (d[i] == '\n') { /* a blank line ends a sentence too */
      gsize j = i + 1;
      while (j < len && (d[j] == ' ' || d[j] == '\t' || d[j] == '\r'))
        j++;
      if (j == len) {
        *resume = i;
        return FALSE;
      }
      if (d[j] == '\n') {
        *text_end = i;
        *next = j + 1;
        return TRUE;
      }
      continue;
    }
    if (!is_terminator (d[i]))
      continue;
    gsize j = i;
    while (j < len && is_terminator (d[j]))
      j++;
    const gsize run = j - i;
    int c;
    while (j < len && (c = closer_len (d, j, len)) > 0)
      j += (gsize) c;
    if (j >= len || closer_len (d, j, len) < 0) { /* cannot tell yet what follows */
      *resume = i;
      return FALSE;
    }
    if (is_space (d[j]) && !(run == 1 && d[i] == '.' && is_abbreviation (d, unit_start, i))) {
      *text_end = *next = j;
      return TRUE;
    }
    i = j - 1;
  }
  *resume = len;
  return FALSE;
}

gchar *
nerve_text_unit (GstNerveSentimentSegment mode, const guint8 *d, gsize n, gboolean *replaced)
{
  gsize a = 0, b = n;
  if (mode == GST_NERVE_SENTIMENT_SEGMENT_LINE) {
    if (b > 0 && d[b - 1] == '\r')
      b--;
  } else {
    while (a < b && is_space (d[a]))
      a++;
    while (b > a && is_space (d[b - 1]))
      b--;
  }
  gsize k = a;
  while (k < b && is_space (d[k]))
    k++;
  if (k == b)
    return NULL;
  gchar *s;
  if (g_utf8_validate_len ((const gchar *) d + a, b - a, NULL)) {
    *replaced = FALSE;
    s = g_strndup ((const gchar *) d + a, b - a);
  } else {
    *replaced = TRUE;
    s = g_utf8_make_valid ((const gchar *) d + a, (gssize) (b - a));
  }
  if (mode == GST_NERVE_SENTIMENT_SEGMENT_SENTENCE)
    for (gchar *p = s; *p; p++)
      if (*p == '\n' || *p == '\r' || *p == '\t')
        *p = ' ';
  return s;
}


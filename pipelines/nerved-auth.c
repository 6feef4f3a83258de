/* nerved: bearer tokens (nerved-request.h). The file must be private to its owner, checked
 * with fstat on the descriptor that is then read (no race between check and read). Tokens
 * are kept as SHA-256 digests and compared in constant time over the digests, so neither
 * the content nor the length of a token leaks through timing. */
#include "nerved-request.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nerved-error.h"

#define MAX_TOKEN_FILE (1024 * 1024)
#define DIGEST 32

struct NervedTokens {
  guint n;
  guint8 (*digest)[DIGEST];
};

static void
sha256 (const char *s, gsize len, guint8 out[DIGEST])
{
  g_autoptr (GChecksum) c = g_checksum_new (G_CHECKSUM_SHA256);
  g_checksum_update (c, (const guchar *) s, len);
  gsize n = DIGEST;
  g_checksum_get_digest (c, out, &n);
}

G_GNUC_PRINTF (3, 4) static void
config_error (GError **error, const char *path, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  g_autofree char *why = g_strdup_vprintf (fmt, ap);
  va_end (ap);
  g_set_error (error, NERVED_ERROR, NERVED_ERROR_CONFIG, "token file %s: %s", path, why);
}

NervedTokens *
nerved_tokens_load (const char *path, GError **error)
{
  int fd = open (path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    config_error (error, path, "%s", g_strerror (errno));
    return NULL;
  }
  struct stat st;
  if (fstat (fd, &st) != 0 || !S_ISREG (st.st_mode)) {
    config_error (error, path, "not a regular file");
    close (fd);
    return NULL;
  }
  if (st.st_mode & 0077) {
    config_error (error, path, "mode %04o lets others read or write it; it must be 0600 or 0400 (chmod 600 %s)",
                  (unsigned) (st.st_mode & 07777), path);
    close (fd);
    return NULL;
  }
  if (st.st_size > MAX_TOKEN_FILE) {
    config_error (error, path, "larger than %d bytes", MAX_TOKEN_FILE);
    close (fd);
    return NULL;
  }
  g_autofree char *data = g_malloc ((gsize) st.st_size + 1);
  gsize got = 0;
  while (got < (gsize) st.st_size) {
    ssize_t r = read (fd, data + got, (gsize) st.st_size - got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    got += (gsize) r;
  }
  close (fd);
  data[got] = '\0';

  g_autoptr (GArray) digests = g_array_new (FALSE, FALSE, DIGEST);
  g_auto (GStrv) lines = g_strsplit (data, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    char *t = g_strstrip (lines[i]);
    if (!*t || *t == '#')
      continue;
    for (const char *c = t; *c; c++)
      if ((guchar) *c <= 0x20 || (guchar) *c >= 0x7f) {
        config_error (error, path, "line %u: a token is one word of printable ASCII", i + 1);
        return NULL;
      }
    guint8 d[DIGEST];
    sha256 (t, strlen (t), d);
    g_array_append_val (digests, d);
  }
  if (digests->len == 0) {
    config_error (error, path, "no tokens in it (one per line; # starts a comment)");
    return NULL;
  }
  NervedTokens *tokens = g_new0 (NervedTokens, 1);
  tokens->n = digests->len;
  tokens->digest = (guint8 (*)[DIGEST]) (void *) g_array_free (g_steal_pointer (&digests), FALSE);
  return tokens;
}

void
nerved_tokens_free (NervedTokens *t)
{
  if (!t)
    return;
  memset (t->digest, 0, (gsize) t->n * DIGEST);
  g_free (t->digest);
  g_free (t);
}

gboolean
nerved_tokens_check (const NervedTokens *t, const char *authorization)
{
  if (!t || !authorization || g_ascii_strncasecmp (authorization, "Bearer ", 7) != 0)
    return FALSE;
  const char *token = authorization + 7;
  while (*token == ' ')
    token++;
  gsize len = strlen (token);
  while (len > 0 && (token[len - 1] == ' ' || token[len - 1] == '\t'))
    len--;
  if (len == 0)
    return FALSE;
  guint8 d[DIGEST];
  sha256 (token, len, d);
  /* every stored token is compared in full: no early exit on a match or a mismatch */
  guint found = 0;
  for (guint i = 0; i < t->n; i++) {
    guint diff = 0;
    for (guint k = 0; k < DIGEST; k++)
      diff |= (guint) (d[k] ^ t->digest[i][k]);
    found |= (guint) (diff == 0);
  }
  return found != 0;
}

/* nervectl: what its two files share (nervectl.c: commands, requests, output;
 * nervectl-events.c: the Server-Sent Events follower). */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#define NERVECTL_VERSION "0.1"
#define NERVECTL_DEFAULT_URL "http://127.0.0.1:8780"
#define NERVECTL_TIMEOUT_S 120   /* I/O timeout of ordinary requests (stop waits for EOS) */

enum {
  NERVECTL_EXIT_API = 1,      /* the daemon answered with an error; a job failed */
  NERVECTL_EXIT_USAGE = 2,
  NERVECTL_EXIT_CONNECT = 3,  /* the daemon could not be reached */
};

typedef struct {
  char *url;                  /* base URL without a trailing '/' */
  char *token;                /* bearer token or NULL */
  SoupSession *session;
} NervectlCtx;

typedef struct {
  GPtrArray *args;            /* positional arguments after the command (borrowed) */
  const char *id, *restart, *output, *after, *count, *timeout;
  gboolean no_start, no_wait, help;
} NervectlArgs;

/* A request to c->url + path with the Authorization header set; NULL if it is no URL. */
SoupMessage *nervectl_message (NervectlCtx *c, const char *method, const char *path);
/* Prints why the daemon could not be reached (naming the URL); returns NERVECTL_EXIT_CONNECT. */
int nervectl_transport_error (NervectlCtx *c, SoupMessage *msg, const GError *error);
/* Prints "nervectl: <message> (<code>, HTTP <status>)" from an error answer; returns 1. */
int nervectl_api_error (guint status, const char *reason, GBytes *body);
char *nervectl_pretty (JsonNode *node);  /* `"key": value`, two-space indent */

int nervectl_events (NervectlCtx *c, NervectlArgs *a);

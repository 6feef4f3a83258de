/* CUnit helpers shared by the nerved API suites (test-nerved-api.c, test-nerved-jobs.c):
 * a per-suite temp tree (data root, spool), the daemon with the fixture templates, and
 * short request/assert helpers. Built on nerved-harness.h. */
#pragma once

#include "check.h"
#include "nerved-harness.h"

#define START_MS 120000   /* the first start may scan the plugin registry (sanitizers: slow) */
#define WAIT_MS 20000

extern char *api_tmp_root;            /* per suite: data/ (the data root), spool/, templates/ */
void api_setup_dirs (void);
const char *api_data_dir (void);
void api_cleanup (void);              /* removes the temp tree (the suites' last test) */

/* nerved with templates (api_start: tests/fixtures/templates), the data root and spool, and
 * extra args (NULL-terminated, may be NULL); NULL after printing why. */
NervedProc *api_start_with (const char *templates, const char *const *extra);
NervedProc *api_start (const char *const *extra);
/* Writes text to api_tmp_root/name (a config file, say); returns the path. */
char *api_write_file (const char *name, const char *text);
/* nerved with templates (NULL: the fixtures) and a config file of conf_text. */
NervedProc *api_start_config (const char *templates, const char *conf_text);
/* SIGTERM; asserts exit status 0 (prints the log otherwise); frees. */
void api_stop (NervedProc *p);

NervedReply *api_post (NervedProc *p, const char *path, const char *json);
NervedReply *api_get (NervedProc *p, const char *path);
/* POST /v1/pipelines, asserts 201 and Location; the id or NULL. */
char *api_create (NervedProc *p, const char *json);
gint64 api_status_int (NervedProc *p, const char *id, const char *member);   /* -1 when absent */
gboolean api_wait_state (NervedProc *p, const char *id, const char *state);  /* WAIT_MS */
/* Asserts status, error code and (when not NULL) a piece of the message. */
void api_expect_error (NervedReply *r, guint status, const char *code, const char *message_has);
/* POSTs json to path and checks the error answer as api_expect_error does. */
void api_post_expect_error (NervedProc *p, const char *path, const char *json, guint status, const char *code,
    const char *message_has);
/* A 16-bit mono 16 kHz WAV of a 440 Hz tone, dir/tone.wav; returns the path. */
char *api_write_tone_wav (const char *dir, double seconds);
/* Removes path and, for a directory, everything below it (symbolic links are not followed). */
void api_rm_rf (const char *path);

guint32 api_le32 (const guchar *b);
/* A WAV whose RIFF size and chunk walk both end exactly at n (the header was fixed at EOS):
 * the "data" chunk size; 0 when the file is not consistent. */
guint32 api_wav_data_size (const guchar *b, gsize n);

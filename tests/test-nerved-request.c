/* nerved requests: create-pipeline bodies (valid, unknown fields, wrong types, truncated,
 * garbage, huge, invalid UTF-8), ids, query parameters, bearer token files, config files. */
#include <glib/gstdio.h>
#include <string.h>

#include "check.h"
#include "nerved-api-check.h"
#include "nerved-daemon.h"
#include "nerved-error.h"
#include "nerved-request.h"

static char *dir;

static gboolean
parse_ok (const char *body, NervedCreateRequest *r)
{
  g_autoptr (GError) e = NULL;
  gboolean ok = nerved_create_request_parse (body, strlen (body), r, &e);
  if (!ok)
    fprintf (stderr, "  %s: %s\n", body, e->message);
  return ok;
}

/* Refused with BAD_REQUEST whose message holds expect (when not NULL). */
static void
refused (const char *body, gsize len, const char *expect)
{
  NervedCreateRequest r;
  g_autoptr (GError) e = NULL;
  gboolean ok = nerved_create_request_parse (body, len, &r, &e);
  gboolean good = !ok && g_error_matches (e, NERVED_ERROR, NERVED_ERROR_BAD_REQUEST) && (!expect || strstr (e->message, expect));
  if (!good)
    fprintf (stderr, "  %.60s: %s, expected '%s'\n", body, ok ? "accepted" : e->message, expect ? expect : "");
  CU_ASSERT_TRUE (good);
  if (ok)
    nerved_create_request_clear (&r);
}

#define REFUSED(body, expect) refused (body, strlen (body), expect)

static void
test_create_valid (void)
{
  NervedCreateRequest r;
  CU_ASSERT_TRUE_FATAL (parse_ok ("{\"template\": \"denoise-file\", \"params\": {\"mix\": 0.5, \"input\": \"a.wav\"}, "
                                  "\"id\": \"my-denoiser_1\", \"restart\": \"on-failure\", \"start\": false}",
                                  &r));
  CU_ASSERT_STRING_EQUAL (r.template_name, "denoise-file");
  CU_ASSERT_PTR_NULL (r.launch);
  CU_ASSERT_STRING_EQUAL (r.id, "my-denoiser_1");
  CU_ASSERT_TRUE (r.has_restart && r.restart == NERVED_RESTART_ON_FAILURE);
  CU_ASSERT_FALSE (r.start);
  CU_ASSERT_EQUAL (json_object_get_size (r.params), 2);
  CU_ASSERT_EQUAL (json_object_get_double_member (r.params, "mix"), 0.5);
  nerved_create_request_clear (&r);
  CU_ASSERT_PTR_NULL (r.params);
  nerved_create_request_clear (&r); /* twice is fine */

  CU_ASSERT_TRUE_FATAL (parse_ok ("  {\"launch\": \"audiotestsrc ! fakesink\"}\n", &r));
  CU_ASSERT_STRING_EQUAL (r.launch, "audiotestsrc ! fakesink");
  CU_ASSERT_PTR_NULL (r.template_name);
  CU_ASSERT_PTR_NULL (r.id);
  CU_ASSERT_PTR_NOT_NULL (r.params); /* never NULL */
  CU_ASSERT_EQUAL (json_object_get_size (r.params), 0);
  CU_ASSERT_FALSE (r.has_restart);
  CU_ASSERT_TRUE (r.start);
  nerved_create_request_clear (&r);

  /* UTF-8 in values is fine */
  CU_ASSERT_TRUE_FATAL (parse_ok ("{\"template\": \"t\", \"params\": {\"s\": \"caf\xc3\xa9 \\u00e9 \\ud83d\\ude00\", "
                                  "\"n\": -1.5e+3, \"z\": 0, \"l\": [true, false, null, {}, []]}}",
                                  &r));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (r.params, "s"), "caf\xc3\xa9 \xc3\xa9 \xf0\x9f\x98\x80");
  CU_ASSERT_EQUAL (json_object_get_double_member (r.params, "n"), -1500.0);
  nerved_create_request_clear (&r);
}

static void
test_create_refused (void)
{
  REFUSED ("{\"template\": \"t\", \"colour\": 1, \"size\": 2}", "unknown fields 'colour', 'size'");
  REFUSED ("{\"template\": \"t\", \"x\": null}", "unknown field 'x'");
  REFUSED ("{\"template\": 5}", "template: expected a string");
  REFUSED ("{\"template\": \"\"}", "template: must not be empty");
  REFUSED ("{\"template\": [\"t\"]}", "template: expected a string");
  REFUSED ("{\"launch\": true}", "launch: expected a string");
  REFUSED ("{\"template\": \"t\", \"id\": 7}", "id: expected a string");
  REFUSED ("{\"template\": \"t\", \"id\": \"a b\"}", "id: must be");
  REFUSED ("{\"template\": \"t\", \"id\": \"../x\"}", "id: must be");
  REFUSED ("{\"template\": \"t\", \"params\": [1]}", "params: expected an object");
  REFUSED ("{\"template\": \"t\", \"params\": \"a=b\"}", "params");
  REFUSED ("{\"template\": \"t\", \"restart\": \"sometimes\"}", "restart: 'sometimes'");
  REFUSED ("{\"template\": \"t\", \"restart\": 1}", "restart: expected a string");
  REFUSED ("{\"template\": \"t\", \"start\": \"yes\"}", "start: expected true or false");
  REFUSED ("{\"template\": \"t\", \"start\": 1}", "start");
  REFUSED ("{\"template\": \"t\", \"launch\": \"fakesrc ! fakesink\"}", "not both");
  REFUSED ("{}", "template (or launch) is required");
  REFUSED ("{\"params\": {}}", "required");
  /* not JSON objects */
  REFUSED ("", "empty body");
  refused (NULL, 0, "empty body");
  REFUSED ("[]", "expected a JSON object");
  REFUSED ("\"template\"", "expected a JSON object");
  REFUSED ("42", "expected a JSON object");
  REFUSED ("null", "expected a JSON object");
  REFUSED ("{\"template\": \"t\"", "invalid JSON");       /* truncated */
  REFUSED ("{\"template\": \"t\"} {}", "trailing characters");   /* trailing garbage */
  REFUSED ("   ", "expected a value");
  REFUSED ("{\"template\": \"t\",}", "expected a member name");
  REFUSED ("{\"template\": \"t\", \"params\": {\"a\": 01}}", "expected ',' or '}'");
  REFUSED ("{\"template\": \"t\", \"params\": {\"a\": 1.}}", "bad number");
  REFUSED ("{\"template\": \"t\", \"params\": {\"a\": -}}", "bad number");
  REFUSED ("{\"template\": \"t\", \"params\": {\"a\": NaN}}", "expected a value");
  REFUSED ("{\"template\": \"t\", \"params\": {\"a\": [1 2]}}", "expected ',' or ']'");
  REFUSED ("{\"template\": \"t\\x\"}", "bad escape");
  REFUSED ("{\"template\": \"t\\u00\"}", "bad \\u escape");
  REFUSED ("{\"template\": \"t\\u0000\"}", "\\u0000");
  REFUSED ("{\"template\": \"t\\ud800\"}", "unpaired surrogate");
  REFUSED ("{\"template\": \"t\\udc00\"}", "unpaired surrogate");
  REFUSED ("{\"template\": \"a\tb\"}", "control character");
  REFUSED ("{\"template\": \"t\" /* c */}", "expected ',' or '}'");
  REFUSED ("{\"template\": \"t\"} x", "invalid JSON");
  REFUSED ("{\"template\": 't'}", "invalid JSON");
  REFUSED ("{template: \"t\"}", "invalid JSON");
  REFUSED ("\x01\x02garbage", "invalid JSON");
  REFUSED ("{\"template\": \"\xff\xfe\"}", "not valid UTF-8");
  REFUSED ("{\"template\": \"\xc3\"}", "not valid UTF-8");
  refused ("{\"template\": \"t\"}\0{\"x\":1}", 26, "not valid UTF-8"); /* an embedded NUL */
  /* deep and huge */
  g_autoptr (GString) deep = g_string_new ("{\"template\": \"t\", \"params\": {\"a\": ");
  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  refused (deep->str, deep->len, "nested too deeply");
  g_autoptr (GString) huge = g_string_new ("{\"template\": \"t\", \"params\": {");
  for (int i = 0; i < 20000; i++)
    g_string_append_printf (huge, "%s\"p%d\": \"%0100d\"", i ? ", " : "", i, i);
  g_string_append (huge, "}}");
  NervedCreateRequest r;
  g_autoptr (GError) e = NULL;
  CU_ASSERT_TRUE (nerved_create_request_parse (huge->str, huge->len, &r, &e)); /* big but valid: the size limit is HTTP's */
  if (!e) {
    CU_ASSERT_EQUAL (json_object_get_size (r.params), 20000);
    nerved_create_request_clear (&r);
  }
  g_autofree char *many = g_strnfill (200000, ' ');
  refused (many, strlen (many), "expected a value");
}

static void
test_ids (void)
{
  CU_ASSERT_TRUE (nerved_id_valid ("a"));
  CU_ASSERT_TRUE (nerved_id_valid ("My_pipeline-01"));
  g_autofree char *n64 = g_strnfill (64, 'x'), *n65 = g_strnfill (65, 'x');
  CU_ASSERT_TRUE (nerved_id_valid (n64));
  CU_ASSERT_FALSE (nerved_id_valid (n65));
  const char *bad[] = { "", "a b", "a/b", "..", "a.b", "\xc3\xa9", "a\n", "a%20", NULL };
  for (int i = 0; bad[i]; i++)
    CU_ASSERT_FALSE (nerved_id_valid (bad[i]));
  CU_ASSERT_FALSE (nerved_id_valid (NULL));
}

static void
test_query (void)
{
  g_autoptr (GHashTable) q = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (q, "template", "denoise-file");
  g_hash_table_insert (q, "wait", "1");
  g_hash_table_insert (q, "mix", "0.5");
  g_hash_table_insert (q, "attenuation-limit", "30");
  const char *reserved[] = { "template", "wait", NULL };
  g_autoptr (GError) e = NULL;
  g_autoptr (JsonObject) o = nerved_query_to_params (q, reserved, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_EQUAL (json_object_get_size (o), 2);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "mix"), "0.5");
  CU_ASSERT_FALSE (json_object_has_member (o, "wait"));
  g_autoptr (GList) names = json_object_get_members (o);
  CU_ASSERT_STRING_EQUAL (names->data, "attenuation-limit"); /* sorted */
  g_hash_table_insert (q, "bad", "\xff");
  g_autoptr (JsonObject) o2 = nerved_query_to_params (q, reserved, &e);
  CU_ASSERT_PTR_NULL (o2);
  CU_ASSERT_TRUE (g_error_matches (e, NERVED_ERROR, NERVED_ERROR_BAD_REQUEST) && strstr (e->message, "bad"));
  g_autoptr (JsonObject) o3 = nerved_query_to_params (NULL, NULL, NULL);
  CU_ASSERT_TRUE (o3 && json_object_get_size (o3) == 0);
}

static char *
token_file (const char *name, const char *content, int mode)
{
  char *path = g_build_filename (dir, name, NULL);
  g_file_set_contents (path, content, -1, NULL);
  g_chmod (path, mode);
  return path;
}

static void
tokens_refused (const char *path, const char *expect)
{
  g_autoptr (GError) e = NULL;
  NervedTokens *t = nerved_tokens_load (path, &e);
  CU_ASSERT_PTR_NULL (t);
  gboolean ok = g_error_matches (e, NERVED_ERROR, NERVED_ERROR_CONFIG) && strstr (e->message, path) && strstr (e->message, expect);
  if (!ok)
    fprintf (stderr, "  %s: '%s', expected '%s'\n", path, e ? e->message : "loaded", expect);
  CU_ASSERT_TRUE (ok);
  nerved_tokens_free (t);
}

static void
test_tokens (void)
{
  const char *content = "# tokens\n\n  s3cret-token-one  \nsecond\n";
  g_autofree char *open_file = token_file ("t644", content, 0644);
  tokens_refused (open_file, "mode 0644");
  g_autofree char *group = token_file ("t640", content, 0640);
  tokens_refused (group, "mode 0640");
  g_autofree char *world_w = token_file ("t602", content, 0602);
  tokens_refused (world_w, "0600");
  g_autofree char *empty = token_file ("empty", "# only a comment\n\n", 0600);
  tokens_refused (empty, "no tokens");
  g_autofree char *spaced = token_file ("spaced", "two words\n", 0600);
  tokens_refused (spaced, "line 1");
  tokens_refused ("/nonexistent/tokens", "No such file");
  tokens_refused (dir, "not a regular file");

  g_autofree char *ro = token_file ("t400", "only\n", 0400);
  g_autoptr (GError) e = NULL;
  NervedTokens *t400 = nerved_tokens_load (ro, &e);
  CU_ASSERT_PTR_NOT_NULL (t400);
  CU_ASSERT_TRUE (nerved_tokens_check (t400, "Bearer only"));
  nerved_tokens_free (t400);

  g_autofree char *good = token_file ("t600", content, 0600);
  NervedTokens *t = nerved_tokens_load (good, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  CU_ASSERT_TRUE (nerved_tokens_check (t, "Bearer s3cret-token-one"));
  CU_ASSERT_TRUE (nerved_tokens_check (t, "Bearer second"));
  CU_ASSERT_TRUE (nerved_tokens_check (t, "bearer second"));   /* the scheme is case-insensitive */
  CU_ASSERT_TRUE (nerved_tokens_check (t, "Bearer   second "));
  const char *wrong[] = { "Bearer s3cret-token-on", "Bearer s3cret-token-one1", "Bearer S3CRET-TOKEN-ONE", "Bearer ",
                          "Bearer", "Basic c2Vjb25k", "second", "Bearersecond", "Bearer # tokens", "Bearer tokens",
                          "", "Bearer second\n", NULL };
  for (int i = 0; wrong[i]; i++) {
    gboolean accepted = nerved_tokens_check (t, wrong[i]);
    if (accepted)
      fprintf (stderr, "  '%s' accepted\n", wrong[i]);
    CU_ASSERT_FALSE (accepted);
  }
  CU_ASSERT_FALSE (nerved_tokens_check (t, NULL));
  CU_ASSERT_FALSE (nerved_tokens_check (NULL, "Bearer second"));
  nerved_tokens_free (t);
  nerved_tokens_free (NULL);
}

static char *
config_file (const char *content)
{
  char *path = g_build_filename (dir, "nerved.conf", NULL);
  g_file_set_contents (path, content, -1, NULL);
  return path;
}

static void
config_refused (const char *content, const char *expect)
{
  g_autofree char *path = config_file (content);
  NervedConfig c;
  nerved_config_init (&c);
  g_autoptr (GError) e = NULL;
  gboolean ok = nerved_config_load (&c, path, &e);
  gboolean good = !ok && g_error_matches (e, NERVED_ERROR, NERVED_ERROR_CONFIG) && strstr (e->message, path) &&
                  strstr (e->message, expect);
  if (!good)
    fprintf (stderr, "  %s: '%s', expected '%s'\n", content, ok ? "loaded" : e->message, expect);
  CU_ASSERT_TRUE (good);
  nerved_config_clear (&c);
}

static void
test_config (void)
{
  NervedConfig c;
  nerved_config_init (&c);
  CU_ASSERT_STRING_EQUAL (c.listen, "127.0.0.1:8780");
  CU_ASSERT_TRUE (c.template_dirs && c.template_dirs[0] && g_str_has_suffix (c.template_dirs[0], "nerve/pipelines"));
  CU_ASSERT_TRUE (c.data_roots && !c.data_roots[0]);
  CU_ASSERT_PTR_NULL (c.token_file);
  CU_ASSERT_PTR_NOT_NULL (c.spool_dir);
  CU_ASSERT_FALSE (c.allow_launch);
  CU_ASSERT_TRUE (c.max_pipelines == 64 && c.max_sse_clients == 256 && c.max_jobs == 4);
  CU_ASSERT_TRUE (c.max_body_bytes == 1048576 && c.max_upload_bytes == 268435456 && c.max_header_bytes == 16384);
  CU_ASSERT_TRUE (c.event_buffer == 1024 && c.stop_timeout_ms == 5000 && c.drain_timeout_ms == 10000);
  CU_ASSERT_TRUE (c.backoff_initial_ms == 500 && c.backoff_max_ms == 30000 && c.max_restarts == 0);
  CU_ASSERT_TRUE (c.job_timeout_s == 600 && c.job_max_results == 100000);

  g_autofree char *path = config_file ("# nerved\n[nerved]\nlisten = 0.0.0.0:9000\ntemplates = /a;/b;\n"
                                       "data-roots = /srv/audio\ntoken-file = /etc/nerved/tokens\nspool-dir = /var/spool/n\n"
                                       "allow-launch = true\nmax-pipelines = 8\nmax-sse-clients = 3\nmax-jobs = 2\n"
                                       "max-body-bytes = 64K\nmax-upload-bytes = 1G\nmax-header-bytes = 8192\n"
                                       "event-buffer = 16\nstop-timeout-ms = 100\ndrain-timeout-ms = 200\n"
                                       "backoff-initial-ms = 10\nbackoff-max-ms = 20\nmax-restarts = 5\n"
                                       "job-timeout = 30\njob-max-results = 7\n");
  g_autoptr (GError) e = NULL;
  CU_ASSERT_TRUE_FATAL (nerved_config_load (&c, path, &e));
  CU_ASSERT_STRING_EQUAL (c.listen, "0.0.0.0:9000");
  CU_ASSERT_EQUAL (g_strv_length (c.template_dirs), 2);
  CU_ASSERT_STRING_EQUAL (c.template_dirs[1], "/b");
  CU_ASSERT_STRING_EQUAL (c.data_roots[0], "/srv/audio");
  CU_ASSERT_STRING_EQUAL (c.token_file, "/etc/nerved/tokens");
  CU_ASSERT_STRING_EQUAL (c.spool_dir, "/var/spool/n");
  CU_ASSERT_TRUE (c.allow_launch);
  CU_ASSERT_TRUE (c.max_pipelines == 8 && c.max_sse_clients == 3 && c.max_jobs == 2);
  CU_ASSERT_TRUE (c.max_body_bytes == 65536 && c.max_upload_bytes == 1073741824 && c.max_header_bytes == 8192);
  CU_ASSERT_TRUE (c.event_buffer == 16 && c.stop_timeout_ms == 100 && c.drain_timeout_ms == 200);
  CU_ASSERT_TRUE (c.backoff_initial_ms == 10 && c.backoff_max_ms == 20 && c.max_restarts == 5);
  CU_ASSERT_TRUE (c.job_timeout_s == 30 && c.job_max_results == 7);
  nerved_config_clear (&c);
  nerved_config_clear (&c);

  const char *sizes[][2] = { { "1M", "1048576" }, { "2MiB", "2097152" }, { "3kb", "3072" }, { "7", "7" }, { "1g", "1073741824" } };
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++) {
    g_autofree char *txt = g_strdup_printf ("[nerved]\nmax-body-bytes = %s\n", sizes[i][0]);
    g_autofree char *p = config_file (txt);
    nerved_config_init (&c);
    CU_ASSERT_TRUE (nerved_config_load (&c, p, NULL));
    CU_ASSERT_EQUAL (c.max_body_bytes, g_ascii_strtoull (sizes[i][1], NULL, 10));
    nerved_config_clear (&c);
  }

  config_refused ("[nerved]\nlisten = :1\nmax-pipelnes = 3\n", "max-pipelnes: unknown key");
  config_refused ("[nerved]\n[other]\na = 1\n", "unknown group [other]");
  config_refused ("[nerved]\nmax-pipelines = many\n", "max-pipelines: 'many'");
  config_refused ("[nerved]\nmax-pipelines = -1\n", "max-pipelines");
  config_refused ("[nerved]\nmax-pipelines = 99999999999\n", "max-pipelines");
  config_refused ("[nerved]\nmax-pipelines = 0\n", "max-pipelines: must be more than 0");
  config_refused ("[nerved]\nmax-body-bytes = 1T\n", "max-body-bytes: '1T'");
  config_refused ("[nerved]\nmax-body-bytes = K\n", "max-body-bytes");
  config_refused ("[nerved]\nmax-body-bytes = 99999999999999999999G\n", "max-body-bytes");
  config_refused ("[nerved]\nallow-launch = yes\n", "allow-launch");
  config_refused ("[nerved]\nlisten =\n", "listen: empty");
  config_refused ("[nerved]\nbackoff-initial-ms = 100\nbackoff-max-ms = 10\n", "backoff-max-ms");
  config_refused ("nerved]\n", "nerved.conf");
  NervedConfig c2;
  nerved_config_init (&c2);
  CU_ASSERT_FALSE (nerved_config_load (&c2, "/nonexistent/nerved.conf", &e));
  nerved_config_clear (&c2);
}

int
main (void)
{
  dir = g_dir_make_tmp ("nerved-request-XXXXXX", NULL);
  static const TestCase tests[] = {
    { "create requests: valid bodies", test_create_valid },
    { "create requests: unknown fields, wrong types, truncated, garbage, huge, invalid UTF-8", test_create_refused },
    { "pipeline and job ids", test_ids },
    { "query strings to parameters", test_query },
    { "token files: mode, content, constant-time check", test_tokens },
    { "config: defaults, every key, sizes, unknown keys", test_config },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("nerved-request", tests);
  api_rm_rf (dir);
  g_free (dir);
  return failed ? 1 : 0;
}

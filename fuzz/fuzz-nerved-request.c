/* libFuzzer target for what nerved reads from clients and template files. The first byte
 * picks what the rest is:
 *   0  a POST /v1/pipelines body (nerved_create_request_parse); when it parses, its params
 *      are rendered against a fixed template with every parameter type
 *   1  a template file (nerved_template_parse, then to_json and a render of the defaults)
 *   2  a query string (g_uri_parse_params, nerved_query_to_params, render)
 *   3  a params JSON object rendered against the fixed template
 * Invariants that trap: every failure is a NERVED_ERROR with a message; a rendered launch
 * line holds exactly as many `!` links outside quotes and line breaks as its template and
 * two quotes around each quoted value, so no value added syntax.
 *
 * GStreamer is not started (a stub says which element factories exist): the target checks
 * parsing and rendering, not pipelines. */
#include <glib/gstdio.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "nerved-error.h"
#include "nerved-params.h"
#include "nerved-request.h"
#include "nerved-template.h"

int LLVMFuzzerInitialize (int *argc, char ***argv);
int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

static NervedTemplate *fixed;
static char *root;

static const char fixed_text[] =
  "[template]\nname = fixed\n"
  "launch = fakesrc num-buffers=${i} ! fakesink sync=${b} audiotestsrc freq=${f} wave=${e} ! fakesink \\\n"
  "  filesrc location=${p} ! filesink location=${w} filesrc location=${u} ! identity name=${s} ! fakesink\n"
  "[param i]\ntype = int\nmin = -5\nmax = 1000\ndefault = 1\n"
  "[param b]\ntype = bool\ndefault = false\n"
  "[param f]\ntype = float\nmin = 1\nmax = 20000\ndefault = 440\n"
  "[param e]\ntype = enum\nvalues = sine;square\ndefault = sine\n"
  "[param p]\ntype = path\ndefault = in.txt\n"
  "[param w]\ntype = path\naccess = write\ndefault = out.wav\n"
  "[param u]\ntype = uri\nschemes = udp;file\ndefault = udp://127.0.0.1:5000\n"
  "[param s]\ntype = string\ndefault = hello\n";

/* Element factories: names starting with 'x' are "not installed". */
static gboolean
stub_factory_exists (const char *name)
{
  return name[0] != 'x';
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
  /* no GStreamer: it makes thousands of GLib quarks, and GLib drops its first quark block
   * when the table grows (on purpose), which LeakSanitizer would blame on an input */
  nerved_factory_exists = stub_factory_exists;
  g_autofree char *tmp = g_dir_make_tmp ("nerved-fuzz-XXXXXX", NULL);
  root = realpath (tmp, NULL);
  g_autofree char *in = g_build_filename (root, "in.txt", NULL);
  g_autofree char *sub = g_build_filename (root, "sub", NULL);
  g_file_set_contents (in, "x", 1, NULL);
  g_mkdir (sub, 0700);
  fixed = nerved_template_parse (fixed_text, sizeof fixed_text - 1, "fixed.pipeline", NULL);
  if (!fixed)
    abort ();
  return 0;
}

static void
check_error (GError *e)
{
  if (!e || e->domain != NERVED_ERROR || !e->message || !*e->message)
    abort ();
}

/* `!` links and quotes outside quoted text, and line breaks anywhere */
static void
count_syntax (const char *s, int *links, int *quotes, int *breaks)
{
  char q = 0;
  *links = *quotes = *breaks = 0;
  for (; *s; s++) {
    if (*s == '\n' || *s == '\r')
      ++*breaks;
    if (q) {
      if (*s == '\\' && s[1])
        s++;
      else if (*s == q) {
        q = 0;
        ++*quotes;
      }
    } else if (*s == '"' || *s == '\'') {
      q = *s;
      ++*quotes;
    } else if (*s == '!')
      ++*links;
  }
  if (q)
    abort (); /* an unterminated quote */
}

static void
render (const NervedTemplate *t, JsonObject *params)
{
  const char *roots[] = { root, NULL };
  g_autoptr (GError) e = NULL;
  g_autoptr (JsonObject) eff = NULL;
  g_autofree char *launch = nerved_template_render (t, params, roots, NULL, &eff, &e);
  if (!launch) {
    check_error (e);
    return;
  }
  if (!eff || json_object_get_size (eff) != t->params->len)
    abort ();
  int links, quotes, breaks, want_links, want_quotes, want_breaks;
  count_syntax (launch, &links, &quotes, &breaks);
  count_syntax (t->launch, &want_links, &want_quotes, &want_breaks);
  /* each quoted value adds two quotes; the template's own quotes stay */
  int quoted = 0;
  for (guint i = 0; i < t->params->len; i++) {
    const NervedParam *p = g_ptr_array_index (t->params, i);
    if (p->type == NERVED_PARAM_PATH || p->type == NERVED_PARAM_URI || p->type == NERVED_PARAM_STRING) {
      for (const char *c = strstr (t->launch, p->name); c; c = strstr (c + 1, p->name))
        if (c > t->launch + 1 && c[-1] == '{' && c[-2] == '$' && c[strlen (p->name)] == '}')
          quoted++;
    }
  }
  if (links != want_links || quotes != want_quotes + 2 * quoted || breaks != want_breaks)
    abort ();
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  if (size < 1)
    return 0;
  const char *body = (const char *) data + 1;
  gsize len = size - 1;
  g_autoptr (GError) e = NULL;
  switch (data[0] % 4) {
  case 0: {
    NervedCreateRequest r;
    if (!nerved_create_request_parse (body, len, &r, &e)) {
      check_error (e);
      break;
    }
    if (!r.params || (!r.template_name == !r.launch) || (r.id && !nerved_id_valid (r.id)))
      abort ();
    render (fixed, r.params);
    nerved_create_request_clear (&r);
    break;
  }
  case 1: {
    g_autoptr (NervedTemplate) t = nerved_template_parse (body, len, "fuzz.pipeline", &e);
    if (!t) {
      check_error (e);
      break;
    }
    g_autoptr (JsonObject) j = nerved_template_to_json (t);
    if (!j)
      abort ();
    render (t, NULL);
    break;
  }
  case 2: {
    g_autofree char *q = g_strndup (body, len);
    g_autoptr (GHashTable) h = g_uri_parse_params (q, -1, "&", G_URI_PARAMS_NONE, NULL);
    if (!h)
      break;
    const char *reserved[] = { "template", "wait", NULL };
    g_autoptr (JsonObject) params = nerved_query_to_params (h, reserved, &e);
    if (!params) {
      check_error (e);
      break;
    }
    render (fixed, params);
    break;
  }
  default: {
    g_autofree char *wrapped = g_strdup_printf ("{\"template\": \"fixed\", \"params\": %.*s}", (int) len, body);
    NervedCreateRequest r;
    if (nerved_create_request_parse (wrapped, strlen (wrapped), &r, NULL)) {
      render (fixed, r.params);
      nerved_create_request_clear (&r);
    }
    break;
  }
  }
  return 0;
}

/* nerved templates: file parsing and its errors, placeholder rules, every parameter type
 * (valid and invalid values, messages naming the parameter), data roots (traversal,
 * symlinks), injection attempts, and hostile values through gst_parse_launch read back
 * property by property. */
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "nerved-api-check.h"
#include "nerved-error.h"
#include "nerved-template.h"

static char *root, *outside, *top; /* data root, a directory beside it, their parent */

static char *
in_root (const char *name)
{
  return g_build_filename (root, name, NULL);
}

static void
touch (const char *path)
{
  CU_ASSERT_TRUE_FATAL (g_file_set_contents (path, "data", 4, NULL));
}

static NervedTemplate *
parse (const char *text, GError **error)
{
  return nerved_template_parse (text, strlen (text), "/x/t.pipeline", error);
}

/* A template text with one parameter group appended. */
static void
load_error (const char *text, const char *expect)
{
  g_autoptr (GError) e = NULL;
  g_autoptr (NervedTemplate) t = parse (text, &e);
  CU_ASSERT_PTR_NULL (t);
  if (!e) {
    fprintf (stderr, "  loaded, expected an error with '%s'\n", expect);
    CU_FAIL ("template loaded");
    return;
  }
  gboolean ok = g_error_matches (e, NERVED_ERROR, NERVED_ERROR_CONFIG) && strstr (e->message, "/x/t.pipeline") &&
                strstr (e->message, expect);
  if (!ok)
    fprintf (stderr, "  error '%s', expected it to name the file and '%s'\n", e->message, expect);
  CU_ASSERT_TRUE (ok);
}

static JsonObject *
obj (const char *json)
{
  g_autoptr (JsonNode) n = json_from_string (json, NULL);
  CU_ASSERT_TRUE_FATAL (n && JSON_NODE_HOLDS_OBJECT (n));
  return json_object_ref (json_node_get_object (n));
}

static char *
render (const NervedTemplate *t, const char *params, GHashTable *trusted, JsonObject **eff, GError **error)
{
  g_autoptr (JsonObject) o = obj (params);
  const char *roots[] = { root, NULL };
  return nerved_template_render (t, o, roots, trusted, eff, error);
}

/* render fails with BAD_PARAM, the message starting with "name:" and holding expect */
static void
bad_value (const NervedTemplate *t, const char *params, const char *name, const char *expect)
{
  g_autoptr (GError) e = NULL;
  g_autofree char *r = render (t, params, NULL, NULL, &e);
  g_autofree char *prefix = g_strconcat (name, ": ", NULL);
  gboolean ok = !r && g_error_matches (e, NERVED_ERROR, NERVED_ERROR_BAD_PARAM) && g_str_has_prefix (e->message, prefix) &&
                (!expect || strstr (e->message, expect));
  if (!ok)
    fprintf (stderr, "  %s: got %s / '%s', expected '%s...%s'\n", params, r ? r : "(null)", e ? e->message : "",
             prefix, expect ? expect : "");
  CU_ASSERT_TRUE (ok);
}

static char *
good_value (const NervedTemplate *t, const char *params)
{
  g_autoptr (GError) e = NULL;
  char *r = render (t, params, NULL, NULL, &e);
  if (!r)
    fprintf (stderr, "  %s refused: %s\n", params, e->message);
  CU_ASSERT_PTR_NOT_NULL (r);
  return r;
}

#define HEAD "[template]\nname = t\nlaunch = fakesrc num-buffers=${n} ! fakesink\n"
#define PARAM_N "[param n]\ntype = int\n"

static void
test_error_codes (void)
{
  g_autoptr (GError) a = g_error_new (NERVED_ERROR, NERVED_ERROR_BAD_PARAM, "x");
  g_autoptr (GError) b = g_error_new (NERVED_ERROR, NERVED_ERROR_LIMIT, "x");
  g_autoptr (GError) c = g_error_new (G_IO_ERROR, G_IO_ERROR_FAILED, "x");
  g_autoptr (GError) d = g_error_new (NERVED_ERROR, NERVED_ERROR_UNAUTHORIZED, "x");
  g_autoptr (GError) f = g_error_new (NERVED_ERROR, 999, "x");
  CU_ASSERT_EQUAL (nerved_error_http_status (a), 400);
  CU_ASSERT_STRING_EQUAL (nerved_error_code_name (a), "bad_param");
  CU_ASSERT_EQUAL (nerved_error_http_status (b), 429);
  CU_ASSERT_STRING_EQUAL (nerved_error_code_name (b), "limit");
  CU_ASSERT_EQUAL (nerved_error_http_status (d), 401);
  CU_ASSERT_EQUAL (nerved_error_http_status (c), 500);
  CU_ASSERT_STRING_EQUAL (nerved_error_code_name (c), "internal");
  CU_ASSERT_EQUAL (nerved_error_http_status (f), 500);
  CU_ASSERT_EQUAL (nerved_error_http_status (NULL), 500);
}

static void
test_parse_full (void)
{
  const char *text = "# a comment\n[template]\ndescription = Test\n"
                     "launch = fakesrc num-buffers=${n} ! \\\n   identity name=${s} ! fakesink sync=${b} \\\n"
                     "   audiotestsrc freq=${f} wave=${w} ! fakesink  filesrc location=${in} ! filesink location=${out}\n"
                     "job = true\njob-input = in\njob-output = out\nmessages = level;foo\nrestart = on-failure\n"
                     "[param n]\ntype = int\nmin = 1\nmax = 10\ndefault = 3\ndescription = count\n"
                     "[param s]\ntype = string\npattern = [a-z]+\ndefault = abc\n"
                     "[param b]\ntype = bool\ndefault = true\n"
                     "[param f]\ntype = float\nmin = 20\ndefault = 440\n"
                     "[param w]\ntype = enum\nvalues = sine;square\ndefault = sine\n"
                     "[param in]\ntype = path\n"
                     "[param out]\ntype = path\naccess = write\n";
  g_autoptr (GError) e = NULL;
  g_autoptr (NervedTemplate) t = parse (text, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  CU_ASSERT_STRING_EQUAL (t->name, "t"); /* from the file name */
  CU_ASSERT_STRING_EQUAL (t->description, "Test");
  CU_ASSERT_PTR_NULL (strchr (t->launch, '\\'));
  CU_ASSERT_PTR_NOT_NULL (strstr (t->launch, "! identity name=${s} !"));
  CU_ASSERT_TRUE (t->job);
  CU_ASSERT_STRING_EQUAL (t->job_input, "in");
  CU_ASSERT_STRING_EQUAL (t->job_output, "out");
  CU_ASSERT_EQUAL (t->restart, NERVED_RESTART_ON_FAILURE);
  CU_ASSERT_TRUE (g_strv_length (t->messages) == 2 && g_str_equal (t->messages[1], "foo"));
  CU_ASSERT_EQUAL (t->params->len, 7);
  CU_ASSERT_PTR_NULL (t->missing);
  const NervedParam *n = nerved_template_find_param (t, "n");
  CU_ASSERT_TRUE_FATAL (n != NULL);
  CU_ASSERT_TRUE (n->type == NERVED_PARAM_INT && n->min == 1 && n->max == 10 && g_str_equal (n->default_value, "3"));
  CU_ASSERT_TRUE (nerved_template_find_param (t, "out")->write);
  CU_ASSERT_FALSE (nerved_template_find_param (t, "in")->write);
  CU_ASSERT_PTR_NULL (nerved_template_find_param (t, "nope"));

  g_autoptr (JsonObject) j = nerved_template_to_json (t);
  g_autoptr (JsonNode) jn = json_node_init_object (json_node_alloc (), j);
  g_autofree char *js = json_to_string (jn, FALSE);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (j, "name"), "t");
  CU_ASSERT_TRUE (json_object_get_boolean_member (j, "available"));
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (j, "missing")), 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (j, "job_input"), "in");
  JsonArray *ps = json_object_get_array_member (j, "params");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (ps), 7);
  JsonObject *p0 = json_array_get_object_element (ps, 0);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (p0, "type"), "int");
  CU_ASSERT_EQUAL (json_object_get_int_member (p0, "default"), 3);
  CU_ASSERT_EQUAL (json_object_get_int_member (p0, "max"), 10);
  CU_ASSERT_FALSE (json_object_get_boolean_member (p0, "required"));
  JsonObject *pf = json_array_get_object_element (ps, 3);
  CU_ASSERT_TRUE (json_object_get_null_member (pf, "max"));
  CU_ASSERT_EQUAL (json_object_get_double_member (pf, "default"), 440.0);
  CU_ASSERT_TRUE (json_object_get_boolean_member (json_array_get_object_element (ps, 2), "default"));
  JsonObject *pw = json_array_get_object_element (ps, 4);
  CU_ASSERT_EQUAL (json_array_get_length (json_object_get_array_member (pw, "values")), 2);
  JsonObject *pin = json_array_get_object_element (ps, 5);
  CU_ASSERT_TRUE (json_object_get_boolean_member (pin, "required"));
  CU_ASSERT_TRUE (json_object_get_null_member (pin, "default"));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (pin, "access"), "read");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (json_array_get_object_element (ps, 1), "pattern"), "[a-z]+");
  CU_ASSERT_PTR_NOT_NULL (strstr (js, "\"restart\":\"on-failure\""));

  /* comments ending in a backslash do not swallow the next line */
  g_autoptr (NervedTemplate) t2 = parse ("# note \\\n[template]\nname = t2\nlaunch = fakesrc ! fakesink\n", &e);
  CU_ASSERT_TRUE (t2 && g_str_equal (t2->name, "t2"));
}

static void
test_missing_elements (void)
{
  g_autoptr (GError) e = NULL;
  g_autoptr (NervedTemplate) t = parse (
    "[template]\nlaunch = audiotestsrc ! audio/x-raw,rate=16000 ! nerveasrx name=a ! tee name=t t. ! queue ! fakesink "
    "t. ! nosuchelement ! fakesink\n",
    &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t->missing);
  CU_ASSERT_EQUAL (g_strv_length (t->missing), 2);
  CU_ASSERT_TRUE (g_strv_contains ((const char *const *) t->missing, "nerveasrx"));
  CU_ASSERT_TRUE (g_strv_contains ((const char *const *) t->missing, "nosuchelement"));
  g_autoptr (JsonObject) j = nerved_template_to_json (t);
  CU_ASSERT_FALSE (json_object_get_boolean_member (j, "available"));
  CU_ASSERT_STRING_EQUAL (json_array_get_string_element (json_object_get_array_member (j, "missing"), 0), "nerveasrx");

  /* a stray ')' where a factory name would start (found by fuzz-nerved-request) */
  g_autoptr (NervedTemplate) t2 = parse ("[template]\nlaunch = fakesrc ! ) nosuchelement2 ! fakesink\n", &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t2);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t2->missing);
  CU_ASSERT_TRUE (g_strv_contains ((const char *const *) t2->missing, "nosuchelement2"));
}

static void
test_load_errors (void)
{
  load_error ("launch = x\n", "group");
  load_error ("[param n]\ntype = int\n", "no [template]");
  load_error ("[template]\nname = t\n", "launch: missing");
  load_error ("[template]\nlaunch = fakesrc ! fakesink\nfoo = 1\n", "unknown key 'foo'");
  load_error ("[template]\nname = Bad_Name\nlaunch = fakesrc ! fakesink\n", "name");
  load_error ("[template]\nlaunch = fakesrc ! fakesink\nrestart = sometimes\n", "restart");
  load_error ("[template]\nlaunch = fakesrc ! fakesink\njob = maybe\n", "job");
  load_error ("[template]\nlaunch = fakesrc ! fakesink\n[other]\na = 1\n", "unknown group [other]");
  load_error ("[template\nlaunch = x\n", "/x/t.pipeline");
  load_error ("[template]\nlaunch = fakesrc ! fakesink\nmessages = a b\n", "messages");
  load_error ("[template]\nlaunch = fakesrc \xff ! fakesink\n", "UTF-8");
  load_error (HEAD "[param n]\n", "type: missing");
  load_error (HEAD "[param n]\ntype = integer\n", "unknown type");
  load_error (HEAD PARAM_N "colour = red\n", "unknown key 'colour'");
  load_error (HEAD PARAM_N "min = 5\nmax = 1\n", "min 5 is above max 1");
  load_error (HEAD PARAM_N "min = 1.5\n", "[param n] min");
  load_error (HEAD PARAM_N "max = ten\n", "[param n] max");
  load_error (HEAD PARAM_N "values = a;b\n", "values: does not apply");
  load_error (HEAD PARAM_N "default = 11\nmax = 10\n", "[param n] default: n: 11 is above the maximum 10");
  load_error (HEAD PARAM_N "default = x\n", "[param n] default");
  load_error (HEAD "[param n]\ntype = enum\n", "values");
  load_error (HEAD "[param n]\ntype = enum\nvalues = a;b c\n", "plain word");
  load_error (HEAD "[param n]\ntype = enum\nvalues = a;b\ndefault = c\n", "default");
  load_error (HEAD "[param n]\ntype = uri\n", "schemes");
  load_error (HEAD "[param n]\ntype = uri\nschemes = ht tp\n", "schemes");
  load_error (HEAD "[param n]\ntype = string\npattern = ([a-z\n", "pattern");
  load_error (HEAD "[param n]\ntype = string\ndefault = a!b\n", "default");
  load_error (HEAD "[param n]\ntype = path\naccess = execute\n", "access");
  load_error (HEAD "[param n]\ntype = string\nmin = 1\n", "min: does not apply");
  load_error (HEAD "[param bad name]\ntype = int\n", "parameter names");
  /* placeholders */
  load_error ("[template]\nlaunch = fakesrc num-buffers=${n} ! fakesink\n", "unknown placeholder ${n}");
  load_error (HEAD PARAM_N "[param m]\ntype = int\n", "[param m]: the launch never uses ${m}");
  load_error ("[template]\nlaunch = audiotestsrc ! audio/x-raw,rate=${n} ! fakesink\n" PARAM_N, "whole property value");
  load_error ("[template]\nlaunch = fakesrc num-buffers=${n}0 ! fakesink\n" PARAM_N, "whole property value");
  load_error ("[template]\nlaunch = fakesrc num-buffers=\"${n}\" ! fakesink\n" PARAM_N, "inside quotes");
  load_error ("[template]\nlaunch = fakesrc ${n} ! fakesink\n" PARAM_N, "whole property value");
  load_error ("[template]\nlaunch = fakesrc =${n} ! fakesink\n" PARAM_N, "whole property value");
  load_error ("[template]\nlaunch = fakesrc num-buffers=$n ! fakesink\n" PARAM_N, "does not start a ${name}");
  load_error ("[template]\nlaunch = fakesrc num-buffers=${n.x} ! fakesink\n" PARAM_N, "not a valid placeholder");
  load_error ("[template]\nlaunch = fakesrc num-buffers=${n ! fakesink\n" PARAM_N, "does not start");
  load_error ("[template]\nlaunch = fakesrc name=\"a ! fakesink\n", "unterminated");
  /* jobs */
  load_error ("[template]\nlaunch = fakesrc ! fakesink\njob = true\n", "job-input");
  load_error (HEAD "job = true\njob-input = n\n" PARAM_N, "job-input: 'n' is not a path parameter");
  load_error ("[template]\nlaunch = filesrc location=${in} ! fakesink\njob = true\njob-input = in\njob-output = in\n"
              "[param in]\ntype = path\n",
              "job-output");
  load_error ("[template]\nlaunch = filesrc location=${in} ! fakesink\njob-input = in\n[param in]\ntype = path\n",
              "only for job = true");
  /* a file that does not exist */
  g_autoptr (GError) e = NULL;
  CU_ASSERT_PTR_NULL (nerved_template_load ("/nonexistent/x.pipeline", &e));
  CU_ASSERT_TRUE (g_error_matches (e, NERVED_ERROR, NERVED_ERROR_CONFIG) && strstr (e->message, "/nonexistent/x.pipeline"));
}

static NervedTemplate *
typed_template (void)
{
  const char *text =
    "[template]\nname = typed\n"
    "launch = fakesrc name=src num-buffers=${i} ! fakesink name=k1 sync=${b} audiotestsrc name=ats freq=${f} \\\n"
    "  wave=${e} ! fakesink filesrc name=fp location=${p} ! fakesink filesink name=fw location=${w} \\\n"
    "  filesrc name=fu location=${u} ! fakesink \\\n"
    "  identity name=${s} ! fakesink\n"
    "[param i]\ntype = int\nmin = -1\nmax = 100\ndefault = 1\n"
    "[param b]\ntype = bool\ndefault = false\n"
    "[param f]\ntype = float\nmin = 1\nmax = 20000\ndefault = 440\n"
    "[param e]\ntype = enum\nvalues = sine;square\ndefault = sine\n"
    "[param p]\ntype = path\n"
    "[param w]\ntype = path\naccess = write\ndefault = out.wav\n"
    "[param u]\ntype = uri\nschemes = udp;file\npattern = (udp|file)://.*\ndefault = udp://127.0.0.1:5000\n"
    "[param s]\ntype = string\ndefault = hello\n";
  g_autoptr (GError) e = NULL;
  NervedTemplate *t = parse (text, &e);
  if (!t)
    fprintf (stderr, "  %s\n", e->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (t);
  return t;
}

static void
test_types (void)
{
  g_autoptr (NervedTemplate) t = typed_template ();
#define P(extra) "{\"p\": \"in.txt\"" extra "}"
  /* int */
  g_free (good_value (t, P (", \"i\": 5")));
  g_free (good_value (t, P (", \"i\": \"-1\"")));
  g_free (good_value (t, P (", \"i\": 7.0")));
  bad_value (t, P (", \"i\": 5.5"), "i", "not an integer");
  bad_value (t, P (", \"i\": \"5x\""), "i", "not an integer");
  bad_value (t, P (", \"i\": \"+5\""), "i", "not an integer");
  bad_value (t, P (", \"i\": \" 5\""), "i", NULL);
  bad_value (t, P (", \"i\": \"\""), "i", NULL);
  bad_value (t, P (", \"i\": 101"), "i", "outside [-1, 100]");
  bad_value (t, P (", \"i\": -2"), "i", "outside");
  bad_value (t, P (", \"i\": \"99999999999999999999\""), "i", NULL);
  bad_value (t, P (", \"i\": true"), "i", "expected a number");
  bad_value (t, P (", \"i\": [1]"), "i", "expected a int value");
  bad_value (t, P (", \"i\": null"), "i", NULL);
  /* float */
  g_free (good_value (t, P (", \"f\": 1000")));
  g_free (good_value (t, P (", \"f\": \"1e3\"")));
  g_free (good_value (t, P (", \"f\": \"20000.0\"")));
  bad_value (t, P (", \"f\": \"nan\""), "f", "not a number");
  bad_value (t, P (", \"f\": \"inf\""), "f", "not a number");
  bad_value (t, P (", \"f\": \"1e400\""), "f", "not a number");
  bad_value (t, P (", \"f\": \"0x10\""), "f", "not a number");
  bad_value (t, P (", \"f\": \"1.5.5\""), "f", "not a number");
  bad_value (t, P (", \"f\": 0.5"), "f", "outside [1, 20000]");
  bad_value (t, P (", \"f\": {}"), "f", NULL);
  /* bool */
  g_free (good_value (t, P (", \"b\": true")));
  g_free (good_value (t, P (", \"b\": \"false\"")));
  bad_value (t, P (", \"b\": \"yes\""), "b", "true or false");
  bad_value (t, P (", \"b\": 1"), "b", "true or false");
  bad_value (t, P (", \"b\": \"TRUE\""), "b", NULL);
  /* enum */
  g_free (good_value (t, P (", \"e\": \"square\"")));
  bad_value (t, P (", \"e\": \"saw\""), "e", "not one of: sine, square");
  bad_value (t, P (", \"e\": 1"), "e", "one of");
  bad_value (t, P (", \"e\": \"sine ! fakesink\""), "e", NULL);
  /* uri */
  g_free (good_value (t, P (", \"u\": \"udp://10.0.0.1:9\"")));
  bad_value (t, P (", \"u\": \"http://example.com/\""), "u", "scheme 'http' is not allowed");
  bad_value (t, P (", \"u\": \"not a uri\""), "u", NULL);
  bad_value (t, P (", \"u\": \"udp://h:1 ! fakesink\""), "u", NULL);
  bad_value (t, P (", \"u\": \"file:///etc/passwd\""), "u", "outside the data roots");
  bad_value (t, P (", \"u\": 5"), "u", "URI");
  {
    g_autofree char *inp = in_root ("in.txt");
    g_autofree char *uri = g_filename_to_uri (inp, NULL, NULL);
    g_autofree char *ps = g_strdup_printf (P (", \"u\": \"%s\""), uri);
    g_free (good_value (t, ps));
  }
  /* string */
  g_free (good_value (t, P (", \"s\": \"a b, c; (d) [e] {f} <g> $h %s \xc3\xa9\"")));
  g_free (good_value (t, P (", \"s\": \"\"")));
  const char *inject[] = { "a ! fakesink", "x name=y", "a\\\"b", "it's", "line\\nbreak", "back\\\\slash", "tab\\there",
                           "\\u0001", "NULL", NULL };
  for (int k = 0; inject[k]; k++) {
    g_autofree char *ps = g_strdup_printf (P (", \"s\": \"%s\""), inject[k]);
    bad_value (t, ps, "s", NULL);
  }
  g_autofree char *huge = g_strnfill (5000, 'a');
  g_autofree char *ps = g_strdup_printf (P (", \"s\": \"%s\""), huge);
  bad_value (t, ps, "s", "longer than");
  bad_value (t, P (", \"s\": 3"), "s", "expected a string");

  /* patterns match the whole value, the longest alternative included */
  g_autoptr (GError) e = NULL;
  g_autoptr (NervedTemplate) pt = parse ("[template]\nlaunch = identity name=${s} ! fakesink\n"
                                         "[param s]\ntype = string\npattern = a|ab\n",
                                         &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (pt);
  g_free (good_value (pt, "{\"s\": \"ab\"}"));
  g_free (good_value (pt, "{\"s\": \"a\"}"));
  bad_value (pt, "{\"s\": \"abc\"}", "s", "does not match the pattern");
  bad_value (pt, "{\"s\": \"xab\"}", "s", "does not match");
#undef P
}

static void
test_required_unknown_defaults (void)
{
  g_autoptr (NervedTemplate) t = typed_template ();
  bad_value (t, "{}", "p", "required");
  bad_value (t, "{\"p\": \"in.txt\", \"zz\": 1}", "zz", "unknown parameter of template typed (it takes: i, b, f, e, p, w, u, s)");
  g_autoptr (GError) e = NULL;
  g_autoptr (JsonObject) eff = NULL;
  g_autofree char *r = render (t, "{\"p\": \"in.txt\", \"i\": \"7\", \"f\": 1000.5}", NULL, &eff, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r);
  g_autofree char *inp = in_root ("in.txt");
  g_autofree char *outp = in_root ("out.wav");
  g_autofree char *expect = g_strdup_printf (
    "fakesrc name=src num-buffers=7 ! fakesink name=k1 sync=false audiotestsrc name=ats freq=1000.5 wave=sine ! "
    "fakesink filesrc name=fp location=\"%s\" ! fakesink filesink name=fw location=\"%s\" filesrc name=fu "
    "location=\"udp://127.0.0.1:5000\" ! fakesink identity name=\"hello\" ! fakesink",
    inp, outp);
  CU_ASSERT_STRING_EQUAL (r, expect);
  CU_ASSERT_PTR_NOT_NULL_FATAL (eff);
  CU_ASSERT_EQUAL (json_object_get_int_member (eff, "i"), 7);
  CU_ASSERT_EQUAL (json_object_get_double_member (eff, "f"), 1000.5);
  CU_ASSERT_FALSE (json_object_get_boolean_member (eff, "b"));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (eff, "p"), inp);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (eff, "w"), outp);
  CU_ASSERT_EQUAL (json_object_get_size (eff), 8);

  /* NULL params: every value from its default, the required one missing */
  g_clear_error (&e);
  const char *roots[] = { root, NULL };
  CU_ASSERT_PTR_NULL (nerved_template_render (t, NULL, roots, NULL, NULL, &e));
  CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, "p: required"));
}

static void
test_trusted (void)
{
  g_autoptr (NervedTemplate) t = typed_template ();
  g_autoptr (GHashTable) trusted = g_hash_table_new (g_str_hash, g_str_equal);
  g_autofree char *spool = g_build_filename (outside, "spool-in", NULL);
  touch (spool);
  g_hash_table_insert (trusted, "p", spool);
  g_autoptr (GError) e = NULL;
  /* clients may not set a trusted name */
  g_autofree char *r = render (t, "{\"p\": \"in.txt\"}", trusted, NULL, &e);
  CU_ASSERT_PTR_NULL (r);
  CU_ASSERT_TRUE (e && g_str_has_prefix (e->message, "p: set by the daemon"));
  g_clear_error (&e);
  /* the daemon's value goes in, though it is outside the data roots */
  g_autoptr (JsonObject) eff = NULL;
  g_autofree char *r2 = render (t, "{}", trusted, &eff, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (r2);
  g_autofree char *q = g_strdup_printf ("location=\"%s\"", spool);
  CU_ASSERT_PTR_NOT_NULL (strstr (r2, q));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (eff, "p"), spool);
  /* still never pasted raw */
  g_hash_table_insert (trusted, "p", "/tmp/a\"b");
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (render (t, "{}", trusted, NULL, &e));
  CU_ASSERT_TRUE (g_error_matches (e, NERVED_ERROR, NERVED_ERROR_BAD_PARAM));
}

static void
test_paths (void)
{
  const char *roots[] = { root, NULL };
  g_autofree char *inp = in_root ("in.txt");
  g_autoptr (GError) e = NULL;
  g_autofree char *a = nerved_path_resolve ("in.txt", FALSE, roots, &e);
  CU_ASSERT_STRING_EQUAL (a, inp);
  g_autofree char *b = nerved_path_resolve (inp, FALSE, roots, &e);
  CU_ASSERT_STRING_EQUAL (b, inp);
  g_autofree char *c = nerved_path_resolve ("sub/./in2.txt", FALSE, roots, &e);
  g_autofree char *in2 = g_build_filename (root, "sub", "in2.txt", NULL);
  CU_ASSERT_STRING_EQUAL (c, in2);
  g_autofree char *d = nerved_path_resolve ("sub/new.wav", TRUE, roots, &e);
  g_autofree char *newp = g_build_filename (root, "sub", "new.wav", NULL);
  CU_ASSERT_STRING_EQUAL (d, newp);
  /* a symlink that stays inside the root is fine */
  g_autofree char *f = nerved_path_resolve ("inlink", FALSE, roots, &e);
  CU_ASSERT_STRING_EQUAL (f, inp);
  /* a second root */
  const char *two[] = { root, outside, NULL };
  g_autofree char *secret = g_build_filename (outside, "secret", NULL);
  g_autofree char *g = nerved_path_resolve (secret, FALSE, two, &e);
  CU_ASSERT_STRING_EQUAL (g, secret);

  g_autoptr (NervedTemplate) t = typed_template ();
  g_autofree char *outside_name = g_path_get_basename (outside);
  g_autofree char *rel_out = g_build_filename ("..", outside_name, "secret", NULL);
  const char *refused[][2] = {
    { "{\"p\": \"../x\"}", "'..' is not allowed" },
    { "{\"p\": \"sub/../in.txt\"}", "'..'" },
    { "{\"p\": \"/etc/passwd\"}", "outside the data roots" },
    { "{\"p\": \"link\"}", "outside the data roots" },     /* symlink to a file outside */
    { "{\"p\": \"ldir/secret\"}", "outside the data roots" }, /* through a symlinked directory */
    { "{\"p\": \"nothere.txt\"}", "No such file" },
    { "{\"p\": \"sub\"}", "not a regular file" },
    { "{\"p\": \"\"}", "empty path" },
    { "{\"p\": \"in.txt\", \"w\": \"ldir/new.wav\"}", "outside the data roots" },
    { "{\"p\": \"in.txt\", \"w\": \"link\"}", "points outside" },  /* writing through a symlink */
    { "{\"p\": \"in.txt\", \"w\": \"nodir/x.wav\"}", "No such file" },
    { "{\"p\": \"in.txt\", \"w\": \"sub/\"}", "directory" },
    { "{\"p\": \"in.txt\", \"w\": \"sub\"}", "not a regular file" },
    { "{\"p\": \"in\\nx.txt\"}", "control character" },
    { "{\"p\": 5}", "path string" },
  };
  for (guint k = 0; k < G_N_ELEMENTS (refused); k++) {
    const char *name = strstr (refused[k][0], "\"w\"") ? "w" : "p";
    bad_value (t, refused[k][0], name, refused[k][1]);
  }
  g_autofree char *ps = g_strdup_printf ("{\"p\": \"%s\"}", rel_out);
  bad_value (t, ps, "p", "'..'");
  g_clear_error (&e);
  CU_ASSERT_PTR_NULL (nerved_path_resolve ("in.txt", FALSE, NULL, &e));
  CU_ASSERT_TRUE (e && strstr (e->message, "no data roots"));
}

static void
test_load_dirs (void)
{
  g_autofree char *d1 = g_build_filename (top, "tpl1", NULL), *d2 = g_build_filename (top, "tpl2", NULL);
  g_mkdir (d1, 0700);
  g_mkdir (d2, 0700);
  g_autofree char *a1 = g_build_filename (d1, "a.pipeline", NULL), *b1 = g_build_filename (d1, "b.pipeline", NULL),
                  *bad = g_build_filename (d1, "bad.pipeline", NULL), *txt = g_build_filename (d1, "c.txt", NULL),
                  *a2 = g_build_filename (d2, "a2.pipeline", NULL);
  g_file_set_contents (a1, "[template]\ndescription = one\nlaunch = fakesrc ! fakesink\n", -1, NULL);
  g_file_set_contents (b1, "[template]\nlaunch = fakesrc ! fakesink\n", -1, NULL);
  g_file_set_contents (bad, "[template]\nlaunch = fakesrc num-buffers=${x} ! fakesink\n", -1, NULL);
  g_file_set_contents (txt, "not a template", -1, NULL);
  g_file_set_contents (a2, "[template]\nname = a\ndescription = two\nlaunch = fakesrc ! fakesink\n", -1, NULL);
  const char *dirs[] = { d1, d2, NULL };
  g_autoptr (GError) e = NULL;
  g_autoptr (GHashTable) ts = nerved_templates_load_dirs (dirs, &e);
  CU_ASSERT_PTR_NOT_NULL_FATAL (ts);
  CU_ASSERT_EQUAL (g_hash_table_size (ts), 2); /* a (from d2), b; bad skipped */
  NervedTemplate *a = g_hash_table_lookup (ts, "a");
  CU_ASSERT_TRUE (a && g_str_equal (a->description, "two") && g_str_equal (a->file, a2));
  CU_ASSERT_PTR_NOT_NULL (g_hash_table_lookup (ts, "b"));
  const char *nodir[] = { d1, "/nonexistent/templates", NULL };
  g_autoptr (GHashTable) none = nerved_templates_load_dirs (nodir, &e);
  CU_ASSERT_PTR_NULL (none);
  CU_ASSERT_TRUE (g_error_matches (e, NERVED_ERROR, NERVED_ERROR_CONFIG) && strstr (e->message, "/nonexistent/templates"));
}

/* Hostile values: each is refused (BAD_PARAM) or the launch line parses into exactly the
 * template's elements with the value in its property, read back with g_object_get. */
static int hostile_rendered, hostile_refused;

/* How many elements of factory the bin holds; *first gets one of them. */
static int
count_factory (GstElement *bin, const char *factory, GstElement **first)
{
  int n = 0;
  for (GList *l = GST_BIN (bin)->children; l; l = l->next) {
    GstElementFactory *f = gst_element_get_factory (l->data);
    if (f && g_str_equal (GST_OBJECT_NAME (f), factory) && n++ == 0 && first)
      *first = l->data;
  }
  return n;
}

static GstElement *
by_name (GstElement *bin, const char *name)
{
  GstElement *e = gst_bin_get_by_name (GST_BIN (bin), name);
  CU_ASSERT_PTR_NOT_NULL_FATAL (e);
  gst_object_unref (e); /* the bin keeps it */
  return e;
}

static void
hostile (const NervedTemplate *t, const char *name, JsonNode *value)
{
  g_autoptr (JsonObject) params = json_object_new ();
  g_autofree char *inp = in_root ("in.txt");
  if (!g_str_equal (name, "p"))
    json_object_set_string_member (params, "p", inp);
  json_object_set_member (params, name, value);
  const char *roots[] = { root, NULL };
  g_autoptr (GError) e = NULL;
  g_autoptr (JsonObject) eff = NULL;
  g_autofree char *launch = nerved_template_render (t, params, roots, NULL, &eff, &e);
  if (!launch) {
    CU_ASSERT_TRUE (g_error_matches (e, NERVED_ERROR, NERVED_ERROR_BAD_PARAM) && g_str_has_prefix (e->message, name));
    hostile_refused++;
    return;
  }
  hostile_rendered++;
  GstElement *p = gst_parse_launch_full (launch, NULL, GST_PARSE_FLAG_FATAL_ERRORS, &e);
  if (!p)
    fprintf (stderr, "  %s does not parse: %s\n", launch, e->message);
  CU_ASSERT_PTR_NOT_NULL_FATAL (p);
  CU_ASSERT_EQUAL (GST_BIN (p)->numchildren, 11);
  const char *factories[] = { "fakesrc", "fakesink", "audiotestsrc", "filesrc", "filesink", "identity" };
  const int counts[] = { 1, 5, 1, 2, 1, 1 };
  for (guint k = 0; k < G_N_ELEMENTS (factories); k++)
    CU_ASSERT_EQUAL (count_factory (p, factories[k], NULL), counts[k]);
  JsonNode *want = json_object_get_member (eff, name);
  gboolean ok = FALSE;
  if (g_str_equal (name, "i")) {
    int n = 0;
    g_object_get (by_name (p, "src"), "num-buffers", &n, NULL);
    ok = n == json_node_get_int (want);
  } else if (g_str_equal (name, "b")) {
    gboolean b = TRUE;
    g_object_get (by_name (p, "k1"), "sync", &b, NULL);
    ok = b == json_node_get_boolean (want);
  } else if (g_str_equal (name, "f")) {
    double f = 0;
    g_object_get (by_name (p, "ats"), "freq", &f, NULL);
    ok = f == json_node_get_double (want);
  } else if (g_str_equal (name, "e")) {
    int w = -1;
    g_object_get (by_name (p, "ats"), "wave", &w, NULL);
    GParamSpec *ps = g_object_class_find_property (G_OBJECT_GET_CLASS (by_name (p, "ats")), "wave");
    GEnumValue *ev = g_enum_get_value (G_PARAM_SPEC_ENUM (ps)->enum_class, w);
    ok = ev && g_str_equal (ev->value_nick, json_node_get_string (want));
  } else {
    GstElement *el = NULL;
    if (g_str_equal (name, "s"))
      count_factory (p, "identity", &el);
    else
      el = by_name (p, g_str_equal (name, "p") ? "fp" : g_str_equal (name, "w") ? "fw" : "fu");
    const char *prop = g_str_equal (name, "s") ? "name" : "location";
    g_autofree char *got = NULL;
    g_object_get (el, prop, &got, NULL);
    ok = g_strcmp0 (got, json_node_get_string (want)) == 0;
    if (!ok)
      fprintf (stderr, "  %s: read back '%s', rendered '%s'\n", name, got, json_node_get_string (want));
  }
  if (!ok)
    fprintf (stderr, "  %s: %s\n", name, launch);
  CU_ASSERT_TRUE (ok);
  gst_object_unref (p);
}

static JsonNode *
str (const char *s)
{
  return json_node_init_string (json_node_alloc (), s);
}

static void
test_hostile_values (void)
{
  g_autoptr (NervedTemplate) t = typed_template ();
  const char *strings[] = { "a ! fakesink", "x name=y", "\"", "'", "a\nb", "\\", "a\" ! fakesink \"", "x location=/etc/passwd",
    "${s}", "NULL", "a,b;c (d) [e] {f} <g>", " leading", "", "$(rm -rf /)", "%s%n", "\xc3\xa9t\xc3\xa9", "tab\t", "\r",
    "a\\\"b", "} ! fakesink {", "1", "true", "-1", "0x10", "1e3", "sine ! fakesink", "square", "file:///etc/passwd",
    "udp://h:1 ! fakesink", "udp://h:1 name=x", "udp://1.2.3.4:5/a,b;c", "file://", "../in.txt", "/etc/passwd",
    "in.txt", "sub/in2.txt", "in\nx.txt", "in.txt ! fakesink", NULL };
  const char *names[] = { "i", "b", "f", "e", "p", "w", "u", "s" };
  for (guint k = 0; k < G_N_ELEMENTS (names); k++) {
    for (int j = 0; strings[j]; j++)
      hostile (t, names[k], str (strings[j]));
    hostile (t, names[k], json_node_init_int (json_node_alloc (), 5));
    hostile (t, names[k], json_node_init_int (json_node_alloc (), G_MININT64));
    hostile (t, names[k], json_node_init_double (json_node_alloc (), 1e300));
    hostile (t, names[k], json_node_init_double (json_node_alloc (), 2.5));
    hostile (t, names[k], json_node_init_boolean (json_node_alloc (), TRUE));
    hostile (t, names[k], json_node_new (JSON_NODE_NULL));
  }
  /* real files with awkward names inside the root: the path must come back unchanged */
  const char *files[] = { "a b.txt", "x!y.txt", "x=y.txt", "q'.txt", "c,d;e.txt", "(p)[q]{r}.txt", "$x.txt",
                          "\xc3\xa9.txt", "NULL", "q\"x.txt", "b\\s.txt", "nl\nx.txt", "-.txt", " .txt" };
  for (guint k = 0; k < G_N_ELEMENTS (files); k++) {
    g_autofree char *path = in_root (files[k]);
    touch (path);
    hostile (t, "p", str (files[k]));
    hostile (t, "w", str (files[k]));
    g_autofree char *uri = g_filename_to_uri (path, NULL, NULL);
    hostile (t, "u", str (uri));
  }
  fprintf (stderr, "  hostile values: %d rendered and read back, %d refused\n", hostile_rendered, hostile_refused);
  CU_ASSERT_TRUE (hostile_rendered > 40 && hostile_refused > 200);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  g_autofree char *tmp = g_dir_make_tmp ("nerved-template-XXXXXX", NULL);
  top = realpath (tmp, NULL);
  root = g_build_filename (top, "root", NULL);
  outside = g_build_filename (top, "outside", NULL);
  g_mkdir (root, 0700);
  g_mkdir (outside, 0700);
  g_autofree char *sub = g_build_filename (root, "sub", NULL), *in = g_build_filename (root, "in.txt", NULL),
                  *in2 = g_build_filename (sub, "in2.txt", NULL), *secret = g_build_filename (outside, "secret", NULL),
                  *link = g_build_filename (root, "link", NULL), *ldir = g_build_filename (root, "ldir", NULL),
                  *inlink = g_build_filename (root, "inlink", NULL);
  g_mkdir (sub, 0700);
  g_file_set_contents (in, "data", -1, NULL);
  g_file_set_contents (in2, "data", -1, NULL);
  g_file_set_contents (secret, "secret", -1, NULL);
  if (symlink (secret, link) != 0 || symlink (outside, ldir) != 0 || symlink ("in.txt", inlink) != 0)
    return 1;

  static const TestCase tests[] = {
    { "error codes map to HTTP statuses and names", test_error_codes },
    { "a full template parses, with continuations and JSON", test_parse_full },
    { "missing element factories make a template unavailable", test_missing_elements },
    { "every template load error names the file and key", test_load_errors },
    { "typed values: valid and invalid, errors name the parameter", test_types },
    { "required, unknown, defaults, effective values", test_required_unknown_defaults },
    { "trusted job parameters: daemon only", test_trusted },
    { "paths stay inside the data roots", test_paths },
    { "templates directories load, override, skip bad files", test_load_dirs },
    { "hostile values never change the pipeline", test_hostile_values },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("nerved-template", tests);
  api_rm_rf (top);
  free (top);
  g_free (root);
  g_free (outside);
  return failed ? 1 : 0;
}

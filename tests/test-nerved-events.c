/* nerved events: numbering, the bounded log, resuming, subscribers, SSE and JSON form. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "nerved-events.h"

static JsonObject *
parse_object (const char *text)
{
  g_autoptr (JsonParser) p = json_parser_new ();
  if (!json_parser_load_from_data (p, text, -1, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (p);
  if (!JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  return json_object_ref (json_node_get_object (root));
}

static gboolean
is_rfc3339_us (const char *s)
{
  return g_regex_match_simple ("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$", s, 0, 0);
}

static void
test_seq_and_data (void)
{
  NervedEventLog *log = nerved_event_log_new (16);
  CU_ASSERT_EQUAL (nerved_event_log_last_seq (log), 0);
  for (int i = 1; i <= 5; i++) {
    g_autoptr (JsonObject) f = json_object_new ();
    json_object_set_int_member (f, "i", i);
    json_object_set_string_member (f, "seq", "ignored"); /* reserved names keep their meaning */
    NervedEvent *ev = nerved_event_log_append (log, "state", i == 3 ? NULL : "p1", f);
    CU_ASSERT_EQUAL (ev->seq, (guint64) i);
    g_autoptr (JsonObject) o = parse_object (ev->data);
    CU_ASSERT_PTR_NOT_NULL_FATAL (o);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "seq"), i);
    CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "type"), "state");
    if (i == 3) {
      CU_ASSERT_TRUE (json_object_get_null_member (o, "pipeline"));
    } else {
      CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "pipeline"), "p1");
    }
    CU_ASSERT_TRUE (is_rfc3339_us (json_object_get_string_member (o, "time")));
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "i"), i);
    g_autofree char *prefix = g_strdup_printf ("{\"seq\":%d,\"type\":\"state\",", i);
    CU_ASSERT_TRUE (g_str_has_prefix (ev->data, prefix));
    CU_ASSERT_PTR_NULL (strchr (ev->data, '\n'));
  }
  NervedEvent *bare = nerved_event_log_append (log, "eos", "p1", NULL);
  CU_ASSERT_EQUAL (bare->seq, 6);
  CU_ASSERT_EQUAL (nerved_event_log_last_seq (log), 6);
  CU_ASSERT_EQUAL (nerved_event_log_total (log), 6);
  /* the events outlive the log while referenced */
  NervedEvent *kept = nerved_event_ref (bare);
  nerved_event_log_free (log);
  CU_ASSERT_STRING_EQUAL (kept->type, "eos");
  nerved_event_unref (kept);
}

static void
test_time_format (void)
{
  g_autofree char *epoch = nerved_time_format (0);
  CU_ASSERT_STRING_EQUAL (epoch, "1970-01-01T00:00:00.000000Z");
  g_autofree char *t = nerved_time_format (G_GINT64_CONSTANT (1700000000) * G_USEC_PER_SEC + 42);
  CU_ASSERT_STRING_EQUAL (t, "2023-11-14T22:13:20.000042Z");
  g_autofree char *before = nerved_time_format (-1);
  CU_ASSERT_STRING_EQUAL (before, "1969-12-31T23:59:59.999999Z");
}

static void
test_ring_overflow (void)
{
  NervedEventLog *log = nerved_event_log_new (4);
  for (int i = 0; i < 10; i++)
    nerved_event_log_append (log, "message", "p", NULL);
  guint64 missed = 99;
  g_autoptr (GPtrArray) all = nerved_event_log_since (log, 0, &missed);
  CU_ASSERT_EQUAL (missed, 6);
  CU_ASSERT_EQUAL_FATAL (all->len, 4);
  for (guint i = 0; i < 4; i++)
    CU_ASSERT_EQUAL (((NervedEvent *) all->pdata[i])->seq, 7 + i);
  g_autoptr (GPtrArray) two = nerved_event_log_since (log, 5, &missed);
  CU_ASSERT_EQUAL (missed, 1);
  CU_ASSERT_EQUAL (two->len, 4);
  g_autoptr (GPtrArray) tail = nerved_event_log_since (log, 8, &missed);
  CU_ASSERT_EQUAL (missed, 0);
  CU_ASSERT_EQUAL_FATAL (tail->len, 2);
  CU_ASSERT_EQUAL (((NervedEvent *) tail->pdata[0])->seq, 9);
  g_autoptr (GPtrArray) none = nerved_event_log_since (log, 10, &missed);
  CU_ASSERT_EQUAL (none->len, 0);
  CU_ASSERT_EQUAL (missed, 0);
  g_autoptr (GPtrArray) future = nerved_event_log_since (log, 50, NULL);
  CU_ASSERT_EQUAL (future->len, 0);
  CU_ASSERT_EQUAL (nerved_event_log_total (log), 10);
  nerved_event_log_free (log);
}

/* A client that reads, disconnects, and reconnects with Last-Event-ID gets exactly the
 * events it has not seen, in order. */
static void
test_since_after_reconnect (void)
{
  NervedEventLog *log = nerved_event_log_new (64);
  for (int i = 0; i < 3; i++)
    nerved_event_log_append (log, "message", "p", NULL);
  guint64 missed;
  g_autoptr (GPtrArray) first = nerved_event_log_since (log, 0, &missed);
  CU_ASSERT_EQUAL (first->len, 3);
  guint64 last_seen = ((NervedEvent *) first->pdata[first->len - 1])->seq;
  for (int i = 0; i < 5; i++)
    nerved_event_log_append (log, "message", "p", NULL);
  g_autoptr (GPtrArray) again = nerved_event_log_since (log, last_seen, &missed);
  CU_ASSERT_EQUAL (missed, 0);
  CU_ASSERT_EQUAL_FATAL (again->len, 5);
  for (guint i = 0; i < again->len; i++)
    CU_ASSERT_EQUAL (((NervedEvent *) again->pdata[i])->seq, last_seen + 1 + i);
  nerved_event_log_free (log);
}

static void
record_seq (NervedEvent *ev, gpointer user_data)
{
  g_array_append_val ((GArray *) user_data, ev->seq);
}

static void
test_copy_renumbers (void)
{
  NervedEventLog *a = nerved_event_log_new (8), *b = nerved_event_log_new (8), *global = nerved_event_log_new (8);
  g_autoptr (GArray) seen = g_array_new (FALSE, FALSE, sizeof (guint64));
  nerved_event_log_subscribe (global, record_seq, seen);
  for (int i = 0; i < 3; i++) {
    g_autoptr (JsonObject) f = json_object_new ();
    json_object_set_string_member (f, "text", "x,\"y\"\n");
    nerved_event_log_append_copy (global, nerved_event_log_append (a, "message", "a", f));
    nerved_event_log_append_copy (global, nerved_event_log_append (b, "eos", "b", NULL));
  }
  CU_ASSERT_EQUAL (nerved_event_log_last_seq (a), 3);
  CU_ASSERT_EQUAL (nerved_event_log_last_seq (global), 6);
  CU_ASSERT_EQUAL_FATAL (seen->len, 6);
  g_autoptr (GPtrArray) all = nerved_event_log_since (global, 0, NULL);
  for (guint i = 0; i < all->len; i++) {
    NervedEvent *ev = all->pdata[i];
    CU_ASSERT_EQUAL (g_array_index (seen, guint64, i), i + 1);
    CU_ASSERT_EQUAL (ev->seq, i + 1);
    g_autoptr (JsonObject) o = parse_object (ev->data);
    CU_ASSERT_PTR_NOT_NULL_FATAL (o);
    CU_ASSERT_EQUAL (json_object_get_int_member (o, "seq"), (gint64) i + 1);
    CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "pipeline"), i % 2 ? "b" : "a");
    if (i % 2 == 0) {
      CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "text"), "x,\"y\"\n");
    }
  }
  /* a copy of a copy stays consistent */
  NervedEventLog *again = nerved_event_log_new (2);
  NervedEvent *c = nerved_event_log_append_copy (again, all->pdata[4]);
  g_autoptr (JsonObject) o = parse_object (c->data);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "seq"), 1);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "text"), "x,\"y\"\n");
  CU_ASSERT_EQUAL (c->time_us, ((NervedEvent *) all->pdata[4])->time_us);
  nerved_event_log_free (again);
  nerved_event_log_free (a);
  nerved_event_log_free (b);
  nerved_event_log_free (global);
}

/* ---- subscribers that change the subscriber list while being called ---- */

typedef struct {
  NervedEventLog *log;
  guint self, other, added;
  int calls;
  gboolean drop_self, drop_other, add_one, append_more;
} Sub;

static void sub_cb (NervedEvent *ev, gpointer user_data);

static void
late_cb (NervedEvent *ev, gpointer user_data)
{
  (void) ev;
  ((Sub *) user_data)->calls++;
}

static void
sub_cb (NervedEvent *ev, gpointer user_data)
{
  Sub *s = user_data;
  s->calls++;
  if (s->drop_self) {
    nerved_event_log_unsubscribe (s->log, s->self);
    s->drop_self = FALSE;
  }
  if (s->drop_other) {
    nerved_event_log_unsubscribe (s->log, s->other);
    s->drop_other = FALSE;
  }
  if (s->add_one) {
    s->added = nerved_event_log_subscribe (s->log, late_cb, s + 1);
    s->add_one = FALSE;
  }
  if (s->append_more && ev->seq == 1) /* nested dispatch */
    nerved_event_log_append (s->log, "nested", NULL, NULL);
}

static void
test_subscribers_during_dispatch (void)
{
  NervedEventLog *log = nerved_event_log_new (2);
  Sub s[5] = { { 0 } };
  for (int i = 0; i < 5; i++)
    s[i].log = log;
  s[0].drop_self = TRUE;   /* leaves on its first event */
  s[1].drop_other = TRUE;  /* removes s[2] before it is called */
  s[3].add_one = TRUE;     /* adds late_cb (counting into s[4]) */
  s[3].append_more = TRUE; /* appends while subscribers are running */
  for (int i = 0; i < 4; i++)
    s[i].self = nerved_event_log_subscribe (log, sub_cb, &s[i]);
  s[1].other = s[2].self;

  nerved_event_log_append (log, "first", NULL, NULL);
  /* seq 1 reached s0, s1, s3; s3 appended seq 2 (nested), which reached s1 and s3 and
   * late_cb (added before the nested dispatch began) */
  CU_ASSERT_EQUAL (s[0].calls, 1);
  CU_ASSERT_EQUAL (s[1].calls, 2);
  CU_ASSERT_EQUAL (s[2].calls, 0);
  CU_ASSERT_EQUAL (s[3].calls, 2);
  CU_ASSERT_EQUAL (s[4].calls, 1);
  nerved_event_log_append (log, "second", NULL, NULL);
  CU_ASSERT_EQUAL (s[0].calls, 1);
  CU_ASSERT_EQUAL (s[1].calls, 3);
  CU_ASSERT_EQUAL (s[2].calls, 0);
  CU_ASSERT_EQUAL (s[3].calls, 3);
  CU_ASSERT_EQUAL (s[4].calls, 2);
  nerved_event_log_unsubscribe (log, s[3].added);
  nerved_event_log_unsubscribe (log, s[3].self);
  nerved_event_log_unsubscribe (log, 12345); /* unknown ids are ignored */
  nerved_event_log_append (log, "third", NULL, NULL);
  CU_ASSERT_EQUAL (s[1].calls, 4);
  CU_ASSERT_EQUAL (s[3].calls, 3);
  CU_ASSERT_EQUAL (s[4].calls, 2);
  CU_ASSERT_EQUAL (nerved_event_log_last_seq (log), 4);
  nerved_event_log_free (log);
}

static void
test_sse_format (void)
{
  NervedEventLog *log = nerved_event_log_new (4);
  g_autoptr (JsonObject) f = json_object_new ();
  json_object_set_string_member (f, "message", "line one\nline two\r\nend\x01");
  NervedEvent *ev = nerved_event_log_append (log, "error", "p7", f);
  g_autofree char *sse = nerved_event_format_sse (ev);
  g_autofree char *expect = g_strdup_printf ("id: 1\nevent: error\ndata: %s\n\n", ev->data);
  CU_ASSERT_STRING_EQUAL (sse, expect);
  CU_ASSERT_PTR_NULL (strchr (ev->data, '\n'));
  CU_ASSERT_PTR_NULL (strchr (ev->data, '\r'));
  /* three newlines in all: after id, after event, and the blank line after data */
  int nl = 0;
  for (const char *c = sse; *c; c++)
    nl += *c == '\n';
  CU_ASSERT_EQUAL (nl, 4);
  g_autoptr (JsonObject) o = parse_object (ev->data);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "message"), "line one\nline two\r\nend\x01");
  nerved_event_log_free (log);
}

/* ---- GstStructure → JSON ---- */

static void
set_value (GstStructure *s, const char *name, GValue *v)
{
  gst_structure_take_value (s, name, v);
  memset (v, 0, sizeof *v);
}

static void
test_structure_to_json (void)
{
  GValue v = G_VALUE_INIT;
  GstStructure *s = gst_structure_new ("nervetest", "int", G_TYPE_INT, -5, "uint", G_TYPE_UINT, G_MAXUINT,
      "int64", G_TYPE_INT64, G_MININT64, "uint64", G_TYPE_UINT64, G_GUINT64_CONSTANT (1) << 62,
      "uint64-big", G_TYPE_UINT64, G_MAXUINT64 - 1, "clock-none", G_TYPE_UINT64, GST_CLOCK_TIME_NONE,
      "stream-time", GST_TYPE_CLOCK_TIME, 3 * GST_SECOND, "long", G_TYPE_LONG, -7L, "ulong", G_TYPE_ULONG, 7UL,
      "float", G_TYPE_FLOAT, 0.5, "double", G_TYPE_DOUBLE, -2.25, "nan", G_TYPE_DOUBLE, (double) NAN,
      "inf", G_TYPE_DOUBLE, (double) INFINITY, "ninf", G_TYPE_FLOAT, -(double) INFINITY, "yes", G_TYPE_BOOLEAN, TRUE,
      "no", G_TYPE_BOOLEAN, FALSE, "text", G_TYPE_STRING, "héllo \"q\"\n",
      "null-string", G_TYPE_STRING, NULL, "state", GST_TYPE_STATE, GST_STATE_PLAYING,
      "seek-flags", GST_TYPE_SEEK_FLAGS, GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE,
      "no-flags", GST_TYPE_SEEK_FLAGS, GST_SEEK_FLAG_NONE, "rate", GST_TYPE_FRACTION, 30, 1,
      "name", G_TYPE_STRING, "shadowed", NULL);

  g_value_init (&v, G_TYPE_CHAR);
  g_value_set_schar (&v, -3);
  set_value (s, "char", &v);
  g_value_init (&v, G_TYPE_UCHAR);
  g_value_set_uchar (&v, 250);
  set_value (s, "uchar", &v);

  g_value_init (&v, GST_TYPE_LIST);
  for (int i = 0; i < 3; i++) {
    GValue e = G_VALUE_INIT;
    g_value_init (&e, G_TYPE_INT);
    g_value_set_int (&e, i * 10);
    gst_value_list_append_and_take_value (&v, &e);
  }
  set_value (s, "list", &v);

  g_value_init (&v, GST_TYPE_ARRAY);
  {
    GValue e = G_VALUE_INIT;
    g_value_init (&e, G_TYPE_STRING);
    g_value_set_string (&e, "a");
    gst_value_array_append_and_take_value (&v, &e);
    g_value_init (&e, G_TYPE_STRING); /* GstStructure refuses such strings only at the top */
    g_value_set_string (&e, "ab\xff\xfe" "cd");
    gst_value_array_append_and_take_value (&v, &e);
  }
  set_value (s, "array", &v);
  g_value_init (&v, GST_TYPE_ARRAY);
  for (int i = 0; i < 2; i++) {
    GValue e = G_VALUE_INIT;
    g_value_init (&e, G_TYPE_DOUBLE);
    g_value_set_double (&e, i ? (double) NAN : 1.5);
    gst_value_array_append_and_take_value (&v, &e);
  }
  set_value (s, "doubles", &v);

  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  GValueArray *va = g_value_array_new (2);
  for (int i = 0; i < 2; i++) {
    GValue e = G_VALUE_INIT;
    g_value_init (&e, G_TYPE_DOUBLE);
    g_value_set_double (&e, -20.0 - i);
    g_value_array_append (va, &e);
    g_value_unset (&e);
  }
  g_value_init (&v, g_value_array_get_type ());
  g_value_take_boxed (&v, va);
  G_GNUC_END_IGNORE_DEPRECATIONS
  set_value (s, "rms", &v);

  GArray *ga = g_array_new (FALSE, TRUE, sizeof (GValue));
  g_array_set_clear_func (ga, (GDestroyNotify) g_value_unset);
  for (int i = 0; i < 2; i++) {
    GValue e = G_VALUE_INIT;
    g_value_init (&e, G_TYPE_UINT64);
    g_value_set_uint64 (&e, (guint64) i + 1);
    g_array_append_val (ga, e);
  }
  g_value_init (&v, G_TYPE_ARRAY);
  g_value_take_boxed (&v, ga);
  set_value (s, "garray", &v);

  GstStructure *innermost = gst_structure_new ("innermost", "ok", G_TYPE_BOOLEAN, TRUE, NULL);
  GstStructure *inner = gst_structure_new ("inner", "depth", G_TYPE_INT, 2, "deeper", GST_TYPE_STRUCTURE,
      innermost, NULL);
  gst_structure_free (innermost);
  g_value_init (&v, GST_TYPE_STRUCTURE);
  gst_value_set_structure (&v, inner);
  gst_structure_free (inner);
  set_value (s, "nested", &v);

  GstCaps *caps = gst_caps_from_string ("audio/x-raw, rate=(int)16000");
  gst_structure_set (s, "caps", GST_TYPE_CAPS, caps, NULL);
  gst_caps_unref (caps);

  g_autoptr (JsonObject) o = nerved_structure_to_json (s);
  gst_structure_free (s);

  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "name"), "nervetest");
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "int"), -5);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "uint"), G_MAXUINT);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "int64"), G_MININT64);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "uint64"), G_GINT64_CONSTANT (1) << 62);
  JsonNode *big = json_object_get_member (o, "uint64-big");
  CU_ASSERT_EQUAL (json_node_get_value_type (big), G_TYPE_DOUBLE);
  CU_ASSERT_DOUBLE_EQUAL (json_node_get_double (big), 18446744073709551614.0, 1e5);
  CU_ASSERT_TRUE (json_object_get_null_member (o, "clock-none"));
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "stream-time"), 3000000000);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "long"), -7);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "ulong"), 7);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "char"), -3);
  CU_ASSERT_EQUAL (json_object_get_int_member (o, "uchar"), 250);
  CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (o, "float"), 0.5, 0);
  CU_ASSERT_DOUBLE_EQUAL (json_object_get_double_member (o, "double"), -2.25, 0);
  CU_ASSERT_TRUE (json_object_get_null_member (o, "nan"));
  CU_ASSERT_TRUE (json_object_get_null_member (o, "inf"));
  CU_ASSERT_TRUE (json_object_get_null_member (o, "ninf"));
  CU_ASSERT_TRUE (json_object_get_boolean_member (o, "yes"));
  CU_ASSERT_FALSE (json_object_get_boolean_member (o, "no"));
  CU_ASSERT_EQUAL (json_node_get_value_type (json_object_get_member (o, "no")), G_TYPE_BOOLEAN);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "text"), "héllo \"q\"\n");
  CU_ASSERT_TRUE (json_object_get_null_member (o, "null-string"));
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "state"), "playing");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "seek-flags"), "flush+accurate");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "no-flags"), "none");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "rate"), "30/1");
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (o, "caps"), "audio/x-raw, rate=(int)16000");

  JsonArray *list = json_object_get_array_member (o, "list");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (list), 3);
  CU_ASSERT_EQUAL (json_array_get_int_element (list, 2), 20);
  JsonArray *array = json_object_get_array_member (o, "array");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (array), 2);
  CU_ASSERT_STRING_EQUAL (json_array_get_string_element (array, 0), "a");
  const char *bad = json_array_get_string_element (array, 1);
  CU_ASSERT_TRUE (g_utf8_validate (bad, -1, NULL));
  CU_ASSERT_TRUE (g_str_has_prefix (bad, "ab") && g_str_has_suffix (bad, "cd") && strstr (bad, "\xef\xbf\xbd"));
  JsonArray *doubles = json_object_get_array_member (o, "doubles");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (doubles), 2);
  CU_ASSERT_DOUBLE_EQUAL (json_array_get_double_element (doubles, 0), 1.5, 0);
  CU_ASSERT_TRUE (json_array_get_null_element (doubles, 1));
  JsonArray *rms = json_object_get_array_member (o, "rms");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (rms), 2);
  CU_ASSERT_DOUBLE_EQUAL (json_array_get_double_element (rms, 1), -21.0, 0);
  JsonArray *garray = json_object_get_array_member (o, "garray");
  CU_ASSERT_EQUAL_FATAL (json_array_get_length (garray), 2);
  CU_ASSERT_EQUAL (json_array_get_int_element (garray, 1), 2);
  JsonObject *nested = json_object_get_object_member (o, "nested");
  CU_ASSERT_PTR_NOT_NULL_FATAL (nested);
  CU_ASSERT_STRING_EQUAL (json_object_get_string_member (nested, "name"), "inner");
  CU_ASSERT_EQUAL (json_object_get_int_member (nested, "depth"), 2);
  JsonObject *deeper = json_object_get_object_member (nested, "deeper");
  CU_ASSERT_PTR_NOT_NULL_FATAL (deeper);
  CU_ASSERT_TRUE (json_object_get_boolean_member (deeper, "ok"));

  /* the whole object as an event: valid JSON, one line, valid UTF-8 */
  NervedEventLog *log = nerved_event_log_new (2);
  NervedEvent *ev = nerved_event_log_append (log, "message", "p", o);
  CU_ASSERT_PTR_NULL (strchr (ev->data, '\n'));
  CU_ASSERT_TRUE (g_utf8_validate (ev->data, -1, NULL));
  g_autoptr (JsonObject) back = parse_object (ev->data);
  CU_ASSERT_PTR_NOT_NULL_FATAL (back);
  CU_ASSERT_TRUE (json_object_get_null_member (back, "nan"));
  CU_ASSERT_EQUAL (json_object_get_int_member (back, "int64"), G_MININT64);
  nerved_event_log_free (log);
}

/* Strings that reach an event without passing nerved_structure_to_json (error messages
 * built elsewhere) are made valid too. */
static void
test_invalid_utf8_fields (void)
{
  NervedEventLog *log = nerved_event_log_new (2);
  g_autoptr (JsonObject) f = json_object_new ();
  json_object_set_string_member (f, "debug", "path /tmp/\xc3\x28.wav");
  NervedEvent *ev = nerved_event_log_append (log, "error", "p", f);
  CU_ASSERT_TRUE (g_utf8_validate (ev->data, -1, NULL));
  g_autoptr (JsonObject) o = parse_object (ev->data);
  CU_ASSERT_PTR_NOT_NULL_FATAL (o);
  CU_ASSERT_TRUE (g_str_has_prefix (json_object_get_string_member (o, "debug"), "path /tmp/"));
  /* and one string value on its own */
  GValue v = G_VALUE_INIT;
  g_value_init (&v, G_TYPE_STRING);
  g_value_set_static_string (&v, "\xff");
  g_autoptr (JsonNode) n = nerved_value_to_json (&v);
  CU_ASSERT_STRING_EQUAL (json_node_get_string (n), "\xef\xbf\xbd");
  g_value_unset (&v);
  nerved_event_log_free (log);
}

int
main (int argc, char **argv)
{
  gst_init (&argc, &argv);
  static const TestCase tests[] = {
    { "seq 1, 2, 3 ... and the event JSON", test_seq_and_data },
    { "RFC 3339 UTC time with microseconds", test_time_format },
    { "ring overflow: oldest dropped, missed counted", test_ring_overflow },
    { "since() after a reconnect", test_since_after_reconnect },
    { "append_copy renumbers into the daemon-wide log", test_copy_renumbers },
    { "subscribe/unsubscribe during dispatch", test_subscribers_during_dispatch },
    { "SSE form: one data line", test_sse_format },
    { "GstStructure to JSON: every type", test_structure_to_json },
    { "invalid UTF-8 in fields made valid", test_invalid_utf8_fields },
    { NULL, NULL },
  };
  int failed = nerve_test_main ("nerved-events", tests);
  gst_deinit ();
  return failed ? 1 : 0;
}

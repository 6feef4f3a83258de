/* nerved: events, their bounded logs, subscribers and Server-Sent Events form. */
#include "nerved-events.h"

#include <math.h>
#include <string.h>

/* The public event plus where its JSON continues after `{"seq":N,`, so that a copy into
 * another log is re-numbered without serialising the fields again. */
typedef struct {
  NervedEvent pub;
  gsize rest;
} Event;

typedef struct {
  guint id;               /* 0 once unsubscribed during a dispatch */
  NervedEventFunc func;
  gpointer user_data;
} Subscriber;

struct NervedEventLog {
  guint capacity;
  NervedEvent **ring;     /* event seq s lives in ring[(s - 1) % capacity] */
  guint count;            /* events kept: seqs last_seq - count + 1 .. last_seq */
  guint64 last_seq;
  GArray *subs;           /* Subscriber */
  guint next_sub_id;
  int dispatching;        /* nesting depth of subscriber calls */
  gboolean compact;       /* some subscriber left during a dispatch */
};

NervedEvent *
nerved_event_ref (NervedEvent *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);
  g_atomic_int_inc (&ev->refcount);
  return ev;
}

void
nerved_event_unref (NervedEvent *ev)
{
  if (!ev || !g_atomic_int_dec_and_test (&ev->refcount))
    return;
  g_free (ev->type);
  g_free (ev->pipeline);
  g_free (ev->data);
  g_free ((Event *) ev);
}

double
nerved_json_seconds (double s)
{
  return (double) (gint64) (s * 1024.0 + 0.5) / 1024.0;
}

char *
nerved_time_format (gint64 time_us)
{
  gint64 secs = time_us / G_USEC_PER_SEC, us = time_us % G_USEC_PER_SEC;
  if (us < 0) {
    secs--;
    us += G_USEC_PER_SEC;
  }
  g_autoptr (GDateTime) dt = g_date_time_new_from_unix_utc (secs);
  if (!dt)
    return g_strdup ("1970-01-01T00:00:00.000000Z");
  g_autofree char *base = g_date_time_format (dt, "%Y-%m-%dT%H:%M:%S");
  return g_strdup_printf ("%s.%06dZ", base, (int) us);
}

char *
nerved_event_format_sse (const NervedEvent *ev)
{
  g_return_val_if_fail (ev != NULL, NULL);
  return g_strdup_printf ("id: %" G_GUINT64_FORMAT "\nevent: %s\ndata: %s\n\n", ev->seq, ev->type, ev->data);
}

NervedEventLog *
nerved_event_log_new (guint capacity)
{
  NervedEventLog *log = g_new0 (NervedEventLog, 1);
  log->capacity = MAX (capacity, 1);
  log->ring = g_new0 (NervedEvent *, log->capacity);
  log->subs = g_array_new (FALSE, FALSE, sizeof (Subscriber));
  log->next_sub_id = 1;
  return log;
}

void
nerved_event_log_free (NervedEventLog *log)
{
  if (!log)
    return;
  g_warn_if_fail (log->dispatching == 0);
  for (guint i = 0; i < log->capacity; i++)
    nerved_event_unref (log->ring[i]);
  g_free (log->ring);
  g_array_unref (log->subs);
  g_free (log);
}

/* JSON text as one valid UTF-8 line: the generator escapes control characters in strings
 * and writes no newlines in compact mode; bytes that are not UTF-8 (all >= 0x80, so never
 * JSON syntax) become U+FFFD. */
static char *
json_line (JsonNode *root)
{
  g_autoptr (JsonGenerator) gen = json_generator_new ();
  json_generator_set_root (gen, root);
  char *text = json_generator_to_data (gen, NULL);
  if (!g_utf8_validate (text, -1, NULL)) {
    char *valid = g_utf8_make_valid (text, -1);
    g_free (text);
    text = valid;
  }
  return text;
}

static void
dispatch (NervedEventLog *log, NervedEvent *ev)
{
  /* Subscribers that join during the dispatch wait for the next event; those that leave
   * are only marked, so indices stay valid however callbacks nest. */
  guint n = log->subs->len;
  log->dispatching++;
  for (guint i = 0; i < n; i++) {
    Subscriber *s = &g_array_index (log->subs, Subscriber, i);
    if (s->id)
      s->func (ev, s->user_data);
  }
  if (--log->dispatching == 0 && log->compact) {
    for (guint i = log->subs->len; i-- > 0;)
      if (!g_array_index (log->subs, Subscriber, i).id)
        g_array_remove_index (log->subs, i);
    log->compact = FALSE;
  }
}

static NervedEvent *
store (NervedEventLog *log, Event *e)
{
  NervedEvent *ev = &e->pub;
  guint slot = (guint) ((ev->seq - 1) % log->capacity);
  nerved_event_unref (log->ring[slot]);
  log->ring[slot] = ev;
  log->last_seq = ev->seq;
  if (log->count < log->capacity)
    log->count++;
  /* a subscriber may append more events (and overflow the ring): keep ours alive */
  nerved_event_ref (ev);
  dispatch (log, ev);
  nerved_event_unref (ev);
  return ev;
}

static const char *const reserved[] = { "seq", "type", "pipeline", "time", NULL };

NervedEvent *
nerved_event_log_append (NervedEventLog *log, const char *type, const char *pipeline, JsonObject *fields)
{
  g_return_val_if_fail (log != NULL && type != NULL, NULL);
  Event *e = g_new0 (Event, 1);
  NervedEvent *ev = &e->pub;
  ev->refcount = 1;
  ev->seq = log->last_seq + 1;
  ev->type = g_strdup (type);
  ev->pipeline = g_strdup (pipeline);
  ev->time_us = g_get_real_time ();

  g_autoptr (JsonObject) o = json_object_new ();
  json_object_set_int_member (o, "seq", (gint64) ev->seq);
  json_object_set_string_member (o, "type", type);
  if (pipeline)
    json_object_set_string_member (o, "pipeline", pipeline);
  else
    json_object_set_null_member (o, "pipeline");
  g_autofree char *time = nerved_time_format (ev->time_us);
  json_object_set_string_member (o, "time", time);
  if (fields) {
    JsonObjectIter it;
    const char *name;
    JsonNode *node;
    json_object_iter_init (&it, fields);
    while (json_object_iter_next (&it, &name, &node))
      if (!g_strv_contains (reserved, name))
        json_object_set_member (o, name, json_node_copy (node));
  }
  g_autoptr (JsonNode) root = json_node_init_object (json_node_alloc (), o);
  ev->data = json_line (root);
  e->rest = (gsize) (strchr (ev->data, ',') + 1 - ev->data);
  return store (log, e);
}

NervedEvent *
nerved_event_log_append_copy (NervedEventLog *log, const NervedEvent *src)
{
  g_return_val_if_fail (log != NULL && src != NULL, NULL);
  const Event *from = (const Event *) src;
  Event *e = g_new0 (Event, 1);
  NervedEvent *ev = &e->pub;
  ev->refcount = 1;
  ev->seq = log->last_seq + 1;
  ev->type = g_strdup (src->type);
  ev->pipeline = g_strdup (src->pipeline);
  ev->time_us = src->time_us;
  g_autofree char *head = g_strdup_printf ("{\"seq\":%" G_GUINT64_FORMAT ",", ev->seq);
  e->rest = strlen (head);
  ev->data = g_strconcat (head, src->data + from->rest, NULL);
  return store (log, e);
}

guint64
nerved_event_log_last_seq (NervedEventLog *log)
{
  g_return_val_if_fail (log != NULL, 0);
  return log->last_seq;
}

guint64
nerved_event_log_total (NervedEventLog *log)
{
  g_return_val_if_fail (log != NULL, 0);
  return log->last_seq; /* numbering starts at 1 and has no gaps */
}

GPtrArray *
nerved_event_log_since (NervedEventLog *log, guint64 after, guint64 *missed)
{
  g_return_val_if_fail (log != NULL, NULL);
  GPtrArray *out = g_ptr_array_new_with_free_func ((GDestroyNotify) nerved_event_unref);
  guint64 lost = 0;
  if (after < log->last_seq) {
    guint64 oldest = log->last_seq - log->count + 1;
    guint64 from = after + 1;
    if (from < oldest) {
      lost = oldest - from;
      from = oldest;
    }
    for (guint64 s = from; s <= log->last_seq; s++)
      g_ptr_array_add (out, nerved_event_ref (log->ring[(s - 1) % log->capacity]));
  }
  if (missed)
    *missed = lost;
  return out;
}

guint
nerved_event_log_subscribe (NervedEventLog *log, NervedEventFunc func, gpointer user_data)
{
  g_return_val_if_fail (log != NULL && func != NULL, 0);
  Subscriber s = { log->next_sub_id++, func, user_data };
  g_array_append_val (log->subs, s);
  return s.id;
}

void
nerved_event_log_unsubscribe (NervedEventLog *log, guint id)
{
  g_return_if_fail (log != NULL);
  for (guint i = 0; i < log->subs->len; i++) {
    Subscriber *s = &g_array_index (log->subs, Subscriber, i);
    if (s->id != id || id == 0)
      continue;
    if (log->dispatching) {
      s->id = 0;
      log->compact = TRUE;
    } else {
      g_array_remove_index (log->subs, i);
    }
    return;
  }
}

/* ---- GstStructure → JSON ---- */

static JsonNode *
string_node (const char *s)
{
  JsonNode *n = json_node_alloc ();
  if (!s)
    return json_node_init_null (n);
  if (g_utf8_validate (s, -1, NULL))
    return json_node_init_string (n, s);
  g_autofree char *valid = g_utf8_make_valid (s, -1);
  return json_node_init_string (n, valid);
}

static JsonNode *
double_node (double d)
{
  JsonNode *n = json_node_alloc ();
  return isfinite (d) ? json_node_init_double (n, d) : json_node_init_null (n);
}

static JsonNode *
uint64_node (guint64 u)
{
  JsonNode *n = json_node_alloc ();
  if (u <= G_MAXINT64)
    return json_node_init_int (n, (gint64) u);
  if (u == G_MAXUINT64) /* GST_CLOCK_TIME_NONE and the like: "no value" */
    return json_node_init_null (n);
  return json_node_init_double (n, (double) u);
}

static JsonNode *
flags_node (const GValue *v)
{
  g_autoptr (GFlagsClass) klass = g_type_class_ref (G_VALUE_TYPE (v));
  guint flags = g_value_get_flags (v);
  if (flags == 0) {
    GFlagsValue *zero = g_flags_get_first_value (klass, 0);
    return string_node (zero ? zero->value_nick : "");
  }
  g_autoptr (GString) s = g_string_new (NULL);
  while (flags) {
    GFlagsValue *f = g_flags_get_first_value (klass, flags);
    if (!f || f->value == 0) { /* bits the type does not name */
      g_string_append_printf (s, "%s0x%x", s->len ? "+" : "", flags);
      break;
    }
    g_string_append_printf (s, "%s%s", s->len ? "+" : "", f->value_nick);
    flags &= ~f->value;
  }
  return string_node (s->str);
}

/* json_node_init_array/object take a reference of their own: these hand theirs over */
static JsonNode *
take_array (JsonArray *a)
{
  JsonNode *node = json_node_init_array (json_node_alloc (), a);
  json_array_unref (a);
  return node;
}

static JsonNode *
take_object (JsonObject *o)
{
  JsonNode *node = json_node_init_object (json_node_alloc (), o);
  json_object_unref (o);
  return node;
}

static JsonNode *
array_node (guint n, const GValue *(*nth) (const GValue *, guint), const GValue *v)
{
  JsonArray *a = json_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    json_array_add_element (a, nerved_value_to_json (nth (v, i)));
  return take_array (a);
}

G_GNUC_BEGIN_IGNORE_DEPRECATIONS
static const GValue *
value_array_nth (const GValue *v, guint i)
{
  return g_value_array_get_nth (g_value_get_boxed (v), i);
}
G_GNUC_END_IGNORE_DEPRECATIONS

static const GValue *
garray_nth (const GValue *v, guint i)
{
  return &g_array_index ((GArray *) g_value_get_boxed (v), GValue, i);
}

JsonNode *
nerved_value_to_json (const GValue *v)
{
  GType t = G_VALUE_TYPE (v);
  switch (G_TYPE_FUNDAMENTAL (t)) {
  case G_TYPE_CHAR:
    return json_node_init_int (json_node_alloc (), g_value_get_schar (v));
  case G_TYPE_UCHAR:
    return json_node_init_int (json_node_alloc (), g_value_get_uchar (v));
  case G_TYPE_INT:
    return json_node_init_int (json_node_alloc (), g_value_get_int (v));
  case G_TYPE_UINT:
    return json_node_init_int (json_node_alloc (), g_value_get_uint (v));
  case G_TYPE_LONG:
    return json_node_init_int (json_node_alloc (), g_value_get_long (v));
  case G_TYPE_ULONG:
    return uint64_node (g_value_get_ulong (v));
  case G_TYPE_INT64:
    return json_node_init_int (json_node_alloc (), g_value_get_int64 (v));
  case G_TYPE_UINT64:
    return uint64_node (g_value_get_uint64 (v));
  case G_TYPE_FLOAT:
    return double_node (g_value_get_float (v));
  case G_TYPE_DOUBLE:
    return double_node (g_value_get_double (v));
  case G_TYPE_BOOLEAN:
    return json_node_init_boolean (json_node_alloc (), g_value_get_boolean (v));
  case G_TYPE_STRING:
    return string_node (g_value_get_string (v));
  case G_TYPE_ENUM: {
    g_autoptr (GEnumClass) klass = g_type_class_ref (t);
    GEnumValue *e = g_enum_get_value (klass, g_value_get_enum (v));
    if (e)
      return string_node (e->value_nick);
    return json_node_init_int (json_node_alloc (), g_value_get_enum (v));
  }
  case G_TYPE_FLAGS:
    return flags_node (v);
  default:
    break;
  }
  if (t == GST_TYPE_LIST)
    return array_node (gst_value_list_get_size (v), gst_value_list_get_value, v);
  if (t == GST_TYPE_ARRAY)
    return array_node (gst_value_array_get_size (v), gst_value_array_get_value, v);
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  if (t == g_value_array_get_type ()) {
    GValueArray *va = g_value_get_boxed (v);
    if (!va)
      return take_array (json_array_new ());
    return array_node (va->n_values, value_array_nth, v);
  }
  G_GNUC_END_IGNORE_DEPRECATIONS
  if (t == G_TYPE_ARRAY) { /* GValueArray's replacement: a GArray of GValue */
    GArray *ga = g_value_get_boxed (v);
    if (!ga)
      return take_array (json_array_new ());
    if (g_array_get_element_size (ga) == sizeof (GValue))
      return array_node (ga->len, garray_nth, v);
  }
  if (t == GST_TYPE_STRUCTURE) {
    const GstStructure *s = gst_value_get_structure (v);
    if (!s)
      return json_node_init_null (json_node_alloc ());
    return take_object (nerved_structure_to_json (s));
  }
  if (t == GST_TYPE_CAPS) { /* caps unquoted and unescaped, as gst-launch writes them */
    const GstCaps *caps = gst_value_get_caps (v);
    g_autofree char *text = caps ? gst_caps_to_string (caps) : NULL;
    return string_node (text);
  }
  g_autofree char *text = gst_value_serialize (v);
  if (!text)
    text = g_strdup_value_contents (v);
  return string_node (text);
}

static gboolean
add_field (GQuark field, const GValue *value, gpointer user_data)
{
  const char *name = g_quark_to_string (field);
  if (strcmp (name, "name") != 0) /* the structure's own name keeps that key */
    json_object_set_member (user_data, name, nerved_value_to_json (value));
  return TRUE;
}

JsonObject *
nerved_structure_to_json (const GstStructure *s)
{
  g_return_val_if_fail (s != NULL, NULL);
  JsonObject *o = json_object_new ();
  json_object_set_member (o, "name", string_node (gst_structure_get_name (s)));
  gst_structure_foreach (s, add_field, o);
  return o;
}

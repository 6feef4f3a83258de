/* Cutting a UTF-8 text stream into units for the text elements: pure functions over
 * a byte buffer that grows as chunks arrive, so a boundary can be looked for again
 * from where the last search stopped. */
#pragma once
#include <glib.h>

#include "gstnervesentiment.h"

/* Looks for the end of the unit starting at unit_start, scanning d[from, len). Found:
 * *text_end ends the unit's text, *next is where the following unit starts. Not found
 * (more bytes are needed to decide): *resume is where to scan again once they arrive.
 * Line mode ends a unit at '\n'. Sentence mode ends it after a run of . ! ? (and any
 * closing quotes or brackets) followed by whitespace, except a single '.' after an
 * initial ("J.") or a few abbreviations (Mr, Mrs, Ms, Dr, Prof, Sr, Jr, St, vs, e.g,
 * i.e, cf), or at a blank line. */
gboolean nerve_text_find_boundary (GstNerveSentimentSegment mode, const guint8 *d, gsize unit_start, gsize from,
                                   gsize len, gsize *text_end, gsize *next, gsize *resume);

/* The unit's text as it goes downstream (newly allocated), or NULL when it is blank.
 * Line mode keeps the line (without a trailing CR); sentence mode trims it and turns
 * line breaks and tabs into spaces. Invalid UTF-8 (and NUL) bytes become U+FFFD, one
 * per byte, and *replaced says so. */
gchar *nerve_text_unit (GstNerveSentimentSegment mode, const guint8 *d, gsize n, gboolean *replaced);

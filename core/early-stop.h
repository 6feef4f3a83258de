/* Early stopping on a validation metric, with patience. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  int patience;       /* epochs without improvement before stopping; <= 0 never stops */
  gboolean maximize;  /* TRUE for accuracy-like metrics, FALSE for losses */
  float min_delta;    /* an improvement must beat the best by more than this */
  float best;         /* best metric so far (±inf before the first epoch) */
  int best_epoch;     /* -1 before the first improvement */
  int bad_epochs;     /* epochs since the best */
} NerveEarlyStop;

void nerve_early_stop_init (NerveEarlyStop *e, int patience, gboolean maximize, float min_delta);
/* Records one epoch's metric. *improved (may be NULL) says whether it is the new best
 * (the caller then keeps a checkpoint); a NaN metric never improves. Returns TRUE when
 * training should stop: patience epochs in a row without improvement. */
gboolean nerve_early_stop_update (NerveEarlyStop *e, float metric, int epoch, gboolean *improved);

G_END_DECLS

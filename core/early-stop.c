/* Early stopping: stop after `patience` epochs without beating the best metric. */
#include "early-stop.h"

#include <math.h>

void
nerve_early_stop_init (NerveEarlyStop *e, int patience, gboolean maximize, float min_delta)
{
  *e = (NerveEarlyStop) {
    .patience = patience,
    .maximize = maximize,
    .min_delta = fabsf (min_delta),
    .best = maximize ? -INFINITY : INFINITY,
    .best_epoch = -1,
    .bad_epochs = 0,
  };
}

gboolean
nerve_early_stop_update (NerveEarlyStop *e, float metric, int epoch, gboolean *improved)
{
  gboolean better = e->maximize ? metric > e->best + e->min_delta : metric < e->best - e->min_delta;
  if (better) { /* a NaN metric compares false */
    e->best = metric;
    e->best_epoch = epoch;
    e->bad_epochs = 0;
  } else {
    e->bad_epochs++;
  }
  if (improved)
    *improved = better;
  return e->patience > 0 && e->bad_epochs >= e->patience;
}

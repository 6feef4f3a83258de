/* Training progress: on a terminal one live line redrawn in place; in logs and pipes,
 * a plain line every few seconds so output stays readable. Each epoch ends with a
 * summary line either way. */
#include <stdio.h>
#include <unistd.h>

#include "cli.h"

static void
format_time (double s, char *buf, gsize len)
{
  int t = (int) (s + 0.5);
  if (t >= 3600)
    g_snprintf (buf, len, "%d:%02d:%02d", t / 3600, t / 60 % 60, t % 60);
  else
    g_snprintf (buf, len, "%d:%02d", t / 60, t % 60);
}

void
nerve_cli_train_progress (const NerveTrainProgress *p, gpointer user_data)
{
  static double last_plain = -1e9;
  gboolean tty = isatty (fileno (stderr));
  char eta[32], el[32];
  format_time (p->eta_s, eta, sizeof eta);
  format_time (p->elapsed_s, el, sizeof el);
  if (p->phase == NERVE_TRAIN_BATCH) {
    double frac = (double) p->batch_index / p->batches;
    if (tty) {
      char bar[26];
      int fill = (int) (frac * 24);
      for (int i = 0; i < 24; i++)
        bar[i] = i < fill ? '#' : '.';
      bar[24] = 0;
      fprintf (stderr, "\r\033[Kepoch %d/%d [%s] %3.0f%%  %.0f items/s  loss %.4f  acc %.2f%%  ETA %s",
               p->epoch, p->epochs, bar, frac * 100, p->items_per_s, p->train_loss, p->train_acc * 100, eta);
      fflush (stderr);
    } else if (p->elapsed_s - last_plain >= 10) {
      last_plain = p->elapsed_s;
      fprintf (stderr, "epoch %d/%d  batch %d/%d  %.0f items/s  loss %.4f  acc %.2f%%  ETA %s\n", p->epoch,
               p->epochs, p->batch_index, p->batches, p->items_per_s, p->train_loss, p->train_acc * 100, eta);
    }
    return;
  }
  if (tty)
    fprintf (stderr, "\r\033[K");
  if (p->epoch == 0) { /* the starting weights (fine-tuning) */
    printf ("start       val loss %.4f acc %.2f%%\n", p->val_loss, p->val_acc * 100);
    fflush (stdout);
    return;
  }
  printf ("epoch %d/%d  train loss %.4f acc %.2f%%  val loss %.4f acc %.2f%%  lr %.3g  %s%s%s\n", p->epoch,
          p->epochs, p->train_loss, p->train_acc * 100, p->val_loss, p->val_acc * 100, p->lr, el,
          p->improved ? "  (best, saved)" : "", p->stopping ? "  early stop" : "");
  fflush (stdout);
}

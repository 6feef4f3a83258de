/* Learning-rate schedules: closed forms of LinearLR (warm-up), StepLR and
 * CosineAnnealingLR chained like SequentialLR, computed in double. */
#include "schedule.h"

#include <math.h>

#include "error.h"

static const char *const type_names[] = { "constant", "step", "cosine", NULL };

const char *
nerve_schedule_type_name (NerveScheduleType t)
{
  g_return_val_if_fail ((int) t >= 0 && t <= NERVE_SCHEDULE_COSINE, "?");
  return type_names[t];
}

void
nerve_schedule_defaults (NerveSchedule *s, NerveScheduleType t)
{
  *s = (NerveSchedule) {
    .type = t,
    .base_lr = 1e-3f,
    .warmup_steps = 0,
    .warmup_start_factor = 1.0f / 3.0f,
    .step_size = 1000,
    .gamma = 0.1f,
    .total_steps = 0,
    .min_lr = 0,
  };
}

gboolean
nerve_schedule_parse (NerveSchedule *s, const char *type_name, GError **error)
{
  for (int i = 0; type_names[i]; i++)
    if (type_name && g_ascii_strcasecmp (type_name, type_names[i]) == 0) {
      nerve_schedule_defaults (s, (NerveScheduleType) i);
      return TRUE;
    }
  g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID,
               "unknown learning-rate schedule '%s': expected constant, step or cosine",
               type_name ? type_name : "(null)");
  return FALSE;
}

gboolean
nerve_schedule_check (const NerveSchedule *s, GError **error)
{
  const char *bad = NULL;
  if ((int) s->type < 0 || s->type > NERVE_SCHEDULE_COSINE)
    bad = "type is not a known schedule";
  else if (!(s->base_lr >= 0))
    bad = "base_lr must be >= 0";
  else if (s->warmup_steps < 0)
    bad = "warmup_steps must be >= 0";
  else if (s->warmup_steps > 0 && !(s->warmup_start_factor > 0 && s->warmup_start_factor <= 1))
    bad = "warmup_start_factor must be in (0, 1]";
  else if (s->type == NERVE_SCHEDULE_STEP && s->step_size < 1)
    bad = "step_size must be >= 1";
  else if (s->type == NERVE_SCHEDULE_STEP && !(s->gamma > 0))
    bad = "gamma must be > 0";
  else if (s->type == NERVE_SCHEDULE_COSINE && s->total_steps <= s->warmup_steps)
    bad = "total_steps must be larger than warmup_steps";
  else if (s->type == NERVE_SCHEDULE_COSINE && !(s->min_lr >= 0 && s->min_lr <= s->base_lr))
    bad = "min_lr must be in [0, base_lr]";
  if (bad)
    g_set_error (error, NERVE_ERROR, NERVE_ERROR_INVALID, "schedule %s: %s",
                 nerve_schedule_type_name (s->type), bad);
  return bad == NULL;
}

float
nerve_schedule_lr (const NerveSchedule *s, int step)
{
  double base = s->base_lr;
  int warm = MAX (s->warmup_steps, 0);
  step = MAX (step, 0);
  if (step < warm) {
    double f0 = s->warmup_start_factor;
    return (float) (base * (f0 + (1.0 - f0) * step / warm));
  }
  int k = step - warm;
  switch (s->type) {
  case NERVE_SCHEDULE_CONSTANT:
    break;
  case NERVE_SCHEDULE_STEP:
    return (float) (base * pow (s->gamma, k / MAX (s->step_size, 1)));
  case NERVE_SCHEDULE_COSINE: {
    int span = s->total_steps - warm;
    if (span <= 0 || k >= span) /* hold the floor instead of cosine's climb back up */
      return s->min_lr;
    double lo = s->min_lr;
    return (float) (lo + (base - lo) * (1 + cos (G_PI * k / span)) / 2);
  }
  }
  return (float) base;
}

/* Learning-rate schedules as closed forms of torch.optim.lr_scheduler: an optional
 * linear warm-up (LinearLR from warmup_start_factor to 1 over warmup_steps), then
 * constant, step decay (StepLR) or cosine annealing (CosineAnnealingLR to min_lr over
 * total_steps - warmup_steps), the decay counted from the end of the warm-up as
 * SequentialLR does. `step` is the number of optimizer steps already taken. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef enum {
  NERVE_SCHEDULE_CONSTANT,
  NERVE_SCHEDULE_STEP,
  NERVE_SCHEDULE_COSINE,
} NerveScheduleType;

typedef struct {
  NerveScheduleType type;
  float base_lr;
  int warmup_steps;          /* 0 = no warm-up */
  float warmup_start_factor; /* lr factor at step 0 of the warm-up */
  int step_size;             /* STEP: multiply by gamma every step_size steps */
  float gamma;
  int total_steps;           /* COSINE: reaches min_lr here and stays there */
  float min_lr;
} NerveSchedule;

/* The type's defaults: base_lr 1e-3, no warm-up (start factor 1/3 like LinearLR when
 * one is set), StepLR's gamma 0.1 with step_size 1000, total_steps 0 (must be set for
 * cosine), min_lr 0. */
void nerve_schedule_defaults (NerveSchedule *s, NerveScheduleType t);
/* "constant", "step" or "cosine": nerve_schedule_defaults of that type. */
gboolean nerve_schedule_parse (NerveSchedule *s, const char *type_name, GError **error);
const char *nerve_schedule_type_name (NerveScheduleType t);
/* NERVE_ERROR_INVALID naming the field when the schedule cannot work (e.g. cosine with
 * total_steps <= warmup_steps, step with step_size < 1, negative rates). */
gboolean nerve_schedule_check (const NerveSchedule *s, GError **error);
float nerve_schedule_lr (const NerveSchedule *s, int step);

G_END_DECLS

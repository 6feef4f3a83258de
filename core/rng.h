/* Deterministic random numbers (xoshiro128** seeded by splitmix64): same seed, same
 * weights, same dropout masks and shuffles on every machine. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  guint32 s[4];
} NerveRng;

void nerve_rng_seed (NerveRng *r, guint64 seed);
guint32 nerve_rng_u32 (NerveRng *r);
float nerve_rng_uniform (NerveRng *r);            /* [0, 1) */
float nerve_rng_normal (NerveRng *r);             /* mean 0, std 1 */
guint32 nerve_rng_below (NerveRng *r, guint32 n); /* [0, n) */
void nerve_rng_shuffle (NerveRng *r, int *v, int n);

G_END_DECLS

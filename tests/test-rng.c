/* The project RNG (core/rng.c) for seed 1: the values models/sentiment/splits.py
 * asserts for its Python copy of the generator (SELF_CHECK), so the fixed IMDB held-out
 * split that the C trainer and the baseline scripts both use cannot drift apart. */
#include "check.h"
#include "rng.h"

static void
test_rng_seed1_values (void)
{
  static const guint32 state[] = { 2298633409u, 2433363436u, 1703865447u, 3203108257u };
  static const guint32 u32[] = { 1695105466u, 1423115009u, 634581793u, 1068227753u, 716759206u };
  static const guint32 below[] = { 394, 331, 147, 248, 166 };
  NerveRng r;
  nerve_rng_seed (&r, 1);
  for (int i = 0; i < 4; i++)
    CU_ASSERT_EQUAL (r.s[i], state[i]);
  for (int i = 0; i < 5; i++)
    CU_ASSERT_EQUAL (nerve_rng_u32 (&r), u32[i]);
  nerve_rng_seed (&r, 1);
  for (int i = 0; i < 5; i++)
    CU_ASSERT_EQUAL (nerve_rng_below (&r, 1000), below[i]);
}

static void
test_rng_shuffles (void)
{
  static const int shuf10[] = { 0, 8, 5, 9, 4, 6, 7, 1, 2, 3 };
  static const int first10[] = { 24868, 17421, 9554, 4755, 7870, 16583, 8340, 1353, 7941, 17471 };
  NerveRng r;
  int v[10];
  for (int i = 0; i < 10; i++)
    v[i] = i;
  nerve_rng_seed (&r, 1);
  nerve_rng_shuffle (&r, v, 10);
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL (v[i], shuf10[i]);

  /* the IMDB held-out split: the first 2,500 of a shuffle of 0..24999, seed 1 */
  int *w = g_new (int, 25000);
  for (int i = 0; i < 25000; i++)
    w[i] = i;
  nerve_rng_seed (&r, 1);
  nerve_rng_shuffle (&r, w, 25000);
  for (int i = 0; i < 10; i++)
    CU_ASSERT_EQUAL (w[i], first10[i]);
  long sum = 0;
  for (int i = 0; i < 2500; i++)
    sum += w[i];
  CU_ASSERT_EQUAL (sum, 31520128L);
  g_free (w);
}

NERVE_TEST_MAIN ("rng",
                 { "rng seed 1 values", test_rng_seed1_values },
                 { "rng shuffles (IMDB held-out split)", test_rng_shuffles })

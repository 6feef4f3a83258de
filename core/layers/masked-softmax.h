/* Row softmax over the first n entries of a row of len, zeroing the rest: the masked
 * softmax both attention kernels share. n <= 0 gives an all-zero row (a query with no
 * key to look at) instead of PyTorch's NaN. Include after real.h, from kernel files. */
#pragma once
#include <string.h>

static inline void
masked_softmax_row (nreal *row, int n, int len)
{
  if (n > 0) {
    nreal mx = row[0];
    for (int j = 1; j < n; j++)
      mx = row[j] > mx ? row[j] : mx;
    nreal sum = 0;
    for (int j = 0; j < n; j++)
      sum += row[j] = exp (row[j] - mx);
    nreal inv = 1 / sum;
    for (int j = 0; j < n; j++)
      row[j] *= inv;
  }
  if (n < len)
    memset (row + (n > 0 ? n : 0), 0, sizeof (nreal) * (gsize) (len - (n > 0 ? n : 0)));
}

/* dS = att ⊙ (dA - Σ_j att·dA), in place on dA, over the first n entries. */
static inline void
masked_softmax_row_backward (nreal *da, const nreal *att, int n)
{
  nreal s = 0;
  for (int j = 0; j < n; j++)
    s += att[j] * da[j];
  for (int j = 0; j < n; j++)
    da[j] = att[j] * (da[j] - s);
}

/* Valid key count of sample b: lengths[b] clamped to [0, Tk] (hostile lengths must not
 * index outside the memory). */
static inline int
attention_valid (const int *lengths, int b, int Tk)
{
  if (!lengths)
    return Tk;
  return lengths[b] < 0 ? 0 : lengths[b] > Tk ? Tk : lengths[b];
}

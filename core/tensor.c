#include "tensor.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

gsize
nerve_shape_numel (const NerveShape *s)
{
  gsize n = 1;
  for (int i = 0; i < s->ndim; i++)
    n *= (gsize) s->dim[i];
  return n;
}

gboolean
nerve_shape_equal (const NerveShape *a, const NerveShape *b)
{
  if (a->ndim != b->ndim)
    return FALSE;
  for (int i = 0; i < a->ndim; i++)
    if (a->dim[i] != b->dim[i])
      return FALSE;
  return TRUE;
}

char *
nerve_shape_format (const NerveShape *s, char *buf, gsize len)
{
  gsize o = g_snprintf (buf, len, "[");
  for (int i = 0; i < s->ndim && o < len; i++)
    o += g_snprintf (buf + o, len - o, i ? ",%d" : "%d", s->dim[i]);
  if (o < len)
    g_snprintf (buf + o, len - o, "]");
  return buf;
}

NerveShape
nerve_shape_make (int ndim, ...)
{
  NerveShape s = { 0 };
  va_list ap;
  g_return_val_if_fail (ndim >= 0 && ndim <= NERVE_MAX_DIMS, s);
  va_start (ap, ndim);
  s.ndim = ndim;
  for (int i = 0; i < ndim; i++)
    s.dim[i] = va_arg (ap, int);
  va_end (ap);
  return s;
}

float *
nerve_alloc_floats (gsize n)
{
  if (n == 0)
    n = 1;
  if (n > G_MAXSIZE / sizeof (float) - NERVE_ALIGN)
    return NULL;
  gsize bytes = (n * sizeof (float) + NERVE_ALIGN - 1) & ~(gsize) (NERVE_ALIGN - 1);
  float *p = aligned_alloc (NERVE_ALIGN, bytes);
  if (p)
    memset (p, 0, bytes);
  return p;
}

void
nerve_free_floats (float *p)
{
  free (p);
}

NerveTensor *
nerve_tensor_new (int ndim, const int *dim)
{
  g_return_val_if_fail (ndim >= 1 && ndim <= NERVE_MAX_DIMS, NULL);
  NerveTensor *t = g_new0 (NerveTensor, 1);
  t->ndim = ndim;
  t->numel = 1;
  for (int i = 0; i < ndim; i++) {
    g_return_val_if_fail (dim[i] > 0, (g_free (t), NULL));
    t->dim[i] = dim[i];
    t->numel *= (gsize) dim[i];
  }
  t->data = nerve_alloc_floats (t->numel);
  if (!t->data) {
    g_free (t);
    return NULL;
  }
  return t;
}

NerveTensor *
nerve_tensor_new_like (const NerveTensor *t)
{
  return nerve_tensor_new (t->ndim, t->dim);
}

void
nerve_tensor_free (NerveTensor *t)
{
  if (!t)
    return;
  nerve_free_floats (t->data);
  g_free (t);
}

void
nerve_tensor_fill (NerveTensor *t, float v)
{
  for (gsize i = 0; i < t->numel; i++)
    t->data[i] = v;
}

/* Float32 tensors: 64-byte aligned (skinny GEMMs are ~40% slower on 16-byte aligned
 * buffers), up to 4 dimensions per sample plus the batch dimension, row-major. */
#pragma once
#include <glib.h>

G_BEGIN_DECLS

#define NERVE_MAX_DIMS 5
#define NERVE_ALIGN 64

/* A per-sample shape (no batch dimension) as layers declare and check them. */
typedef struct {
  int ndim;
  int dim[NERVE_MAX_DIMS];
} NerveShape;

gsize nerve_shape_numel (const NerveShape *s);
gboolean nerve_shape_equal (const NerveShape *a, const NerveShape *b);
/* Writes "[a,b,c]" into buf (>= 64 bytes) and returns buf, for error messages. */
char *nerve_shape_format (const NerveShape *s, char *buf, gsize len);
NerveShape nerve_shape_make (int ndim, ...);

typedef struct {
  float *data;
  int ndim;
  int dim[NERVE_MAX_DIMS];
  gsize numel;
} NerveTensor;

NerveTensor *nerve_tensor_new (int ndim, const int *dim);   /* zero-filled */
NerveTensor *nerve_tensor_new_like (const NerveTensor *t);
void nerve_tensor_free (NerveTensor *t);
void nerve_tensor_fill (NerveTensor *t, float v);

/* 64-byte aligned, zero-filled allocations for kernels' scratch and outputs.
 * Returns NULL when n is absurd rather than aborting. */
float *nerve_alloc_floats (gsize n);
void nerve_free_floats (float *p);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveTensor, nerve_tensor_free)

G_END_DECLS

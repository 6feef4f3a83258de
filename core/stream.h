/* Runs a model one time step at a time, carrying every layer's recurrent/causal state:
 * the streaming form of nerve_runner_forward_seq for models whose input is [T, F] and
 * whose layers all implement step(). Stepping T frames from a reset stream gives the
 * same outputs as forward_seq over those T frames (batch 1). One NerveStream per
 * stream; the model is shared read-only. */
#pragma once
#include "model.h"

G_BEGIN_DECLS

typedef struct _NerveStream NerveStream;

/* Fails naming the first layer without step(), or when the input is not [T, F]. */
NerveStream *nerve_stream_new (NerveModel *m, GError **error);
void nerve_stream_free (NerveStream *s);
void nerve_stream_reset (NerveStream *s);
int nerve_stream_in_size (const NerveStream *s);  /* F */
int nerve_stream_out_size (const NerveStream *s); /* output shape without its time dim */
/* Returns the output (owned by s, valid until the next call). */
const float *nerve_stream_step (NerveStream *s, const float *in);
/* The named layer's output of the last step, or NULL. */
const float *nerve_stream_layer_output (NerveStream *s, const char *name);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (NerveStream, nerve_stream_free)

G_END_DECLS

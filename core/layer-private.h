/* Shared between layer.c and model.c: the config reader's guts. */
#pragma once
#include "layer.h"

struct _NerveCfg {
  JsonObject *obj;
  const char *layer; /* for messages */
  GHashTable *used;  /* keys read so far */
};

void nerve_cfg_init (NerveCfg *c, JsonObject *obj, const char *layer);
void nerve_cfg_clear (NerveCfg *c);
void nerve_cfg_mark (NerveCfg *c, const char *key);
/* Fails naming the first key nobody read. */
gboolean nerve_cfg_check_unused (NerveCfg *c, GError **error);

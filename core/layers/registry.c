/* Every layer class the model graph can build, by its JSON "type". */
#include "../layer.h"

#include <string.h>

extern const NerveLayerClass nerve_dense_class;
extern const NerveLayerClass nerve_relu_class;
extern const NerveLayerClass nerve_leaky_relu_class;
extern const NerveLayerClass nerve_sigmoid_class;
extern const NerveLayerClass nerve_tanh_class;
extern const NerveLayerClass nerve_gelu_class;
extern const NerveLayerClass nerve_conv1d_class;
extern const NerveLayerClass nerve_conv2d_class;
extern const NerveLayerClass nerve_conv_transpose2d_class;

static const NerveLayerClass *const classes[] = {
  &nerve_dense_class,
  &nerve_relu_class,
  &nerve_leaky_relu_class,
  &nerve_sigmoid_class,
  &nerve_tanh_class,
  &nerve_gelu_class,
  &nerve_conv1d_class,
  &nerve_conv2d_class,
  &nerve_conv_transpose2d_class,
  NULL,
};

const NerveLayerClass *const *
nerve_layer_classes (void)
{
  return classes;
}

const NerveLayerClass *
nerve_layer_class_find (const char *type)
{
  for (int i = 0; classes[i]; i++)
    if (strcmp (classes[i]->type, type) == 0)
      return classes[i];
  return NULL;
}

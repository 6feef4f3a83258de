/* Every layer class the model graph can build, by its JSON "type". */
#include "../layer.h"

#include <string.h>

extern const NerveLayerClass nerve_dense_class;
extern const NerveLayerClass nerve_relu_class;
extern const NerveLayerClass nerve_leaky_relu_class;
extern const NerveLayerClass nerve_sigmoid_class;
extern const NerveLayerClass nerve_tanh_class;
extern const NerveLayerClass nerve_gelu_class;
extern const NerveLayerClass nerve_embedding_class;
extern const NerveLayerClass nerve_attention_class;
extern const NerveLayerClass nerve_additive_attention_class;
extern const NerveLayerClass nerve_maxpool2d_class;
extern const NerveLayerClass nerve_avgpool2d_class;
extern const NerveLayerClass nerve_global_avgpool_class;
extern const NerveLayerClass nerve_global_maxpool_class;
extern const NerveLayerClass nerve_time_pool_class;
extern const NerveLayerClass nerve_batchnorm_class;
extern const NerveLayerClass nerve_layernorm_class;
extern const NerveLayerClass nerve_dropout_class;
extern const NerveLayerClass nerve_softmax_class;
extern const NerveLayerClass nerve_log_softmax_class;
extern const NerveLayerClass nerve_add_class;
extern const NerveLayerClass nerve_concat_class;
extern const NerveLayerClass nerve_flatten_class;
extern const NerveLayerClass nerve_reshape_class;
extern const NerveLayerClass nerve_lstm_class;
extern const NerveLayerClass nerve_gru_class;
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
  &nerve_embedding_class,
  &nerve_attention_class,
  &nerve_additive_attention_class,
  &nerve_maxpool2d_class,
  &nerve_avgpool2d_class,
  &nerve_global_avgpool_class,
  &nerve_global_maxpool_class,
  &nerve_time_pool_class,
  &nerve_batchnorm_class,
  &nerve_layernorm_class,
  &nerve_dropout_class,
  &nerve_softmax_class,
  &nerve_log_softmax_class,
  &nerve_add_class,
  &nerve_concat_class,
  &nerve_flatten_class,
  &nerve_reshape_class,
  &nerve_lstm_class,
  &nerve_gru_class,
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

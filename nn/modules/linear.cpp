#include "ctdl/nn/modules/linear.h"

#include "ctdl/nn/init.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

Linear::Linear(int64_t in_features, int64_t out_features, LinearOptions o) : Module("Linear") {
  CTDL_CHECK(in_features > 0 && out_features > 0, "Linear: features must be positive, got ",
             in_features, " -> ", out_features);
  TensorOptions t{.dtype = o.dtype, .device = o.device};
  weight = register_parameter("weight", empty({out_features, in_features}, t));
  if (o.bias) bias = register_parameter("bias", empty({out_features}, t));
  init::pytorch_default_(weight, bias);
  activation = o.activation;
}

Tensor Linear::operator()(const Tensor& x) const {
  CTDL_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1], "Linear: expected input [..., ",
             weight.shape()[1], "], got ", x.shape());
  return linear(x, weight, bias, activation);
}

}  // namespace ctdl::nn

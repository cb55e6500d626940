#include "ctdl/nn/modules/normalization.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/functional.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

BatchNorm::BatchNorm(const char* type_name, int dims_lo, int dims_hi, int64_t num_features,
                     BatchNormOptions o)
    : Module(type_name),
      options_(o),
      num_features_(num_features),
      dims_lo_(dims_lo),
      dims_hi_(dims_hi) {
  CTDL_CHECK(num_features > 0, type_name, ": the number of features must be positive, got ",
             num_features);
  TensorOptions t{.dtype = o.dtype, .device = o.device};
  if (o.affine) {
    weight = register_parameter("weight", ones({num_features}, t));
    bias = register_parameter("bias", zeros({num_features}, t));
  }
  if (o.track_running_stats) {
    running_mean = register_buffer("running_mean", zeros({num_features}, t));
    running_var = register_buffer("running_var", ones({num_features}, t));
    num_batches_tracked = register_buffer("num_batches_tracked",
                                          zeros({}, {.dtype = DType::Int64, .device = o.device}));
  }
}

Tensor BatchNorm::operator()(const Tensor& x) const {
  CTDL_CHECK(x.dim() >= dims_lo_ && x.dim() <= dims_hi_ && x.shape()[1] == num_features_,
             type_name(), ": expected input with ", dims_lo_,
             dims_lo_ == dims_hi_ ? "" : str(" or ", dims_hi_), " dimensions and ", num_features_,
             " channels in dim 1, got ", x.shape());
  const BatchNormOptions& o = options_;
  if (!is_training() && running_mean.defined())
    return functional::batch_norm(x, running_mean, running_var, weight, bias, false, o.momentum,
                                  o.eps);
  if (is_training() && num_batches_tracked.defined()) {
    autograd::NoGradGuard no_grad;
    Tensor counter = num_batches_tracked;
    counter.add_(ones_like(counter));
  }
  // Batch statistics; the running ones are updated only in training.
  Tensor rm = is_training() ? running_mean : Tensor(), rv = is_training() ? running_var : Tensor();
  return functional::batch_norm(x, rm, rv, weight, bias, true, o.momentum, o.eps);
}

LayerNorm::LayerNorm(Dims normalized_shape, LayerNormOptions o)
    : Module("LayerNorm"), normalized_shape_(std::move(normalized_shape)), options_(o) {
  CTDL_CHECK(!normalized_shape_.empty(), "LayerNorm: normalized_shape must not be empty");
  TensorOptions t{.dtype = o.dtype, .device = o.device};
  if (o.elementwise_affine) {
    weight = register_parameter("weight", ones(normalized_shape_, t));
    bias = register_parameter("bias", zeros(normalized_shape_, t));
  }
}

Tensor LayerNorm::operator()(const Tensor& x) const {
  int n = static_cast<int>(normalized_shape_.size());
  CTDL_CHECK(x.dim() >= n && Dims(x.shape().end() - n, x.shape().end()) == normalized_shape_,
             "LayerNorm: expected input [..., ", normalized_shape_, "], got ", x.shape());
  return functional::layer_norm(x, n, weight, bias, options_.eps);
}

GroupNorm::GroupNorm(int64_t num_groups, int64_t num_channels, LayerNormOptions o)
    : Module("GroupNorm"), groups_(num_groups), channels_(num_channels), options_(o) {
  CTDL_CHECK(num_groups > 0 && num_channels % num_groups == 0, "GroupNorm: ", num_groups,
             " groups do not divide ", num_channels, " channels");
  TensorOptions t{.dtype = o.dtype, .device = o.device};
  if (o.elementwise_affine) {
    weight = register_parameter("weight", ones({num_channels}, t));
    bias = register_parameter("bias", zeros({num_channels}, t));
  }
}

Tensor GroupNorm::operator()(const Tensor& x) const {
  CTDL_CHECK(x.dim() >= 2 && x.shape()[1] == channels_, "GroupNorm: expected input [N, ", channels_,
             ", ...], got ", x.shape());
  return functional::group_norm(x, groups_, weight, bias, options_.eps);
}

}  // namespace ctdl::nn

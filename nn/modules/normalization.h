// Normalization layers.
//
//   nn::BatchNorm2d bn(32);                 // x [N, 32, H, W]; running statistics as buffers
//   Tensor y = bn(x);                       // batch statistics in training mode
//   bn.eval();  Tensor z = bn(x);           // running statistics in evaluation mode
//   nn::LayerNorm ln({64});                 // over the last dimension, learned scale and shift
//   nn::GroupNorm gn(8, 32);                // 8 groups of 4 channels
//
// BatchNorm keeps running_mean, running_var and num_batches_tracked as buffers (PyTorch's
// names), so they are saved in checkpoints and follow Module::to.
#pragma once

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

struct BatchNormOptions {
  double eps = 1e-5;
  double momentum = 0.1;
  bool affine = true;               // learn weight (scale) and bias (shift)
  bool track_running_stats = true;  // without them, evaluation also uses batch statistics
  std::optional<DType> dtype;
  Device device = Device::cpu();
};

// Normalizes each channel of [N, C, ...] over the batch (and all positions).
class BatchNorm : public Module {
 public:
  Tensor operator()(const Tensor& x) const;

  Tensor weight, bias;                                    // [C] when affine
  Tensor running_mean, running_var, num_batches_tracked;  // when tracking
  const BatchNormOptions& options() const { return options_; }

 protected:
  BatchNorm(const char* type_name, int expected_dims_lo, int expected_dims_hi, int64_t num_features,
            BatchNormOptions options);

 private:
  BatchNormOptions options_;
  int64_t num_features_;
  int dims_lo_, dims_hi_;  // accepted input ranks
};

// Input [N, C] or [N, C, L].
class BatchNorm1d : public BatchNorm {
 public:
  explicit BatchNorm1d(int64_t num_features, BatchNormOptions options = {})
      : BatchNorm("BatchNorm1d", 2, 3, num_features, options) {}
};

// Input [N, C, H, W].
class BatchNorm2d : public BatchNorm {
 public:
  explicit BatchNorm2d(int64_t num_features, BatchNormOptions options = {})
      : BatchNorm("BatchNorm2d", 4, 4, num_features, options) {}
};

struct LayerNormOptions {
  double eps = 1e-5;
  bool elementwise_affine = true;
  std::optional<DType> dtype;
  Device device = Device::cpu();
};

// Normalizes over the trailing dimensions given by normalized_shape.
class LayerNorm : public Module {
 public:
  explicit LayerNorm(Dims normalized_shape, LayerNormOptions options = {});
  Tensor operator()(const Tensor& x) const;

  Tensor weight, bias;  // normalized_shape, when elementwise_affine

 private:
  Dims normalized_shape_;
  LayerNormOptions options_;
};

// Normalizes [N, C, ...] over groups of C/num_groups channels; per-channel scale and shift.
class GroupNorm : public Module {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, LayerNormOptions options = {});
  Tensor operator()(const Tensor& x) const;

  Tensor weight, bias;  // [C], when elementwise_affine

 private:
  int64_t groups_, channels_;
  LayerNormOptions options_;
};

}  // namespace ctdl::nn

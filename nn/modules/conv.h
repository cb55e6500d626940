// A 2-D convolution layer.
//
//   nn::Conv2d conv(1, 32, 3, {.padding = 1});     // 3×3, output the size of the input
//   Tensor z = conv(randn({8, 1, 28, 28}));        // [8, 32, 28, 28]
//   nn::Conv2d periodic(1, 15, 5,
//                       {.padding = 2, .bias = false, .padding_mode = PadMode::Circular});
//
// The weight [out, in/groups, k, k] and its default initialization are PyTorch's (see
// linear.h), so state dicts interchange.
#pragma once

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

struct ConvOptions {
  int64_t stride = 1;
  int64_t padding = 0;
  int64_t dilation = 1;
  int64_t groups = 1;
  bool bias = true;
  // Constant pads with zeros; Circular, Reflect and Replicate pad the input first.
  PadMode padding_mode = PadMode::Constant;
  std::optional<DType> dtype;
  Device device = Device::cpu();
};

class Conv2d : public Module {
 public:
  // A square kernel of kernel_size × kernel_size.
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvOptions options = {});
  Tensor operator()(const Tensor& x) const;

  Tensor weight;  // [out_channels, in_channels / groups, k, k]
  Tensor bias;    // [out_channels], undefined without bias
  const ConvOptions& options() const { return options_; }

 private:
  ConvOptions options_;
};

}  // namespace ctdl::nn

#include "ctdl/nn/modules/conv.h"

#include "ctdl/nn/init.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

Conv2d::Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, ConvOptions o)
    : Module("Conv2d"), options_(o) {
  CTDL_CHECK(in_channels > 0 && out_channels > 0 && kernel_size > 0 && o.groups > 0 &&
                 in_channels % o.groups == 0 && out_channels % o.groups == 0,
             "Conv2d: channels ", in_channels, " -> ", out_channels, ", kernel ", kernel_size,
             " and groups ", o.groups, " do not fit (groups must divide both channel counts)");
  TensorOptions t{.dtype = o.dtype, .device = o.device};
  weight = register_parameter(
      "weight", empty({out_channels, in_channels / o.groups, kernel_size, kernel_size}, t));
  if (o.bias) bias = register_parameter("bias", empty({out_channels}, t));
  init::pytorch_default_(weight, bias);
}

Tensor Conv2d::operator()(const Tensor& x) const {
  const ConvOptions& o = options_;
  ctdl::Conv2dOptions conv{.stride_h = o.stride,
                           .stride_w = o.stride,
                           .dilation_h = o.dilation,
                           .dilation_w = o.dilation,
                           .groups = o.groups};
  if (o.padding_mode == PadMode::Constant) {
    conv.pad_h = conv.pad_w = o.padding;
    return conv2d(x, weight, bias, conv);
  }
  CTDL_CHECK(x.dim() == 4, "Conv2d: expected input [N, C, H, W], got ", x.shape());
  int64_t p = o.padding;
  return conv2d(pad(x, {p, p, p, p}, o.padding_mode), weight, bias, conv);
}

}  // namespace ctdl::nn

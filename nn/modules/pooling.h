// Pooling layers and Flatten.
//
//   nn::MaxPool2d pool(2);                      // 2×2 windows, stride 2
//   nn::AvgPool2d avg(3, {.stride = 1, .padding = 1});
//   nn::AdaptiveAvgPool2d gap(1, 1);            // global average pooling: [N, C, 1, 1]
//   nn::Flatten flat;                           // [N, C, H, W] -> [N, C·H·W]
#pragma once

#include "ctdl/nn/functional.h"
#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

struct PoolOptions {
  int64_t stride = 0;  // 0: the kernel size
  int64_t padding = 0;
  int64_t dilation = 1;
};

namespace detail {
inline Pool2dOptions pool_options(int64_t k, const PoolOptions& o) {
  return {.kernel_h = k,
          .kernel_w = k,
          .stride_h = o.stride,
          .stride_w = o.stride,
          .pad_h = o.padding,
          .pad_w = o.padding,
          .dilation_h = o.dilation,
          .dilation_w = o.dilation};
}
}  // namespace detail

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(int64_t kernel_size, PoolOptions options = {})
      : Module("MaxPool2d"), options_(detail::pool_options(kernel_size, options)) {}
  Tensor operator()(const Tensor& x) const { return max_pool2d(x, options_); }

 private:
  Pool2dOptions options_;
};

// Padding counts as zeros in the average.
class AvgPool2d : public Module {
 public:
  explicit AvgPool2d(int64_t kernel_size, PoolOptions options = {})
      : Module("AvgPool2d"), options_(detail::pool_options(kernel_size, options)) {}
  Tensor operator()(const Tensor& x) const { return avg_pool2d(x, options_); }

 private:
  Pool2dOptions options_;
};

class AdaptiveAvgPool2d : public Module {
 public:
  AdaptiveAvgPool2d(int64_t out_h, int64_t out_w)
      : Module("AdaptiveAvgPool2d"), out_h_(out_h), out_w_(out_w) {}
  Tensor operator()(const Tensor& x) const {
    return functional::adaptive_avg_pool2d(x, out_h_, out_w_);
  }

 private:
  int64_t out_h_, out_w_;
};

// Merges dims start_dim..end_dim into one (by default everything but the batch).
class Flatten : public Module {
 public:
  explicit Flatten(int64_t start_dim = 1, int64_t end_dim = -1)
      : Module("Flatten"), start_(start_dim), end_(end_dim) {}
  Tensor operator()(const Tensor& x) const { return x.flatten(start_, end_); }

 private:
  int64_t start_, end_;
};

}  // namespace ctdl::nn

#include "ctdl/nn/functional.h"

#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn::functional {

Tensor leaky_relu(const Tensor& x, double negative_slope) {
  return where(x > 0.0, x, x * negative_slope);
}

Tensor elu(const Tensor& x, double alpha) {
  // exp of the clamped input: the branch where() discards must not overflow, or its
  // gradient (0 · inf) turns into NaN.
  return where(x > 0.0, x, (exp(minimum(x, zeros_like(x))) - 1.0) * alpha);
}

Tensor silu(const Tensor& x) { return x * sigmoid(x); }

Tensor gelu(const Tensor& x) {
  const double c = std::sqrt(2.0 / M_PI);
  return x * 0.5 * (tanh((x + pow(x, 3.0) * 0.044715) * c) + 1.0);
}

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
  CTDL_CHECK(p >= 0.0 && p < 1.0, "dropout: the probability must be in [0, 1), got ", p);
  if (!training || p == 0.0) return x;
  Tensor keep = rand(x.shape(), {.dtype = x.dtype(), .device = x.device()}, generator) >= p;
  return where(keep, x / (1.0 - p), 0.0);
}

namespace {

// The dims of x other than dim 1 (the channels): what batch norm reduces over.
Dims all_but_channels(const Tensor& x) {
  Dims dims = {0};
  for (int d = 2; d < x.dim(); ++d) dims.push_back(d);
  return dims;
}

// A [C] tensor reshaped to broadcast against x [N, C, ...].
Tensor per_channel(const Tensor& v, const Tensor& x) {
  Dims shape = Dims::filled(x.dim(), 1);
  shape[1] = v.numel();
  return v.reshape(shape);
}

}  // namespace

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var,
                  const Tensor& weight, const Tensor& bias, bool training, double momentum,
                  double eps) {
  CTDL_CHECK(x.dim() >= 2, "batch_norm: expected input [N, C, ...], got shape ", x.shape());
  const int64_t channels = x.shape()[1];
  for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
    CTDL_CHECK(!t->defined() || (t->dim() == 1 && t->shape()[0] == channels),
               "batch_norm: expected "
               "per-channel tensors of shape [",
               channels, "] for input ", x.shape(), ", got ", t->shape());
  Tensor mean_, var_;
  if (training) {
    Dims dims = all_but_channels(x);
    int64_t count = x.numel() / channels;
    CTDL_CHECK(count > 1, "batch_norm: training needs more than one value per channel, input ",
               x.shape());
    mean_ = mean(x, dims);
    var_ = var(x, dims, /*correction=*/0);
    if (running_mean.defined()) {
      autograd::NoGradGuard no_grad;
      Tensor unbiased =
          var_.detach() * (static_cast<double>(count) / static_cast<double>(count - 1));
      Tensor rm = running_mean, rv = running_var;
      rm.copy_(rm * (1.0 - momentum) + mean_.detach() * momentum);
      rv.copy_(rv * (1.0 - momentum) + unbiased * momentum);
    }
  } else {
    CTDL_CHECK(running_mean.defined() && running_var.defined(),
               "batch_norm: evaluation mode needs "
               "running statistics");
    mean_ = running_mean;
    var_ = running_var;
  }
  Tensor y = (x - per_channel(mean_, x)) * per_channel(rsqrt(var_ + eps), x);
  if (weight.defined()) y = y * per_channel(weight, x);
  if (bias.defined()) y = y + per_channel(bias, x);
  return y;
}

Tensor layer_norm(const Tensor& x, int normalized_dims, const Tensor& weight, const Tensor& bias,
                  double eps) {
  CTDL_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(),
             "layer_norm: cannot normalize the "
             "last ",
             normalized_dims, " dimensions of a tensor of shape ", x.shape());
  Dims dims;
  for (int d = x.dim() - normalized_dims; d < x.dim(); ++d) dims.push_back(d);
  Dims tail(x.shape().end() - normalized_dims, x.shape().end());
  for (const Tensor* t : {&weight, &bias})
    CTDL_CHECK(!t->defined() || t->shape() == tail, "layer_norm: weight and bias must have shape ",
               tail, " for input ", x.shape(), ", got ", t->shape());
  Tensor mu = mean(x, dims, true);
  Tensor y = (x - mu) * rsqrt(var(x, dims, 0, true) + eps);
  if (weight.defined()) y = y * weight;
  if (bias.defined()) y = y + bias;
  return y;
}

Tensor group_norm(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias,
                  double eps) {
  CTDL_CHECK(x.dim() >= 2 && groups > 0 && x.shape()[1] % groups == 0, "group_norm: ", groups,
             " groups do not divide the channels of input ", x.shape());
  Dims grouped = {x.shape()[0], groups, -1};
  Tensor g = x.reshape(grouped);
  Tensor y = ((g - mean(g, {2}, true)) * rsqrt(var(g, {2}, 0, true) + eps)).reshape(x.shape());
  if (weight.defined()) y = y * per_channel(weight, x);
  if (bias.defined()) y = y + per_channel(bias, x);
  return y;
}

Tensor adaptive_avg_pool2d(const Tensor& x, int64_t out_h, int64_t out_w) {
  CTDL_CHECK(x.dim() == 4 && out_h > 0 && out_w > 0,
             "adaptive_avg_pool2d: expected input [N, C, H, "
             "W] and a positive output size, got ",
             x.shape(), " -> ", out_h, "x", out_w);
  const int64_t h = x.shape()[2], w = x.shape()[3];
  if (h % out_h == 0 && w % out_w == 0)  // equal windows: one pooling op
    return avg_pool2d(x, {.kernel_h = h / out_h, .kernel_w = w / out_w});
  TensorList rows;
  for (int64_t i = 0; i < out_h; ++i) {
    int64_t h0 = i * h / out_h, h1 = ((i + 1) * h + out_h - 1) / out_h;
    TensorList cells;
    for (int64_t j = 0; j < out_w; ++j) {
      int64_t w0 = j * w / out_w, w1 = ((j + 1) * w + out_w - 1) / out_w;
      cells.push_back(mean(x.narrow(2, h0, h1 - h0).narrow(3, w0, w1 - w0), {2, 3}));
    }
    rows.push_back(stack(cells, -1));  // [N, C, out_w]
  }
  return stack(rows, 2);  // [N, C, out_h, out_w]
}

}  // namespace ctdl::nn::functional

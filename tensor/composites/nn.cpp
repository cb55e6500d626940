// Neural-network building blocks as composites: padding through index_select and cat,
// convolution as unfold2d + matmul, pooling as unfold2d + a reduction, softmax through
// logsumexp. Their gradients (of any order) come from those primitives.
#include <limits>

#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

// Indices into a dimension of size n that pad it by (lo, hi) in a non-constant mode.
Tensor pad_indices(int64_t n, int64_t lo, int64_t hi, PadMode mode, Device device) {
  std::vector<int64_t> idx;
  for (int64_t i = -lo; i < n + hi; ++i) {
    int64_t j = i;
    if (mode == PadMode::Circular) {
      j = ((i % n) + n) % n;
    } else if (mode == PadMode::Reflect) {
      int64_t period = 2 * (n - 1);
      j = period == 0 ? 0 : ((i % period) + period) % period;
      if (j >= n) j = period - j;
    } else {  // Replicate
      j = std::clamp<int64_t>(i, 0, n - 1);
    }
    idx.push_back(j);
  }
  return tensor(idx, {static_cast<int64_t>(idx.size())}, {.device = device});
}

const char* mode_name(PadMode mode) {
  switch (mode) {
    case PadMode::Constant:
      return "constant";
    case PadMode::Circular:
      return "circular";
    case PadMode::Reflect:
      return "reflect";
    case PadMode::Replicate:
      return "replicate";
  }
  return "?";
}

}  // namespace

Tensor pad(const Tensor& x, const std::vector<int64_t>& pads, PadMode mode, double value) {
  CTDL_CHECK(pads.size() % 2 == 0 && static_cast<int>(pads.size() / 2) <= x.dim(),
             "pad: expected an even number of pads, at most two per dimension, got ", pads.size(),
             " for a tensor of shape ", x.shape());
  Tensor out = x;
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    int d = x.dim() - 1 - static_cast<int>(k);
    int64_t lo = pads[2 * k], hi = pads[2 * k + 1], n = out.shape()[d];
    if (lo == 0 && hi == 0) continue;
    if (mode == PadMode::Constant) {
      // Negative pads crop.
      if (lo < 0) out = out.narrow(d, -lo, out.shape()[d] + lo), lo = 0;
      if (hi < 0) out = out.narrow(d, 0, out.shape()[d] + hi), hi = 0;
      Dims lo_shape = out.shape(), hi_shape = out.shape();
      lo_shape[d] = lo;
      hi_shape[d] = hi;
      TensorOptions like{.dtype = out.dtype(), .device = out.device()};
      out = cat({full(lo_shape, value, like), out, full(hi_shape, value, like)}, d);
      continue;
    }
    CTDL_CHECK(lo >= 0 && hi >= 0, "pad: negative padding is only allowed in constant mode");
    CTDL_CHECK(n > 0, "pad: cannot pad an empty dimension in ", mode_name(mode), " mode");
    CTDL_CHECK(mode != PadMode::Reflect || (lo < n && hi < n), "pad: reflect padding (", lo, ", ",
               hi, ") must be smaller than the dimension size ", n, " (shape ", x.shape(), ")");
    CTDL_CHECK(mode != PadMode::Circular || (lo <= n && hi <= n), "pad: circular padding (", lo,
               ", ", hi, ") must not exceed the dimension size ", n, " (shape ", x.shape(), ")");
    out = index_select(out, d, pad_indices(n, lo, hi, mode, x.device()));
  }
  return out;
}

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& o) {
  CTDL_CHECK(x.dim() == 4 && weight.dim() == 4,
             "conv2d: expected input [N, C, H, W] and weight "
             "[O, C/groups, kh, kw], got ",
             x.shape(), " and ", weight.shape());
  int64_t n = x.shape()[0], c = x.shape()[1], out_c = weight.shape()[0], g = o.groups;
  CTDL_CHECK(g > 0 && c % g == 0 && out_c % g == 0 && weight.shape()[1] == c / g, "conv2d: input ",
             x.shape(), ", weight ", weight.shape(), " and groups ", g,
             " do not fit (need C = weight.shape[1] * groups and O divisible by groups)");
  CTDL_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == out_c),
             "conv2d: bias shape ", bias.defined() ? bias.shape() : Dims{}, " does not match ",
             out_c, " output channels");
  int64_t kh = weight.shape()[2], kw = weight.shape()[3];
  Tensor cols = unfold2d(x, o, kh, kw);  // [N, C, kh, kw, OH, OW]
  int64_t oh = cols.shape()[4], ow = cols.shape()[5];
  cols = cols.reshape({n, g, (c / g) * kh * kw, oh * ow});
  Tensor w = weight.reshape({g, out_c / g, (c / g) * kh * kw});
  Tensor y = matmul(w, cols).reshape({n, out_c, oh, ow});  // [N, G, O/G, L] -> [N, O, OH, OW]
  if (bias.defined()) y = y + bias.reshape({1, out_c, 1, 1});
  return y;
}

Tensor avg_pool2d(const Tensor& x, const Pool2dOptions& p) {
  CTDL_CHECK(x.dim() == 4, "avg_pool2d: expected input [N, C, H, W], got ", x.shape());
  CTDL_CHECK(p.pad_h * 2 <= p.kernel_h && p.pad_w * 2 <= p.kernel_w, "avg_pool2d: padding ",
             p.pad_h, "x", p.pad_w, " must be at most half the kernel ", p.kernel_h, "x",
             p.kernel_w);
  // The mean over each window of the zero-padded input (unfold2d pads with zeros).
  Conv2dOptions window{.stride_h = p.stride_h ? p.stride_h : p.kernel_h,
                       .stride_w = p.stride_w ? p.stride_w : p.kernel_w,
                       .pad_h = p.pad_h,
                       .pad_w = p.pad_w,
                       .dilation_h = p.dilation_h,
                       .dilation_w = p.dilation_w};
  Tensor cols = unfold2d(x, window, p.kernel_h, p.kernel_w);
  const Dims& s = cols.shape();
  return mean(cols.reshape({s[0], s[1], s[2] * s[3], s[4], s[5]}), {2});
}

namespace {

// x minus its (detached) maximum along dim: shifting first keeps exp from overflowing and
// keeps the large common offset out of the rounding of the result.
Tensor shifted_by_max(const Tensor& x, int64_t dim) {
  Tensor xf = x.to(to_floating(x.dtype()));
  Tensor m = amax(xf.detach(), {dim}, true);
  return xf - where(isfinite(m), m, 0.0);
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  Tensor e = exp(shifted_by_max(x, dim));
  return e / sum(e, {dim}, true);
}

Tensor log_softmax(const Tensor& x, int64_t dim) {
  Tensor z = shifted_by_max(x, dim);
  return z - log(sum(exp(z), {dim}, true));
}

}  // namespace ctdl

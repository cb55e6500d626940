// The sliding-window primitives: unfold2d (im2col) and fold2d (col2im), each the other's
// adjoint. Convolution and pooling are composites of these (tensor/composites/nn.cpp).
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

WindowGeometry geometry(const Conv2dOptions& o, int64_t kernel_h, int64_t kernel_w) {
  CTDL_CHECK(kernel_h > 0 && kernel_w > 0 && o.stride_h > 0 && o.stride_w > 0 && o.dilation_h > 0 &&
                 o.dilation_w > 0 && o.pad_h >= 0 && o.pad_w >= 0,
             "unfold2d: invalid window: kernel ", kernel_h, "x", kernel_w, ", stride ", o.stride_h,
             "x", o.stride_w, ", dilation ", o.dilation_h, "x", o.dilation_w, ", padding ", o.pad_h,
             "x", o.pad_w);
  return {kernel_h, kernel_w, o.stride_h, o.stride_w, o.pad_h, o.pad_w, o.dilation_h, o.dilation_w};
}

}  // namespace

Tensor unfold2d(const Tensor& x, const Conv2dOptions& options, int64_t kernel_h, int64_t kernel_w) {
  WindowGeometry g = geometry(options, kernel_h, kernel_w);
  Tensor y = dispatch::unfold(x, g);
  if (!autograd::needs_grad(x)) return y;
  Dims shape = x.shape();
  return autograd::record("unfold2d", y, {x}, {}, autograd::SaveOutput::No,
                          [=](const Tensor& grad, const autograd::Saved&) {
                            return TensorList{fold2d(grad, shape, options)};
                          });
}

Tensor fold2d(const Tensor& cols, const Dims& input_shape, const Conv2dOptions& options) {
  CTDL_CHECK(
      cols.dim() == 6 && input_shape.size() == 4,
      "fold2d: expected columns [N, C, kh, kw, OH, OW] and an input shape [N, C, H, W], got ",
      cols.shape(), " and ", input_shape);
  WindowGeometry g = geometry(options, cols.shape()[2], cols.shape()[3]);
  CTDL_CHECK(cols.shape()[0] == input_shape[0] && cols.shape()[1] == input_shape[1] &&
                 cols.shape()[4] == g.out_h(input_shape[2]) &&
                 cols.shape()[5] == g.out_w(input_shape[3]),
             "fold2d: columns of shape ", cols.shape(), " do not match input shape ", input_shape);
  Tensor y = dispatch::fold(cols, input_shape, g);
  if (!autograd::needs_grad(cols)) return y;
  int64_t kh = cols.shape()[2], kw = cols.shape()[3];
  return autograd::record("fold2d", y, {cols}, {}, autograd::SaveOutput::No,
                          [=](const Tensor& grad, const autograd::Saved&) {
                            return TensorList{unfold2d(grad, options, kh, kw)};
                          });
}

Tensor max_pool2d(const Tensor& x, const Pool2dOptions& p) {
  CTDL_CHECK(x.dim() == 4, "max_pool2d: expected input [N, C, H, W], got ", x.shape());
  CTDL_CHECK(p.kernel_h > 0 && p.kernel_w > 0 && p.stride_h >= 0 && p.stride_w >= 0 &&
                 p.dilation_h > 0 && p.dilation_w > 0 && p.pad_h >= 0 && p.pad_w >= 0,
             "max_pool2d: invalid window: kernel ", p.kernel_h, "x", p.kernel_w, ", stride ",
             p.stride_h, "x", p.stride_w, ", dilation ", p.dilation_h, "x", p.dilation_w,
             ", padding ", p.pad_h, "x", p.pad_w);
  CTDL_CHECK(p.pad_h * 2 <= p.kernel_h && p.pad_w * 2 <= p.kernel_w, "max_pool2d: padding ",
             p.pad_h, "x", p.pad_w, " must be at most half the kernel ", p.kernel_h, "x",
             p.kernel_w);
  WindowGeometry g{p.kernel_h,
                   p.kernel_w,
                   p.stride_h ? p.stride_h : p.kernel_h,
                   p.stride_w ? p.stride_w : p.kernel_w,
                   p.pad_h,
                   p.pad_w,
                   p.dilation_h,
                   p.dilation_w};
  auto [y, indices] = dispatch::max_pool2d(x, g);
  if (!autograd::needs_grad(x)) return y;
  Dims shape = x.shape();
  // Each output's gradient goes to the element that won its window: a scatter_add through
  // the indices, which differentiates again (into a gather). When this backward is not
  // itself recorded, the scatter goes straight into fresh zeros (the differentiable
  // scatter_add would copy a tensor of zeros first).
  return autograd::record(
      "max_pool2d", y, {x}, {indices}, autograd::SaveOutput::No,
      [shape](const Tensor& grad, const autograd::Saved& s) {
        Dims planes = {shape[0], shape[1], shape[2] * shape[3]};
        Tensor index = s[0].flatten(2), src = grad.flatten(2);
        if (!autograd::needs_grad(grad))
          return TensorList{dispatch::scatter_add_zeros(planes, 2, index, src).reshape(shape)};
        Tensor plane = zeros(planes, {.dtype = grad.dtype(), .device = grad.device()});
        return TensorList{scatter_add(plane, 2, index, src).reshape(shape)};
      });
}

}  // namespace ctdl

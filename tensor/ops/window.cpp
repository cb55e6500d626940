// The sliding-window primitives: unfold2d (im2col) and fold2d (col2im), each the other's
// adjoint. Convolution and pooling are composites of these (tensor/composites/nn.cpp).
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

WindowGeometry geometry(const Conv2dOptions& o, int64_t kernel_h, int64_t kernel_w) {
  CTDL_CHECK(kernel_h > 0 && kernel_w > 0 && o.stride_h > 0 && o.stride_w > 0 &&
                 o.dilation_h > 0 && o.dilation_w > 0 && o.pad_h >= 0 && o.pad_w >= 0,
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
  CTDL_CHECK(cols.dim() == 6 && input_shape.size() == 4,
             "fold2d: expected columns [N, C, kh, kw, OH, OW] and an input shape [N, C, H, W], got ",
             cols.shape(), " and ", input_shape);
  WindowGeometry g = geometry(options, cols.shape()[2], cols.shape()[3]);
  CTDL_CHECK(cols.shape()[0] == input_shape[0] && cols.shape()[1] == input_shape[1] &&
                 cols.shape()[4] == g.out_h(input_shape[2]) && cols.shape()[5] == g.out_w(input_shape[3]),
             "fold2d: columns of shape ", cols.shape(), " do not match input shape ", input_shape);
  Tensor y = dispatch::fold(cols, input_shape, g);
  if (!autograd::needs_grad(cols)) return y;
  int64_t kh = cols.shape()[2], kw = cols.shape()[3];
  return autograd::record("fold2d", y, {cols}, {}, autograd::SaveOutput::No,
                          [=](const Tensor& grad, const autograd::Saved&) {
                            return TensorList{unfold2d(grad, options, kh, kw)};
                          });
}

}  // namespace ctdl

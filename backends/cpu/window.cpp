// Reference im2col (unfold) and col2im (fold) kernels.
#include "ctdl/backends/cpu/cpu_backend.h"

namespace ctdl::cpu {
namespace {

// Visits every (input offset, column offset) pair of a window geometry; positions in the
// zero padding get input offset -1.
template <class F>
void for_each_window_element(const KernelTensor& image, const KernelTensor& cols,
                             const WindowGeometry& g, F&& fn) {
  const Dims& s = cols.shape;  // [N, C, kh, kw, OH, OW]
  const int64_t h = image.shape[2], w = image.shape[3];
  for (int64_t n = 0; n < s[0]; ++n)
    for (int64_t c = 0; c < s[1]; ++c)
      for (int64_t i = 0; i < s[2]; ++i)
        for (int64_t j = 0; j < s[3]; ++j)
          for (int64_t oh = 0; oh < s[4]; ++oh) {
            int64_t y = oh * g.stride_h - g.pad_h + i * g.dilation_h;
            for (int64_t ow = 0; ow < s[5]; ++ow) {
              int64_t x = ow * g.stride_w - g.pad_w + j * g.dilation_w;
              int64_t col = n * cols.strides[0] + c * cols.strides[1] + i * cols.strides[2] +
                            j * cols.strides[3] + oh * cols.strides[4] + ow * cols.strides[5];
              bool inside = y >= 0 && y < h && x >= 0 && x < w;
              int64_t pix = inside ? n * image.strides[0] + c * image.strides[1] +
                                         y * image.strides[2] + x * image.strides[3]
                                   : -1;
              fn(pix, col);
            }
          }
}

}  // namespace

void CpuBackend::unfold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  CTDL_DISPATCH_ALL(out.dtype, "unfold2d", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    for_each_window_element(in, out, g, [&](int64_t pix, int64_t col) {
      po[col] = pix >= 0 ? pi[pix] : scalar_t(0);
    });
  });
}

void CpuBackend::fold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  CTDL_DISPATCH_ALL(out.dtype, "fold2d", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    for_each_window_element(out, in, g, [&](int64_t pix, int64_t col) {
      if (pix >= 0) po[pix] += pi[col];
    });
  });
}

}  // namespace ctdl::cpu

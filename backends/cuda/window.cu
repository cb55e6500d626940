// Sliding-window kernels: unfold (im2col), fold (col2im) and max pooling, one thread per
// output element.
//
// fold is written as a gather: each image element sums the column entries of the windows
// that cover it, in the CPU's order (kernel row, then kernel column), so it needs no atomics
// and gives the CPU's bits.
#include <cmath>
#include <limits>
#include <type_traits>

#include "ctdl/backends/cuda/common.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"

namespace ctdl::cuda {
namespace {

// Sizes and strides of the two layouts a window kernel relates: the image [N, C, H, W] and
// the columns [N, C, kh, kw, OH, OW] (for max pooling, the output [N, C, OH, OW] and its
// indices, in the first four column strides and in `index_strides`).
struct WindowShapes {
  int64_t n, c, h, w, oh, ow;
  int64_t image[4];
  int64_t columns[6];
  int64_t index_strides[4];
};

WindowShapes window_shapes(const KernelTensor& image, const KernelTensor& columns) {
  WindowShapes s{};
  s.n = image.shape[0], s.c = image.shape[1], s.h = image.shape[2], s.w = image.shape[3];
  const int nd = static_cast<int>(columns.shape.size());
  s.oh = columns.shape[nd - 2], s.ow = columns.shape[nd - 1];
  for (int d = 0; d < 4; ++d) s.image[d] = image.strides[d];
  for (int d = 0; d < nd; ++d) s.columns[d] = columns.strides[d];
  return s;
}

template <class T>
__device__ __forceinline__ T add(T a, T b) {
  if constexpr (std::is_same_v<T, bool>)
    return a || b;  // the CPU's `+=` on a bool
  else
    return a + b;
}

template <class T>
__global__ void __launch_bounds__(kBlockSize)
    unfold_kernel(T* out, const T* in, WindowShapes s, WindowGeometry g, int64_t count) {
  CTDL_GRID_STRIDE_LOOP(e, count) {
    int64_t rest = e;
    const int64_t ow = rest % s.ow;
    rest /= s.ow;
    const int64_t oh = rest % s.oh;
    rest /= s.oh;
    const int64_t j = rest % g.kernel_w;
    rest /= g.kernel_w;
    const int64_t i = rest % g.kernel_h;
    rest /= g.kernel_h;
    const int64_t c = rest % s.c, n = rest / s.c;
    const int64_t y = oh * g.stride_h - g.pad_h + i * g.dilation_h;
    const int64_t x = ow * g.stride_w - g.pad_w + j * g.dilation_w;
    const bool inside = y >= 0 && y < s.h && x >= 0 && x < s.w;
    out[n * s.columns[0] + c * s.columns[1] + i * s.columns[2] + j * s.columns[3] +
        oh * s.columns[4] + ow * s.columns[5]] =
        inside ? in[n * s.image[0] + c * s.image[1] + y * s.image[2] + x * s.image[3]] : T(0);
  }
}

// The window position o along one axis whose kernel tap at `offset` lands on image position
// p: o·stride − pad + offset = p. Returns -1 when there is none.
__device__ __forceinline__ int64_t window_at(int64_t p, int64_t offset, int64_t stride, int64_t pad,
                                             int64_t count) {
  const int64_t t = p + pad - offset;
  if (t < 0 || t % stride != 0) return -1;
  const int64_t o = t / stride;
  return o < count ? o : -1;
}

template <class T>
__global__ void __launch_bounds__(kBlockSize)
    fold_kernel(T* out, const T* in, WindowShapes s, WindowGeometry g, int64_t count) {
  CTDL_GRID_STRIDE_LOOP(e, count) {
    int64_t rest = e;
    const int64_t x = rest % s.w;
    rest /= s.w;
    const int64_t y = rest % s.h;
    rest /= s.h;
    const int64_t c = rest % s.c, n = rest / s.c;
    T* target = out + n * s.image[0] + c * s.image[1] + y * s.image[2] + x * s.image[3];
    const T* plane = in + n * s.columns[0] + c * s.columns[1];
    T acc = *target;  // fold adds into out
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      const int64_t oh = window_at(y, i * g.dilation_h, g.stride_h, g.pad_h, s.oh);
      if (oh < 0) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t ow = window_at(x, j * g.dilation_w, g.stride_w, g.pad_w, s.ow);
        if (ow < 0) continue;
        acc =
            add(acc,
                plane[i * s.columns[2] + j * s.columns[3] + oh * s.columns[4] + ow * s.columns[5]]);
      }
    }
    *target = acc;
  }
}

// The CPU's rule: the first maximum in window order wins, padding never does, the first NaN
// wins over any number; a window of -inf answers its first element, and one wholly in the
// padding answers -inf at index -1.
template <class T>
__global__ void __launch_bounds__(kBlockSize)
    max_pool2d_kernel(T* out, int64_t* indices, const T* in, WindowShapes s, WindowGeometry g,
                      int64_t count, T lowest, T nan) {
  CTDL_GRID_STRIDE_LOOP(e, count) {
    int64_t rest = e;
    const int64_t ow = rest % s.ow;
    rest /= s.ow;
    const int64_t oh = rest % s.oh;
    rest /= s.oh;
    const int64_t c = rest % s.c, n = rest / s.c;
    const T* plane = in + n * s.image[0] + c * s.image[1];
    const int64_t y0 = oh * g.stride_h - g.pad_h, x0 = ow * g.stride_w - g.pad_w;
    T best = lowest;
    int64_t best_at = -1, first_at = -1;
    bool saw_nan = false;
    for (int64_t i = 0; i < g.kernel_h && !saw_nan; ++i) {
      const int64_t y = y0 + i * g.dilation_h;
      if (y < 0 || y >= s.h) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        const int64_t x = x0 + j * g.dilation_w;
        if (x < 0 || x >= s.w) continue;
        const T v = plane[y * s.image[2] + x * s.image[3]];
        const int64_t at = y * s.w + x;
        if (first_at < 0) first_at = at;
        if (v != v) {
          best = nan;
          best_at = at;
          saw_nan = true;
          break;
        }
        if (v > best) best = v, best_at = at;
      }
    }
    if (best_at < 0) best_at = first_at;
    out[n * s.columns[0] + c * s.columns[1] + oh * s.columns[2] + ow * s.columns[3]] = best;
    indices[n * s.index_strides[0] + c * s.index_strides[1] + oh * s.index_strides[2] +
            ow * s.index_strides[3]] = best_at;
  }
}

}  // namespace

void CudaBackend::unfold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  DeviceGuard guard(device_);
  const int64_t count = out.numel();
  if (count == 0) return;
  const WindowShapes s = window_shapes(in, out);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "unfold2d", [&] {
    unfold_kernel<scalar_t><<<grid_for(count), kBlockSize, 0, stream>>>(
        out.ptr<scalar_t>(), in.ptr<const scalar_t>(), s, g, count);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::fold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  DeviceGuard guard(device_);
  const int64_t count = out.numel();
  if (count == 0 || in.numel() == 0) return;
  const WindowShapes s = window_shapes(out, in);
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_ALL(out.dtype, "fold2d", [&] {
    fold_kernel<scalar_t><<<grid_for(count), kBlockSize, 0, stream>>>(
        out.ptr<scalar_t>(), in.ptr<const scalar_t>(), s, g, count);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

void CudaBackend::max_pool2d(const KernelTensor& out, const KernelTensor& indices,
                             const KernelTensor& in, const WindowGeometry& g) {
  DeviceGuard guard(device_);
  const int64_t count = out.numel();
  if (count == 0) return;
  WindowShapes s = window_shapes(in, out);
  for (int d = 0; d < 4; ++d) s.index_strides[d] = indices.strides[d];
  cudaStream_t stream = current_stream(device_);
  CTDL_DISPATCH_FLOATING(out.dtype, "max_pool2d", [&] {
    max_pool2d_kernel<scalar_t><<<grid_for(count), kBlockSize, 0, stream>>>(
        out.ptr<scalar_t>(), indices.ptr<int64_t>(), in.ptr<const scalar_t>(), s, g, count,
        -std::numeric_limits<scalar_t>::infinity(), std::numeric_limits<scalar_t>::quiet_NaN());
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ctdl::cuda

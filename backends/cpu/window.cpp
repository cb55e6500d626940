// Sliding-window kernels: im2col (unfold), col2im (fold) and 2-D pooling.
//
// Each (image, channel) plane is independent, so planes are split over threads. Within a
// plane a window row maps to a run of output columns whose valid part is computed once
// (the rest falls in the padding), and a run with stride 1 is a memcpy.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/parallel.h"

namespace ctdl::cpu {
namespace {

// The range of output positions o in [0, out) whose input position o·stride − pad + offset
// lies in [0, size).
struct ValidRange {
  int64_t begin, end;
};
ValidRange valid_range(int64_t out, int64_t size, int64_t stride, int64_t pad, int64_t offset) {
  // o·stride ≥ pad − offset  and  o·stride < size + pad − offset
  int64_t lo = pad - offset, hi = size + pad - offset;
  int64_t begin = lo <= 0 ? 0 : (lo + stride - 1) / stride;
  int64_t end = hi <= 0 ? 0 : (hi + stride - 1) / stride;
  return {std::min(begin, out), std::clamp(end, std::min(begin, out), out)};
}

struct Plane {
  int64_t n, c;
};

// Calls fn(n, c) for every plane, several planes per task: in the order of memory, image
// by image, or channel by channel when `channels_outer` (columns stored channel-major,
// where the same channel of consecutive images is adjacent).
template <class F>
void for_each_plane(int64_t planes_n, int64_t planes_c, int64_t cost, bool channels_outer, F&& fn) {
  parallel_items(planes_n * planes_c, cost, [&](int64_t p) {
    if (channels_outer)
      fn(p % planes_n, p / planes_n);
    else
      fn(p / planes_c, p % planes_c);
  });
}

// Visits the window rows of one plane: fn(i, j, oh, x_begin, ow_range) for kernel offset
// (i, j) and output row oh whose input row y is inside the image, with the valid output
// columns and the input column of the first of them.
template <class F>
void for_each_window_row(int64_t h, int64_t w, int64_t oh_count, int64_t ow_count,
                         const WindowGeometry& g, F&& fn) {
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    ValidRange rows = valid_range(oh_count, h, g.stride_h, g.pad_h, i * g.dilation_h);
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      ValidRange cols = valid_range(ow_count, w, g.stride_w, g.pad_w, j * g.dilation_w);
      for (int64_t oh = rows.begin; oh < rows.end; ++oh) {
        int64_t y = oh * g.stride_h - g.pad_h + i * g.dilation_h;
        fn(i, j, oh, y, cols);
      }
    }
  }
}

// dst[k] += src[k]: with the pointers known not to overlap (a plane of the image and the
// columns are different tensors), the compiler vectorizes it.
template <class T>
void add_run(T* __restrict dst, const T* __restrict src, int64_t count) {
  for (int64_t k = 0; k < count; ++k) dst[k] += src[k];
}

}  // namespace

void CpuBackend::unfold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  const Dims& s = out.shape;  // [N, C, kh, kw, OH, OW]
  const int64_t h = in.shape[2], w = in.shape[3], oh_n = s[4], ow_n = s[5];
  const Dims &os = out.strides, &is = in.strides;
  CTDL_DISPATCH_ALL(out.dtype, "unfold2d", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    // Planes in the order of the columns' memory: each task then writes a few long runs.
    const bool channels_outer = os[0] < os[1];
    for_each_plane(
        s[0], s[1], s[2] * s[3] * oh_n * ow_n, channels_outer, [&](int64_t n, int64_t c) {
          scalar_t* plane_out = po + n * os[0] + c * os[1];
          const scalar_t* plane_in = pi + n * is[0] + c * is[1];
          // Each element is written once: the parts of the windows inside the image are copied,
          // the rest (the padding) is zeroed. Writing the columns is most of this kernel's time.
          auto zero = [&](scalar_t* dst, int64_t count) {
            if (os[5] == 1)
              std::fill_n(dst, count, scalar_t(0));
            else
              for (int64_t k = 0; k < count; ++k) dst[k * os[5]] = scalar_t(0);
          };
          for (int64_t i = 0; i < s[2]; ++i) {
            const ValidRange rows = valid_range(oh_n, h, g.stride_h, g.pad_h, i * g.dilation_h);
            for (int64_t j = 0; j < s[3]; ++j)
              for (int64_t oh = 0; oh < oh_n; ++oh)
                if (oh < rows.begin || oh >= rows.end)
                  zero(plane_out + i * os[2] + j * os[3] + oh * os[4], ow_n);
          }
          for_each_window_row(h, w, oh_n, ow_n, g,
                              [&](int64_t i, int64_t j, int64_t oh, int64_t y, ValidRange cols) {
                                scalar_t* dst = plane_out + i * os[2] + j * os[3] + oh * os[4];
                                zero(dst, cols.begin);
                                zero(dst + cols.end * os[5], ow_n - cols.end);
                                int64_t x0 = cols.begin * g.stride_w - g.pad_w + j * g.dilation_w;
                                const scalar_t* src = plane_in + y * is[2] + x0 * is[3];
                                int64_t count = cols.end - cols.begin, step = g.stride_w * is[3];
                                if (os[5] == 1 && step == 1) {
                                  std::memcpy(dst + cols.begin, src, count * sizeof(scalar_t));
                                } else {
                                  for (int64_t k = 0; k < count; ++k)
                                    dst[(cols.begin + k) * os[5]] = src[k * step];
                                }
                              });
        });
  });
}

void CpuBackend::fold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) {
  const Dims& s = in.shape;  // [N, C, kh, kw, OH, OW]
  const int64_t h = out.shape[2], w = out.shape[3], oh_n = s[4], ow_n = s[5];
  const Dims &os = out.strides, &is = in.strides;
  CTDL_DISPATCH_ALL(out.dtype, "fold2d", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    // Planes of `out` are disjoint, so threads never add into the same element. They go in
    // the order of the columns' memory, as in unfold.
    const bool channels_outer = is[0] < is[1];
    for_each_plane(
        s[0], s[1], s[2] * s[3] * oh_n * ow_n, channels_outer, [&](int64_t n, int64_t c) {
          scalar_t* plane_out = po + n * os[0] + c * os[1];
          const scalar_t* plane_in = pi + n * is[0] + c * is[1];
          for_each_window_row(h, w, oh_n, ow_n, g,
                              [&](int64_t i, int64_t j, int64_t oh, int64_t y, ValidRange cols) {
                                const scalar_t* src = plane_in + i * is[2] + j * is[3] + oh * is[4];
                                int64_t x0 = cols.begin * g.stride_w - g.pad_w + j * g.dilation_w;
                                scalar_t* dst = plane_out + y * os[2] + x0 * os[3];
                                int64_t count = cols.end - cols.begin, step = g.stride_w * os[3];
                                src += cols.begin * is[5];
                                if (step == 1 && is[5] == 1)
                                  add_run(dst, src, count);
                                else
                                  for (int64_t k = 0; k < count; ++k)
                                    dst[k * step] += src[k * is[5]];
                              });
        });
  });
}

namespace {

// One plane of max pooling. Geometry is copied into locals: the stores into `indices`
// (int64) could otherwise alias it and force reloads in the inner loop. Windows that lie
// wholly inside the image (all of them without padding) skip the bounds checks.
template <class T>
void max_pool_plane(T* out, int64_t* indices, int64_t out_row, int64_t out_col, int64_t index_row,
                    int64_t index_col, const T* in, int64_t in_row, int64_t in_col, int64_t h,
                    int64_t w, int64_t oh_n, int64_t ow_n, const WindowGeometry g);

// The common 2x2 window with stride 2 and no padding or dilation over rows of contiguous
// elements: four loads per window and no loops. The first maximum wins as in the general
// case (best starts at the first element, and a later one wins only when strictly greater,
// so an all -inf window answers its first element). A window holding a NaN is rare: it goes
// to the general code, which lets the first NaN win.
//
// Written for the vectorizer: a pass over up to kSpan windows of a row finds each maximum
// and the winner's offset in its window as a 32-bit integer (the same width as a float, so
// both fit the same vector lanes), by selects rather than branches (which are mispredicted
// about half the time on real data); a second pass widens the offsets to int64 indices.
template <class T>
bool max_pool_plane_2x2(T* out, int64_t* indices, int64_t out_row, int64_t index_row, const T* in,
                        int64_t in_row, int64_t w, int64_t oh_n, int64_t ow_n) {
  using Offset = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;
  constexpr int64_t kSpan = 64;
  const Offset right = 1, below = static_cast<Offset>(w), diagonal = below + 1;
  Offset offset[kSpan];
  int nan = 0;
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    const T* top = in + 2 * oh * in_row;
    const T* bottom = top + in_row;
    T* o = out + oh * out_row;
    int64_t* at = indices + oh * index_row;
    const int64_t first = 2 * oh * w;
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += kSpan) {
      const int64_t span = std::min(kSpan, ow_n - ow0);
      for (int64_t k = 0; k < span; ++k) {
        const int64_t x = 2 * (ow0 + k);
        const T a = top[x], b = top[x + 1], c = bottom[x], d = bottom[x + 1];
        nan |= (a != a) | (b != b) | (c != c) | (d != d);
        T best = a;
        Offset off = 0;
        auto take = [&](T v, Offset at) {
          const Offset wins = -static_cast<Offset>(v > best);  // all ones or zero
          off = (off & ~wins) | (at & wins);
          best = v > best ? v : best;  // maxps
        };
        take(b, right);
        take(c, below);
        take(d, diagonal);
        o[ow0 + k] = best;
        offset[k] = off;
      }
      for (int64_t k = 0; k < span; ++k) at[ow0 + k] = first + 2 * (ow0 + k) + offset[k];
    }
  }
  return !nan;
}

template <class T>
void max_pool_plane(T* out, int64_t* indices, int64_t out_row, int64_t out_col, int64_t index_row,
                    int64_t index_col, const T* in, int64_t in_row, int64_t in_col, int64_t h,
                    int64_t w, int64_t oh_n, int64_t ow_n, const WindowGeometry g) {
  const int64_t kh = g.kernel_h, kw = g.kernel_w, dh = g.dilation_h, dw = g.dilation_w;
  const bool plain_2x2 = kh == 2 && kw == 2 && g.stride_h == 2 && g.stride_w == 2 &&
                         g.pad_h == 0 && g.pad_w == 0 && dh == 1 && dw == 1;
  if (plain_2x2 && in_col == 1 && out_col == 1 && index_col == 1 &&
      max_pool_plane_2x2(out, indices, out_row, index_row, in, in_row, w, oh_n, ow_n))
    return;
  const ValidRange inner_cols = valid_range(ow_n, w - (kw - 1) * dw, g.stride_w, g.pad_w, 0);
  for (int64_t oh = 0; oh < oh_n; ++oh) {
    const int64_t y0 = oh * g.stride_h - g.pad_h;
    const bool rows_inside = y0 >= 0 && y0 + (kh - 1) * dh < h;
    for (int64_t ow = 0; ow < ow_n; ++ow) {
      const int64_t x0 = ow * g.stride_w - g.pad_w;
      // The first maximum wins; the first NaN wins over any number, as in max(). Branch
      // free (compare-and-move): which element wins is data-dependent, and a mispredicted
      // branch per window would cost more than the comparisons.
      T best = -std::numeric_limits<T>::infinity();
      int64_t best_at = -1, first_at = -1, nan_at = -1;
      auto visit = [&](int64_t y, int64_t x) {
        const T v = in[y * in_row + x * in_col];
        const int64_t at = y * w + x;
        best_at = v > best ? at : best_at;
        best = v > best ? v : best;
        first_at = first_at < 0 ? at : first_at;
        nan_at = (v != v) & (nan_at < 0) ? at : nan_at;
      };
      if (rows_inside && ow >= inner_cols.begin && ow < inner_cols.end) {
        for (int64_t i = 0; i < kh; ++i)
          for (int64_t j = 0; j < kw; ++j) visit(y0 + i * dh, x0 + j * dw);
      } else {
        for (int64_t i = 0; i < kh; ++i) {
          const int64_t y = y0 + i * dh;
          if (y < 0 || y >= h) continue;
          for (int64_t j = 0; j < kw; ++j) {
            const int64_t x = x0 + j * dw;
            if (x >= 0 && x < w) visit(y, x);
          }
        }
      }
      if (nan_at >= 0) {
        best = std::numeric_limits<T>::quiet_NaN();
        best_at = nan_at;
      } else if (best_at < 0) {  // every element -inf
        best_at = first_at;
      }
      out[oh * out_row + ow * out_col] = best;
      indices[oh * index_row + ow * index_col] = best_at;
    }
  }
}

}  // namespace

void CpuBackend::max_pool2d(const KernelTensor& out, const KernelTensor& indices,
                            const KernelTensor& in, const WindowGeometry& g) {
  const int64_t h = in.shape[2], w = in.shape[3], oh_n = out.shape[2], ow_n = out.shape[3];
  const Dims &os = out.strides, &is = in.strides, &xs = indices.strides;
  CTDL_DISPATCH_FLOATING(out.dtype, "max_pool2d", [&] {
    auto* po = out.ptr<scalar_t>();
    auto* px = indices.ptr<int64_t>();
    const auto* pi = in.ptr<scalar_t>();
    for_each_plane(out.shape[0], out.shape[1], oh_n * ow_n * g.kernel_h * g.kernel_w, false,
                   [&](int64_t n, int64_t c) {
                     max_pool_plane<scalar_t>(po + n * os[0] + c * os[1],
                                              px + n * xs[0] + c * xs[1], os[2], os[3], xs[2],
                                              xs[3], pi + n * is[0] + c * is[1], is[2], is[3], h, w,
                                              oh_n, ow_n, g);
                   });
  });
}

}  // namespace ctdl::cpu

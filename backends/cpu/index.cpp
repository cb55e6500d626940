// Reference index kernels: index_select, index_add, gather, scatter_add.
#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"

namespace ctdl::cpu {

void CpuBackend::index_select(const KernelTensor& out, const KernelTensor& in, int dim,
                              const KernelTensor& index) {
  const int64_t* idx = index.ptr<int64_t>();
  const int64_t istep = index.strides[0], step = in.strides[dim];
  Dims in_strides = without_dim(in.strides, dim), pos = position_along(out.shape.size(), dim);
  CTDL_DISPATCH_ALL(out.dtype, "index_select", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    strided_loop<3>(out.shape, {&out.strides, &in_strides, &pos},
                    [&](const auto& o) { po[o[0]] = pi[o[1] + idx[o[2] * istep] * step]; });
  });
}

void CpuBackend::index_add(const KernelTensor& out, int dim, const KernelTensor& index,
                           const KernelTensor& src) {
  const int64_t* idx = index.ptr<int64_t>();
  const int64_t istep = index.strides[0], step = out.strides[dim];
  Dims out_strides = without_dim(out.strides, dim), pos = position_along(src.shape.size(), dim);
  CTDL_DISPATCH_ALL(out.dtype, "index_add", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* ps = src.ptr<scalar_t>();
    strided_loop<3>(src.shape, {&out_strides, &src.strides, &pos}, [&](const auto& o) {
      po[o[0] + idx[o[2] * istep] * step] += ps[o[1]];
    });
  });
}

void CpuBackend::gather(const KernelTensor& out, const KernelTensor& in, int dim,
                        const KernelTensor& index) {
  const int64_t* idx = index.ptr<int64_t>();
  const int64_t step = in.strides[dim];
  Dims in_strides = without_dim(in.strides, dim);
  CTDL_DISPATCH_ALL(out.dtype, "gather", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pi = in.ptr<scalar_t>();
    strided_loop<3>(out.shape, {&out.strides, &in_strides, &index.strides},
                    [&](const auto& o) { po[o[0]] = pi[o[1] + idx[o[2]] * step]; });
  });
}

void CpuBackend::scatter_add(const KernelTensor& out, int dim, const KernelTensor& index,
                             const KernelTensor& src) {
  const int64_t* idx = index.ptr<int64_t>();
  const int64_t step = out.strides[dim];
  Dims out_strides = without_dim(out.strides, dim);
  CTDL_DISPATCH_ALL(out.dtype, "scatter_add", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* ps = src.ptr<scalar_t>();
    strided_loop<3>(index.shape, {&out_strides, &index.strides, &src.strides},
                    [&](const auto& o) { po[o[0] + idx[o[1]] * step] += ps[o[2]]; });
  });
}

}  // namespace ctdl::cpu

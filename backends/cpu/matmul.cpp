// Reference batched matrix product (i-k-j loop order, so the inner loop streams rows).
#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/loops.h"

namespace ctdl::cpu {

void CpuBackend::matmul(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) {
  const int nd = out.shape.size();
  const int64_t m = out.shape[nd - 2], n = out.shape[nd - 1], k = a.shape[nd - 1];
  Dims batch(out.shape.begin(), out.shape.end() - 2);
  Dims ob(out.strides.begin(), out.strides.end() - 2), ab(a.strides.begin(), a.strides.end() - 2),
      bb(b.strides.begin(), b.strides.end() - 2);
  const int64_t om = out.strides[nd - 2], on = out.strides[nd - 1];
  const int64_t am = a.strides[nd - 2], ak = a.strides[nd - 1];
  const int64_t bk = b.strides[nd - 2], bn = b.strides[nd - 1];
  CTDL_DISPATCH_FLOATING(out.dtype, "matmul", [&] {
    auto* po = out.ptr<scalar_t>();
    const auto* pa = a.ptr<scalar_t>();
    const auto* pb = b.ptr<scalar_t>();
    strided_loop<3>(batch, {&ob, &ab, &bb}, [&](const auto& o) {
      for (int64_t i = 0; i < m; ++i) {
        scalar_t* row = po + o[0] + i * om;
        for (int64_t j = 0; j < n; ++j) row[j * on] = 0;
        for (int64_t p = 0; p < k; ++p) {
          scalar_t aip = pa[o[1] + i * am + p * ak];
          const scalar_t* brow = pb + o[2] + p * bk;
          for (int64_t j = 0; j < n; ++j) row[j * on] += aip * brow[j * bn];
        }
      }
    });
  });
}

}  // namespace ctdl::cpu

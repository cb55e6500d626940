// Batched matrix products on the CPU: the batch dims become a list of operand offsets, and
// backends/cpu/gemm does the products (packing reads any strides, so transposed, sliced
// and broadcast operands need no copies here).
#include <vector>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/gemm/gemm.h"
#include "ctdl/backends/cpu/loops.h"

namespace ctdl::cpu {

void CpuBackend::matmul(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) {
  const int nd = out.shape.size();
  const int64_t m = out.shape[nd - 2], n = out.shape[nd - 1], k = a.shape[nd - 1];
  Dims batch(out.shape.begin(), out.shape.end() - 2);
  Dims ab(a.strides.begin(), a.strides.end() - 2), bb(b.strides.begin(), b.strides.end() - 2),
      ob(out.strides.begin(), out.strides.end() - 2);
  std::vector<int64_t> offsets;
  offsets.reserve(3 * numel(batch));
  strided_loop<3>(batch, {&ab, &bb, &ob},
                  [&](const auto& o) { offsets.insert(offsets.end(), o.begin(), o.end()); });
  const int64_t count = static_cast<int64_t>(offsets.size() / 3);
  CTDL_DISPATCH_FLOATING(out.dtype, "matmul", [&] {
    gemm::gemm_batched<scalar_t>(count, offsets.data(), m, n, k,
                                 {a.ptr<const scalar_t>(), a.strides[nd - 2], a.strides[nd - 1]},
                                 {b.ptr<const scalar_t>(), b.strides[nd - 2], b.strides[nd - 1]},
                                 {out.ptr<scalar_t>(), out.strides[nd - 2], out.strides[nd - 1]});
  });
}

}  // namespace ctdl::cpu

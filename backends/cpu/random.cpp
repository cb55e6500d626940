// Random kernels: element i is a pure function of (seed, offset + i), see tensor/random.h.
#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/tensor/random.h"

namespace ctdl::cpu {

void CpuBackend::random(RandomKind kind, const KernelTensor& out, uint64_t seed, uint64_t offset,
                        double a, double b) {
  const int64_t n = out.numel();
  CTDL_DISPATCH_ALL(out.dtype, "random", [&] {
    auto* po = out.ptr<scalar_t>();
    for (int64_t i = 0; i < n; ++i) {
      uint64_t counter = offset + static_cast<uint64_t>(i);
      switch (kind) {
        case RandomKind::Uniform:
          po[i] = static_cast<scalar_t>(a + (b - a) * philox::uniform(seed, counter));
          break;
        case RandomKind::Normal:
          po[i] = static_cast<scalar_t>(a + b * philox::normal(seed, counter));
          break;
        case RandomKind::Integer:
          po[i] = static_cast<scalar_t>(philox::integer(seed, counter, static_cast<int64_t>(a),
                                                        static_cast<int64_t>(b)));
          break;
      }
    }
  });
}

}  // namespace ctdl::cpu

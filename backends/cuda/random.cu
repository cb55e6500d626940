// Random kernels: element i of the output is a pure function of (seed, offset + i) through
// the Philox functions of tensor/random.h, computed as backends/cpu/random.cpp computes it,
// so a tensor drawn on the GPU is the one drawn on the CPU: uniform and integer numbers bit
// for bit, normal ones up to the last bits of the device's log and cos.
#include "ctdl/backends/cuda/common.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"
#include "ctdl/tensor/random.h"

namespace ctdl::cuda {
namespace {

// The kind is a runtime switch, the same for every thread: Philox's ten rounds cost far more
// than the branch, and one kernel per dtype is enough.
template <class T>
__global__ void random_kernel(RandomKind kind, T* out, int64_t n, uint64_t seed, uint64_t offset,
                              double a, double b, int64_t low, int64_t high) {
  CTDL_GRID_STRIDE_LOOP(i, n) {
    const uint64_t counter = offset + static_cast<uint64_t>(i);
    // a + s·u rounds after the product and after the sum, as the CPU's code does: left to
    // itself nvcc fuses the two into one fma, which rounds once and changes the last bit.
    switch (kind) {
      case RandomKind::Uniform:
        out[i] = static_cast<T>(__dadd_rn(a, __dmul_rn(b - a, philox::uniform(seed, counter))));
        break;
      case RandomKind::Normal:
        out[i] = static_cast<T>(__dadd_rn(a, __dmul_rn(b, philox::normal(seed, counter))));
        break;
      case RandomKind::Integer:
        out[i] = static_cast<T>(philox::integer(seed, counter, low, high));
        break;
    }
  }
}

}  // namespace

void CudaBackend::random(RandomKind kind, const KernelTensor& out, uint64_t seed, uint64_t offset,
                         double a, double b) {
  DeviceGuard guard(device_);
  const int64_t n = out.numel();
  if (n == 0) return;
  CTDL_CHECK(out.is_contiguous(), "random: expected a contiguous output, got strides ",
             out.strides, " for shape ", out.shape);
  // The integer bounds are converted only for Integer, as on the CPU: a and b of the other
  // kinds need not fit an int64.
  const bool integer = kind == RandomKind::Integer;
  const int64_t low = integer ? static_cast<int64_t>(a) : 0;
  const int64_t high = integer ? static_cast<int64_t>(b) : 0;
  CTDL_DISPATCH_ALL(out.dtype, "random", [&] {
    random_kernel<scalar_t><<<grid_for(n), kBlockSize, 0, current_stream(device_)>>>(
        kind, out.ptr<scalar_t>(), n, seed, offset, a, b, low, high);
    CTDL_CUDA_CHECK_LAUNCH();
  });
}

}  // namespace ctdl::cuda

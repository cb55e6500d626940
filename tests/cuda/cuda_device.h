// The device the CUDA suites run on: the GPU when one is present; otherwise an emulated
// device, the CPU kernels behind Device::cuda(0) (override_backend), so that on machines
// without a GPU the suites still check everything above the kernels: that ops, autograd,
// solvers and modules keep tensors on their device and read device memory only through
// the backend. Tests of what only a GPU has (its kernels' numerics, streams, graphs,
// page-locked memory, the memory cache) skip there, saying why.
#pragma once

#include <atomic>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "helpers.h"

namespace ctdl::testing {

class EmulatedCuda final : public cpu::CpuBackend {
 public:
  const char* name() const override { return "emulated-cuda"; }
  void copy_to_host(void* dst, const void* src, size_t nbytes) override {
    host_reads.fetch_add(1);
    CpuBackend::copy_to_host(dst, src, nbytes);
  }
  std::atomic<int64_t> host_reads{0};
};

#ifdef CTDL_CUDA_KERNELS_ON_CPU
// test_cuda_emulated (tests/cuda_emulation): the CUDA backend's kernels run on the CPU,
// GPU or not; the cases that need real hardware skip.
Backend& cuda_kernels_on_cpu();
int64_t cuda_kernels_on_cpu_host_reads();
#endif

inline EmulatedCuda* emulated_device() {
  static EmulatedCuda* device = [] {
#ifdef CTDL_CUDA_KERNELS_ON_CPU
    override_backend(DeviceType::CUDA, &cuda_kernels_on_cpu());
    return static_cast<EmulatedCuda*>(nullptr);
#endif
    if (cuda::is_available()) return static_cast<EmulatedCuda*>(nullptr);
    auto* d = new EmulatedCuda;  // lives as long as the tensors it made
    override_backend(DeviceType::CUDA, d);
    return d;
  }();
  return device;
}

inline Device gpu() {
  emulated_device();
  return Device::cuda(0);
}

inline bool real_gpu() { return cuda::is_available(); }

inline std::string why_no_gpu() {
  return cuda::is_built() ? "no CUDA device is present (the driver reports none)"
                          : "this build of ctdl has no CUDA backend (CTDL_CUDA=OFF or no nvcc)";
}

// Device-to-host reads so far, on whichever device the suite runs.
inline int64_t host_reads() {
#ifdef CTDL_CUDA_KERNELS_ON_CPU
  return cuda_kernels_on_cpu_host_reads();
#endif
  EmulatedCuda* e = emulated_device();
  return e ? e->host_reads.load() : cuda::host_read_count();
}

}  // namespace ctdl::testing

// Ends a test that needs a real GPU, saying why, where none is present (and always in
// test_cuda_emulated, whose device is the CPU).
#ifdef CTDL_CUDA_KERNELS_ON_CPU
#define CTDL_REQUIRE_GPU()                                                            \
  do {                                                                                \
    WARN("skipped: needs a GPU; here the CUDA kernels run on the CPU");               \
    return;                                                                           \
  } while (false)
#else
#define CTDL_REQUIRE_GPU()                                                            \
  do {                                                                                \
    if (!::ctdl::testing::real_gpu()) {                                               \
      WARN("skipped: needs a GPU; " << ::ctdl::testing::why_no_gpu());                \
      return;                                                                         \
    }                                                                                 \
  } while (false)
#endif

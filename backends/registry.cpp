// The one place backends are registered, each behind its build option.
#include "ctdl/backends/backend.h"
#include "ctdl/backends/cpu/cpu_backend.h"

#ifdef CTDL_WITH_CUDA
#include "ctdl/backends/cuda/cuda_backend.h"
#endif

namespace ctdl {

Backend& backend_for(Device device) {
  if (device.is_cpu()) {
    static cpu::CpuBackend cpu_backend;
    return cpu_backend;
  }
#ifdef CTDL_WITH_CUDA
  return cuda::backend(device.index);
#else
  fail("device ", device, ": this build of ctdl has no CUDA backend (configure with -DCTDL_CUDA=ON)");
#endif
}

bool device_available(Device device) {
  if (device.is_cpu()) return true;
#ifdef CTDL_WITH_CUDA
  return cuda::device_count() > device.index;
#else
  return false;
#endif
}

}  // namespace ctdl

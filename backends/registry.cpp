// The one place backends are registered, each behind its build option.
#include "ctdl/backends/backend.h"
#include "ctdl/backends/cpu/cpu_backend.h"

#include "ctdl/tensor/error.h"
#ifdef CTDL_WITH_CUDA
#include "ctdl/backends/cuda/cuda_backend.h"
#endif

namespace ctdl {
namespace {
Backend* cuda_override = nullptr;
}  // namespace

void override_backend(DeviceType type, Backend* backend) {
  CTDL_CHECK(type == DeviceType::CUDA, "override_backend: only the CUDA device can be overridden");
  cuda_override = backend;
}

Backend& backend_for(Device device) {
  if (device.is_cuda() && cuda_override) return *cuda_override;
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
  if (cuda_override) return device.index == 0;
#ifdef CTDL_WITH_CUDA
  return cuda::device_count() > device.index;
#else
  return false;
#endif
}

}  // namespace ctdl

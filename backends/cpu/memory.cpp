// Host memory for the CPU backend.
#include <cstdlib>
#include <cstring>
#include <new>

#include "ctdl/backends/cpu/cpu_backend.h"

namespace ctdl::cpu {

void* CpuBackend::allocate(size_t nbytes) {
  size_t rounded = (nbytes + 63) / 64 * 64;
  void* p = std::aligned_alloc(64, rounded);
  if (!p) throw Error(str("cpu: out of memory allocating ", nbytes, " bytes"));
  return p;
}

void CpuBackend::deallocate(void* ptr, size_t) { std::free(ptr); }

void CpuBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  std::memcpy(dst, src, nbytes);
}

void CpuBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  std::memcpy(dst, src, nbytes);
}

}  // namespace ctdl::cpu

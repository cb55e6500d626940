// What backends/cuda/runtime.cpp and memory.cpp give the kernels, for the CPU: one device,
// one stream (everything runs when queued), and device memory that tells on misuse.
//
// Each device block is mapped on its own with an inaccessible page right after it, and
// starts filled with 0xFF bytes (NaN as float or double, -1 as int64): a kernel that reads
// past its tensor's end faults, and one that reads what nothing wrote shows NaN. Copies,
// memsets and cuBLAS calls check that their device ranges lie inside one live block.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <mutex>

#include "ctdl/backends/cuda/cuda_backend.h"  // the rewritten copy: ctdl::cuda_emulated
#include "ctdl/backends/cuda/runtime.h"

namespace ctdl_emu {
namespace {

struct Mapping {
  void* base;
  size_t mapped;    // bytes mapped, the guard page included
  size_t requested; // bytes the caller may use
};

struct DeviceMemory {
  std::mutex mutex;
  std::map<uintptr_t, Mapping> live;  // by the block's first byte
};

DeviceMemory& device_memory() {
  static DeviceMemory* memory = new DeviceMemory;  // tensors may be freed at exit
  return *memory;
}

constexpr size_t kAlignment = 512;  // the real memory cache's block alignment

}  // namespace

bool is_device_range(const void* p, size_t n) {
  DeviceMemory& m = device_memory();
  std::lock_guard lock(m.mutex);
  const auto address = reinterpret_cast<uintptr_t>(p);
  auto it = m.live.upper_bound(address);
  if (it == m.live.begin()) return false;
  --it;
  return address + n <= it->first + it->second.requested;
}

void* allocate_device(size_t nbytes) {
  const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  const size_t rounded = (std::max<size_t>(nbytes, 1) + kAlignment - 1) / kAlignment * kAlignment;
  const size_t mapped = (rounded + page - 1) / page * page + page;
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) ctdl::fail("cuda emulation: cannot map ", nbytes, " bytes");
  char* guard = static_cast<char*>(base) + mapped - page;
  mprotect(guard, page, PROT_NONE);
  char* block = guard - rounded;
  std::memset(block, 0xFF, rounded);
  DeviceMemory& m = device_memory();
  std::lock_guard lock(m.mutex);
  m.live.emplace(reinterpret_cast<uintptr_t>(block), Mapping{base, mapped, nbytes});
  return block;
}

void free_device(void* ptr) {
  DeviceMemory& m = device_memory();
  Mapping mapping;
  {
    std::lock_guard lock(m.mutex);
    auto it = m.live.find(reinterpret_cast<uintptr_t>(ptr));
    CTDL_CHECK(it != m.live.end(), "cuda emulation: freeing ", ptr, ", which is not a live device block");
    mapping = it->second;
    m.live.erase(it);
  }
  munmap(mapping.base, mapping.mapped);
}

}  // namespace ctdl_emu

namespace ctdl::cuda_emulated {
namespace {
std::atomic<int64_t> host_reads{0};
}

DeviceGuard::DeviceGuard(int device) : previous_(0) {
  CTDL_CHECK(device == 0, "cuda emulation: device ", device, " does not exist (one device)");
}
DeviceGuard::~DeviceGuard() = default;

cudaStream_t current_stream(int) { return nullptr; }
void set_current_stream(int, cudaStream_t) {}
bool is_capturing(cudaStream_t) { return false; }

cublasHandle_t cublas_handle(int device) {
  DeviceGuard guard(device);
  static char handle;
  return reinterpret_cast<cublasHandle_t>(&handle);
}

const cudaDeviceProp& properties(int device) {
  DeviceGuard guard(device);
  static const cudaDeviceProp props = {"CUDA kernels emulated on the CPU", 9, 0, 1, size_t{1} << 30};
  return props;
}

void* cache_allocate(int device, size_t nbytes) {
  DeviceGuard guard(device);
  return ctdl_emu::allocate_device(nbytes);
}
void cache_free(void* ptr) { ctdl_emu::free_device(ptr); }

void* CudaBackend::allocate(size_t nbytes) { return cache_allocate(device_, nbytes); }
void CudaBackend::deallocate(void* ptr, size_t) { cache_free(ptr); }

void CudaBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  DeviceGuard guard(device_);
  CTDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyHostToDevice, current_stream(device_)));
}

void CudaBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  DeviceGuard guard(device_);
  host_reads.fetch_add(1, std::memory_order_relaxed);
  CTDL_CUDA_CHECK(cudaMemcpyAsync(dst, src, nbytes, cudaMemcpyDeviceToHost, current_stream(device_)));
}

void CudaBackend::synchronize() {}

}  // namespace ctdl::cuda_emulated

// The hook tests/cuda/cuda_device.h calls when built with CTDL_CUDA_KERNELS_ON_CPU.
namespace ctdl::testing {

Backend& cuda_kernels_on_cpu() {
  static auto* backend = new cuda_emulated::CudaBackend(0);  // outlives the tensors it made
  return *backend;
}

int64_t cuda_kernels_on_cpu_host_reads() { return cuda_emulated::host_reads.load(); }

}  // namespace ctdl::testing

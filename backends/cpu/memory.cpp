// Host memory for the CPU backend, with a cache of freed blocks.
//
// Training steps and ODE solves allocate the same sizes over and over. Small blocks come
// back from a per-thread free list (no lock and no malloc: a tiny op has a budget of about
// 100 ns). Large blocks are kept for reuse instead of going back to the operating system,
// because fresh pages are zeroed by the kernel on first touch, which costs more than the
// arithmetic of a memory-bound op. The cache is bounded; CTDL_CPU_CACHE=0 turns it off, and
// sanitizer builds never cache, so that AddressSanitizer sees every use after free.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <new>
#include <vector>

#include <sys/mman.h>

#include "ctdl/backends/cpu/cpu_backend.h"

namespace ctdl::cpu {
namespace {

constexpr size_t kAlignment = 64;
constexpr size_t kSmallestClass = 64;     // bytes
constexpr int kSmallClasses = 10;         // 64 B ... 32 KiB, powers of two
// Each thread keeps up to this many bytes of free blocks per small class (at least 64
// blocks). Backprop through a solver holds hundreds of small tensors per step (a neural
// ODE's [512, 2] stage values are 4 KiB each) and frees them all at once: with a cache of a
// few dozen blocks, malloc took the rest, trimmed its heap and the next solve faulted the
// pages in again (8% of node_rk4_backprop's time).
constexpr size_t kSmallClassCacheBytes = size_t{4} << 20;
constexpr size_t kMaxCachedLargeBytes = size_t{1} << 30;

bool cache_enabled() {
#ifdef CTDL_NO_MEMORY_CACHE
  return false;
#else
  static const bool enabled = [] {
    const char* env = std::getenv("CTDL_CPU_CACHE");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  return enabled;
#endif
}

// Small blocks: the class of n bytes is the smallest power of two >= n (at least 64).
int small_class(size_t n) {
  int c = 0;
  for (size_t size = kSmallestClass; size < n; size <<= 1) ++c;
  return c;
}
size_t small_class_bytes(int c) { return kSmallestClass << c; }

// Large blocks: n rounded up to one of eight steps per power of two (at most 12.5% waste),
// so a freed block is reused for any request of its class.
size_t large_class_bytes(size_t n) {
  size_t top = size_t{1} << (63 - __builtin_clzll(n));
  size_t step = std::max<size_t>(top / 8, kAlignment);
  return (n + step - 1) / step * step;
}

// Set when a thread's cache is gone (at thread exit): tensors freed after that, such as
// statics destroyed at process exit, go straight back to the system.
thread_local bool small_cache_destroyed = false;

size_t small_class_capacity(int c) {
  return std::max<size_t>(64, kSmallClassCacheBytes / small_class_bytes(c));
}

struct SmallCache {
  // The free blocks of each class, used as stacks; reserved up front to their capacity so
  // that keeping a block never allocates.
  std::vector<void*> blocks[kSmallClasses];
  SmallCache() {
    for (int c = 0; c < kSmallClasses; ++c) blocks[c].reserve(small_class_capacity(c));
  }
  ~SmallCache() {
    for (auto& list : blocks)
      for (void* p : list) std::free(p);
    small_cache_destroyed = true;
  }
};

SmallCache& small_cache() {
  thread_local SmallCache cache;
  return cache;
}

bool small(size_t nbytes) {
  return nbytes <= small_class_bytes(kSmallClasses - 1) && !small_cache_destroyed;
}

// Freed large blocks by size class, each class a stack: the block freed last is handed out
// first, so a temporary that is freed and allocated again at once (a layer's 128 KiB
// pre-activation, a gradient in the backward pass) comes back still in L2. (A multimap
// gave out the oldest block of a size, which is cold.)
struct LargeCache {
  std::mutex mutex;
  std::map<size_t, std::vector<void*>> blocks;
  size_t bytes = 0;

  void* take(size_t size) {
    std::lock_guard lock(mutex);
    auto it = blocks.find(size);
    if (it == blocks.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    bytes -= size;
    return p;
  }
  bool keep(void* p, size_t size) {
    std::lock_guard lock(mutex);
    if (bytes + size > kMaxCachedLargeBytes) return false;
    blocks[size].push_back(p);
    bytes += size;
    return true;
  }
  void release_all() {
    std::lock_guard lock(mutex);
    for (auto& [size, list] : blocks)
      for (void* p : list) std::free(p);
    blocks.clear();
    bytes = 0;
  }
};

LargeCache& large_cache() {
  static LargeCache* cache = new LargeCache;  // never destroyed: threads may free at exit
  return *cache;
}

// Blocks of 4 MiB and more are backed by 2 MiB pages where the kernel allows it
// (transparent huge pages in "madvise" mode, Debian's default). A stream over a 64 MiB
// tensor then touches 32 pages instead of 16,384: the hardware prefetchers, which stop at
// page boundaries, keep running, and summing it reads memory about 1.8x faster on one core
// (measured on the development machine). CTDL_HUGE_PAGES=0 turns this off.
constexpr size_t kHugePage = size_t{2} << 20;
constexpr size_t kHugePageThreshold = size_t{4} << 20;

bool huge_pages_enabled() {
  static const bool enabled = [] {
    const char* env = std::getenv("CTDL_HUGE_PAGES");
    return !(env && std::strcmp(env, "0") == 0);
  }();
  return enabled;
}

void* aligned_block(size_t nbytes) {
  if (nbytes < kHugePageThreshold || !huge_pages_enabled())
    return std::aligned_alloc(kAlignment, (nbytes + kAlignment - 1) / kAlignment * kAlignment);
  size_t rounded = (nbytes + kHugePage - 1) / kHugePage * kHugePage;
  void* p = std::aligned_alloc(kHugePage, rounded);
  if (p) madvise(p, rounded, MADV_HUGEPAGE);  // advice only: failure changes nothing
  return p;
}

void* system_allocate(size_t nbytes) {
  void* p = aligned_block(nbytes);
  if (!p) {  // give the cached blocks back and try once more
    large_cache().release_all();
    p = aligned_block(nbytes);
  }
  if (!p) throw Error(str("cpu: out of memory allocating ", nbytes, " bytes"));
  return p;
}

}  // namespace

void* host_allocate(size_t nbytes) {
  if (!cache_enabled()) return system_allocate(nbytes);
  if (small(nbytes)) {
    int c = small_class(nbytes);
    std::vector<void*>& free_blocks = small_cache().blocks[c];
    if (!free_blocks.empty()) {
      void* p = free_blocks.back();
      free_blocks.pop_back();
      return p;
    }
    return system_allocate(small_class_bytes(c));
  }
  size_t size = large_class_bytes(nbytes);
  if (void* p = large_cache().take(size)) return p;
  return system_allocate(size);
}

void host_deallocate(void* ptr, size_t nbytes) {
  if (!cache_enabled()) return std::free(ptr);
  if (small(nbytes)) {
    int c = small_class(nbytes);
    std::vector<void*>& free_blocks = small_cache().blocks[c];
    if (free_blocks.size() < small_class_capacity(c)) {
      free_blocks.push_back(ptr);
      return;
    }
    return std::free(ptr);
  }
  if (!large_cache().keep(ptr, large_class_bytes(nbytes))) std::free(ptr);
}

void* CpuBackend::allocate(size_t nbytes) { return host_allocate(nbytes); }
void CpuBackend::deallocate(void* ptr, size_t nbytes) { host_deallocate(ptr, nbytes); }

void CpuBackend::copy_from_host(void* dst, const void* src, size_t nbytes) {
  std::memcpy(dst, src, nbytes);
}

void CpuBackend::copy_to_host(void* dst, const void* src, size_t nbytes) {
  std::memcpy(dst, src, nbytes);
}

}  // namespace ctdl::cpu

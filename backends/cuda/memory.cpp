// Device memory with a cache of freed blocks, and page-locked host memory.
//
// cudaMalloc and cudaFree are slow (cudaFree also synchronizes the device), and a training
// step or an ODE solve allocates the same sizes again and again. Freed blocks are kept and
// handed out again for requests of their size class on the same stream: work on one stream
// runs in order, so a block reused there cannot be overwritten while an earlier kernel
// still reads it. (PyTorch's caching allocator makes the same choice.)
//
// CUDA graphs need more: a captured graph replays with the addresses it captured, so the
// blocks it used must not go to other tensors while it lives. While a graph captures, this
// thread allocates from the graph's own pool; the pool's blocks return to the shared cache
// only when the graph is destroyed.
#include <map>
#include <mutex>
#include <set>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "ctdl/backends/cuda/cuda.h"
#include "ctdl/backends/cuda/runtime.h"
#include "ctdl/tensor/storage.h"

namespace ctdl::cuda {
namespace {

constexpr size_t kMinBlock = 512;  // bytes; also the alignment of every block

// n rounded up to one of eight steps per power of two (at most 12.5% waste), at least 512 B.
size_t size_class(size_t n) {
  if (n <= kMinBlock) return kMinBlock;
  size_t top = size_t{1} << (63 - __builtin_clzll(n));
  size_t step = std::max(top / 8, kMinBlock);
  return (n + step - 1) / step * step;
}

struct Block {
  size_t size = 0;  // the size class
  int device = 0;
  cudaStream_t stream = nullptr;
  int pool = 0;  // 0: the shared cache; otherwise a graph's capture pool
};

// Where a free block can be reused: same device, pool, stream and size class.
using FreeKey = std::tuple<int, int, cudaStream_t, size_t>;

struct Cache {
  std::mutex mutex;
  std::unordered_map<void*, Block> live;
  std::multimap<FreeKey, void*> free;
  std::unordered_map<void*, Block> free_blocks;  // the free blocks' records
  std::set<int> released_pools;
  int next_pool = 1;
  std::vector<CacheStats> stats;

  CacheStats& stats_of(int device) {
    if (static_cast<int>(stats.size()) <= device) stats.resize(device + 1);
    return stats[device];
  }

  // Gives free blocks of the shared cache on `device` back to the driver (lock held).
  void release_free_blocks(int device) {
    for (auto it = free.begin(); it != free.end();) {
      auto [dev, pool, stream, size] = it->first;
      if (dev == device && pool == 0) {
        DeviceGuard guard(device);
        cudaFree(it->second);
        free_blocks.erase(it->second);
        stats_of(device).cached_bytes -= static_cast<int64_t>(size);
        it = free.erase(it);
      } else {
        ++it;
      }
    }
  }
};

Cache& cache() {
  // Never destroyed: tensors freed during static destruction at exit still find it.
  static Cache* instance = new Cache;
  return *instance;
}

thread_local int active_pool = 0;

}  // namespace

void* cache_allocate(int device, size_t nbytes) {
  Cache& c = cache();
  const size_t size = size_class(nbytes);
  cudaStream_t stream = current_stream(device);
  std::lock_guard lock(c.mutex);
  auto it = c.free.find(FreeKey{device, active_pool, stream, size});
  if (it != c.free.end()) {
    void* ptr = it->second;
    Block block = c.free_blocks.at(ptr);
    c.free_blocks.erase(ptr);
    c.free.erase(it);
    c.live.emplace(ptr, block);
    c.stats_of(device).cached_bytes -= static_cast<int64_t>(size);
    c.stats_of(device).allocated_bytes += static_cast<int64_t>(size);
    return ptr;
  }
  DeviceGuard guard(device);
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, size);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    c.release_free_blocks(device);
    status = cudaMalloc(&ptr, size);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    const CacheStats& s = c.stats_of(device);
    fail("cuda: cannot allocate ", nbytes, " bytes on device ", device, " (", cudaGetErrorString(status),
         "; tensors hold ", s.allocated_bytes, " bytes, the cache ", s.cached_bytes, " bytes)");
  }
  c.live.emplace(ptr, Block{size, device, stream, active_pool});
  c.stats_of(device).allocated_bytes += static_cast<int64_t>(size);
  c.stats_of(device).device_allocations += 1;
  return ptr;
}

void cache_free(void* ptr) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  auto it = c.live.find(ptr);
  CTDL_CHECK(it != c.live.end(), "cuda: freeing a block the memory cache did not allocate");
  Block block = it->second;
  c.live.erase(it);
  if (block.pool != 0 && c.released_pools.count(block.pool)) block.pool = 0;
  c.stats_of(block.device).allocated_bytes -= static_cast<int64_t>(block.size);
  c.stats_of(block.device).cached_bytes += static_cast<int64_t>(block.size);
  c.free.emplace(FreeKey{block.device, block.pool, block.stream, block.size}, ptr);
  c.free_blocks.emplace(ptr, block);
}

int create_capture_pool() {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.next_pool++;
}

void set_capture_pool(int pool) { active_pool = pool; }

void release_capture_pool(int pool) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.released_pools.insert(pool);
  std::vector<std::pair<FreeKey, void*>> moved;
  for (auto it = c.free.begin(); it != c.free.end();) {
    if (std::get<1>(it->first) == pool) {
      moved.emplace_back(it->first, it->second);
      it = c.free.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& [key, ptr] : moved) {
    std::get<1>(key) = 0;
    c.free_blocks.at(ptr).pool = 0;
    c.free.emplace(key, ptr);
  }
}

CacheStats cache_stats(int device) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  return c.stats_of(device);
}

void empty_cache(int device) {
  Cache& c = cache();
  std::lock_guard lock(c.mutex);
  c.release_free_blocks(device);
}

Tensor pinned_empty(const Dims& shape, DType dtype) {
  for (int64_t s : shape) CTDL_CHECK(s >= 0, "cuda::pinned_empty: negative size in shape ", shape);
  size_t nbytes = static_cast<size_t>(numel(shape) * element_size(dtype));
  void* data = nullptr;
  if (nbytes) CTDL_CUDA_CHECK(cudaHostAlloc(&data, nbytes, cudaHostAllocPortable));
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = Storage::adopt(data, nbytes, Device::cpu(), [](void* p) { cudaFreeHost(p); });
  impl->shape = shape;
  impl->strides = contiguous_strides(shape);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

}  // namespace ctdl::cuda

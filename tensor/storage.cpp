#include "ctdl/tensor/storage.h"

#include <atomic>

#include "ctdl/backends/backend.h"

namespace ctdl {
namespace {

std::atomic<int64_t> live_allocations{0};
std::atomic<int64_t> live_bytes{0};
std::atomic<int64_t> peak_bytes{0};

void raise_peak(int64_t now) {
  int64_t peak = peak_bytes.load(std::memory_order_relaxed);
  while (now > peak && !peak_bytes.compare_exchange_weak(peak, now, std::memory_order_relaxed)) {
  }
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes, Device device) {
  void* data = nbytes ? backend_for(device).allocate(nbytes) : nullptr;
  live_allocations.fetch_add(1, std::memory_order_relaxed);
  raise_peak(live_bytes.fetch_add(static_cast<int64_t>(nbytes), std::memory_order_relaxed) +
             static_cast<int64_t>(nbytes));
  // One allocation for the Storage and its reference count (make_shared needs a public
  // constructor, hence the local subclass).
  struct Allocated : Storage {
    Allocated(void* data, size_t nbytes, Device device) : Storage(data, nbytes, device) {}
  };
  return std::make_shared<Allocated>(data, nbytes, device);
}

std::shared_ptr<Storage> Storage::adopt(void* data, size_t nbytes, Device device,
                                        void (*release)(void*)) {
  std::shared_ptr<Storage> storage = allocate(0, device);
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  storage->release_ = release;
  raise_peak(live_bytes.fetch_add(static_cast<int64_t>(nbytes), std::memory_order_relaxed) +
             static_cast<int64_t>(nbytes));
  return storage;
}

Storage::~Storage() {
  if (data_ && release_)
    release_(data_);
  else if (data_)
    backend_for(device_).deallocate(data_, nbytes_);
  live_allocations.fetch_sub(1, std::memory_order_relaxed);
  live_bytes.fetch_sub(static_cast<int64_t>(nbytes_), std::memory_order_relaxed);
}

MemoryStats memory_stats() {
  return {live_allocations.load(), live_bytes.load(), peak_bytes.load()};
}

void reset_peak_memory() { peak_bytes.store(live_bytes.load()); }

}  // namespace ctdl

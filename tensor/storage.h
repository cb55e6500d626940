// Storage: one block of device memory shared by a tensor and all its views.
//
//   auto s = Storage::allocate(1024, Device::cpu());
//   MemoryStats m = memory_stats();   // live allocations and bytes, peak bytes
//
// memory_stats() counts every live Storage, so tests can check that releasing a graph
// frees what it held and the ODE lab can report a run's peak memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "ctdl/tensor/device.h"

namespace ctdl {

class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t nbytes, Device device);
  // Memory allocated elsewhere (page-locked host memory, for instance), given back with
  // `release` instead of the device backend's deallocate.
  static std::shared_ptr<Storage> adopt(void* data, size_t nbytes, Device device,
                                        void (*release)(void*));
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  Device device() const { return device_; }
  // Bumped by every in-place write, so autograd can detect a saved tensor modified later.
  uint32_t version() const { return version_; }
  void bump_version() { ++version_; }

 protected:
  Storage(void* data, size_t nbytes, Device device) : data_(data), nbytes_(nbytes), device_(device) {}

 private:
  void* data_;
  size_t nbytes_;
  Device device_;
  uint32_t version_ = 0;
  void (*release_)(void*) = nullptr;
};

struct MemoryStats {
  int64_t live_allocations = 0;
  int64_t live_bytes = 0;
  int64_t peak_bytes = 0;  // since the last reset_peak_memory()
};

MemoryStats memory_stats();
// Sets the peak to the current live bytes, to measure the peak of what follows.
void reset_peak_memory();

}  // namespace ctdl

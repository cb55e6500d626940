// Where a tensor's memory lives.
//
//   Tensor x = zeros({3}, DType::Float32, Device::cpu());
//   Tensor y = x.to(Device::cuda(0));   // needs a build with CTDL_CUDA and a GPU
#pragma once

#include <cstdint>
#include <ostream>

namespace ctdl {

enum class DeviceType : uint8_t { CPU, CUDA };

struct Device {
  DeviceType type = DeviceType::CPU;
  int index = 0;

  static constexpr Device cpu() { return {DeviceType::CPU, 0}; }
  static constexpr Device cuda(int index = 0) { return {DeviceType::CUDA, index}; }
  bool is_cpu() const { return type == DeviceType::CPU; }
  bool is_cuda() const { return type == DeviceType::CUDA; }
  friend bool operator==(Device a, Device b) { return a.type == b.type && a.index == b.index; }
  friend bool operator!=(Device a, Device b) { return !(a == b); }
};

// Whether this build and this machine can use `device` (CUDA needs CTDL_CUDA and a GPU).
bool device_available(Device device);

inline std::ostream& operator<<(std::ostream& out, Device d) {
  if (d.is_cpu()) return out << "cpu";
  return out << "cuda:" << d.index;
}

}  // namespace ctdl

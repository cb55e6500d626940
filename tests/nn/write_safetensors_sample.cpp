// Writes a .safetensors file whose values follow formulas that tests/nn/read_safetensors.py
// recomputes on its own, so the Python standard library alone checks what ctdl wrote.
#include <cmath>
#include <iostream>

#include "ctdl/ctdl.h"
#include "ctdl/nn/io/safetensors.h"

using namespace ctdl;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: write_safetensors_sample OUT.safetensors\n";
    return 2;
  }
  std::vector<double> f32, f64, scalars;
  for (int i = 0; i < 12; ++i) f32.push_back(std::sin(i));
  for (int i = 0; i < 12; ++i) f64.push_back(std::exp(-i / 7.0));
  std::vector<int64_t> i64;
  for (int64_t i = 0; i < 7; ++i) i64.push_back(i % 2 ? i * i - 50 : (int64_t(1) << 40) + i);
  std::vector<bool> flags;
  for (int i = 0; i < 5; ++i) flags.push_back(i % 3 == 0);
  nn::NamedTensors tensors = {
      {"f32", tensor(f32, {3, 4}, {.dtype = DType::Float32})},
      // Stored from a transposed (non-contiguous) view:
      // element (a, b, c) = exp(-(6a + 3c + b) / 7).
      {"f64", tensor(f64, {2, 2, 3}, {.dtype = DType::Float64}).transpose(1, 2)},
      {"i64", tensor(i64, {7})},
      {"bool", tensor(flags, {5})},
      {"scalar", scalar_tensor(M_PI, {.dtype = DType::Float64})},
      {"empty", zeros({0, 3})},
  };
  nn::save_safetensors(argv[1], tensors, {{"epoch", "7"}, {"writer", "ctdl"}});
  return 0;
}

// Random numbers: Philox4x32-10, a counter-based generator.
//
//   manual_seed(42);
//   Tensor a = randn({1000});           // the same numbers on every run, any thread count
//   Generator g(7);
//   Tensor b = rand({3}, {}, &g);       // an explicit stream
//
// Element i of a random tensor is a pure function of (seed, offset + i): kernels may fill
// elements in any order or on any device (the CUDA backend uses the same functions) and
// still produce the same stream. Each call advances the generator's offset by the number
// of elements it drew.
#pragma once

#include <cmath>
#include <cstdint>
#include <mutex>

#ifdef __CUDACC__
#define CTDL_HOST_DEVICE __host__ __device__
#else
#define CTDL_HOST_DEVICE
#endif

namespace ctdl {

namespace philox {

struct Block {
  uint32_t w[4];
};

CTDL_HOST_DEVICE inline uint32_t mulhilo(uint32_t a, uint32_t b, uint32_t* hi) {
  uint64_t product = static_cast<uint64_t>(a) * b;
  *hi = static_cast<uint32_t>(product >> 32);
  return static_cast<uint32_t>(product);
}

// Philox4x32 with 10 rounds (Salmon et al., SC 2011) on counter `n` under key `seed`.
CTDL_HOST_DEVICE inline Block generate(uint64_t seed, uint64_t n) {
  uint32_t c0 = static_cast<uint32_t>(n), c1 = static_cast<uint32_t>(n >> 32), c2 = 0, c3 = 0;
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint32_t hi0, hi1;
    uint32_t lo0 = mulhilo(0xD2511F53u, c0, &hi0);
    uint32_t lo1 = mulhilo(0xCD9E8D57u, c2, &hi1);
    uint32_t n0 = hi1 ^ c1 ^ k0, n1 = lo1, n2 = hi0 ^ c3 ^ k1, n3 = lo0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// A double in [0, 1) from 53 random bits.
CTDL_HOST_DEVICE inline double unit_double(uint32_t hi, uint32_t lo) {
  uint64_t bits = (static_cast<uint64_t>(hi) << 21) ^ (lo >> 11);
  return static_cast<double>(bits) * (1.0 / 9007199254740992.0);
}

CTDL_HOST_DEVICE inline double uniform(uint64_t seed, uint64_t n) {
  Block b = generate(seed, n);
  return unit_double(b.w[0], b.w[1]);
}

// Box-Muller on the two uniforms of one block.
CTDL_HOST_DEVICE inline double normal(uint64_t seed, uint64_t n) {
  Block b = generate(seed, n);
  double u1 = 1.0 - unit_double(b.w[0], b.w[1]);  // in (0, 1]: log is finite
  double u2 = unit_double(b.w[2], b.w[3]);
  return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

CTDL_HOST_DEVICE inline int64_t integer(uint64_t seed, uint64_t n, int64_t low, int64_t high) {
  Block b = generate(seed, n);
  uint64_t bits = (static_cast<uint64_t>(b.w[0]) << 32) | b.w[1];
  return low + static_cast<int64_t>(bits % static_cast<uint64_t>(high - low));
}

}  // namespace philox

class Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  void manual_seed(uint64_t seed);
  uint64_t seed() const { return seed_; }
  uint64_t offset() const { return offset_; }
  void set_offset(uint64_t offset);
  // Reserves `count` numbers of the stream and returns the offset of the first.
  uint64_t reserve(uint64_t count);

 private:
  std::mutex mutex_;
  uint64_t seed_;
  uint64_t offset_ = 0;
};

// The generator used when none is given.
Generator& default_generator();
void manual_seed(uint64_t seed);

}  // namespace ctdl

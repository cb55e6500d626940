// The Philox stream: reproducible, order-independent, well distributed.
#include <array>

#include "ctdl/tensor/threads.h"
#include "helpers.h"

using namespace ctdl;

TEST_CASE("a seed reproduces the same numbers", "[random]") {
  manual_seed(123);
  Tensor a = randn({100});
  manual_seed(123);
  Tensor b = randn({100});
  CHECK(a.to_vector<double>() == b.to_vector<double>());
  Tensor c = randn({100});
  CHECK(a.to_vector<double>() != c.to_vector<double>());
}

TEST_CASE("element i depends only on (seed, offset + i)", "[random]") {
  Generator whole(9), parts(9);
  std::vector<double> all = rand({10}, {.dtype = DType::Float64}, &whole).to_vector<double>();
  std::vector<double> first = rand({4}, {.dtype = DType::Float64}, &parts).to_vector<double>();
  std::vector<double> rest = rand({6}, {.dtype = DType::Float64}, &parts).to_vector<double>();
  first.insert(first.end(), rest.begin(), rest.end());
  CHECK(all == first);
  Generator skip(9);
  skip.set_offset(4);
  CHECK(rand({6}, {.dtype = DType::Float64}, &skip).to_vector<double>() == rest);
}

TEST_CASE("float32 and float64 draw the same values up to rounding", "[random]") {
  Generator g1(5), g2(5);
  Tensor a = randn({50}, {.dtype = DType::Float32}, &g1),
         b = randn({50}, {.dtype = DType::Float64}, &g2);
  CHECK(ctdl::testing::max_abs_diff(a.to(DType::Float64), b) < 1e-6);
}

TEST_CASE("moments of the distributions", "[random]") {
  Generator g(77);
  Tensor u = rand({200000}, {.dtype = DType::Float64}, &g);
  CHECK(u.mean().item() == Approx(0.5).margin(0.005));
  CHECK(var(u).item() == Approx(1.0 / 12).margin(0.002));
  CHECK(amin(u).item() >= 0.0);
  CHECK(amax(u).item() < 1.0);
  Tensor n = randn({200000}, {.dtype = DType::Float64}, &g);
  CHECK(n.mean().item() == Approx(0.0).margin(0.01));
  CHECK(var(n).item() == Approx(1.0).margin(0.01));
  CHECK((pow(n, 4.0)).mean().item() == Approx(3.0).margin(0.06));  // kurtosis of a Gaussian
}

namespace {

// Philox4x32-10 written out from the paper (Salmon et al., SC 2011), apart from
// tensor/random.h, and held to Random123's published known-answer vectors below.
std::array<uint32_t, 4> philox_reference(std::array<uint32_t, 4> c, std::array<uint32_t, 2> k) {
  for (int round = 0; round < 10; ++round) {
    if (round > 0) k = {k[0] + 0x9E3779B9u, k[1] + 0xBB67AE85u};
    uint64_t p0 = uint64_t{0xD2511F53u} * c[0], p1 = uint64_t{0xCD9E8D57u} * c[2];
    c = {static_cast<uint32_t>(p1 >> 32) ^ c[1] ^ k[0], static_cast<uint32_t>(p1),
         static_cast<uint32_t>(p0 >> 32) ^ c[3] ^ k[1], static_cast<uint32_t>(p0)};
  }
  return c;
}

std::array<uint32_t, 4> words(const philox::Block& b) { return {b.w[0], b.w[1], b.w[2], b.w[3]}; }

}  // namespace

TEST_CASE("Philox4x32-10 reproduces Random123's known-answer vectors", "[random]") {
  using W = std::array<uint32_t, 4>;
  CHECK(philox_reference({0, 0, 0, 0}, {0, 0}) ==
        W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  CHECK(philox_reference({0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
                         {0xffffffff, 0xffffffff}) ==
        W{0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd});
  CHECK(philox_reference({0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
                         {0xa4093822, 0x299f31d0}) ==
        W{0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1});
  // ctdl's generator: counter (n low, n high, 0, 0) under key (seed low, seed high).
  CHECK(words(philox::generate(0, 0)) == W{0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8});
  for (auto [seed, n] :
       std::vector<std::pair<uint64_t, uint64_t>>{{1, 0},
                                                  {0, 1},
                                                  {42, 123456789},
                                                  {0xa4093822299f31d0ull, 0x85a308d3243f6a88ull},
                                                  {~0ull, ~0ull}}) {
    INFO("seed " << seed << ", counter " << n);
    W expected = philox_reference({static_cast<uint32_t>(n), static_cast<uint32_t>(n >> 32), 0, 0},
                                  {static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32)});
    CHECK(words(philox::generate(seed, n)) == expected);
  }
}

TEST_CASE("random tensors are the Philox stream, whatever the thread count", "[random]") {
  const int64_t n = 1 << 18;  // large enough for any parallel kernel to split
  const uint64_t seed = 2024, offset = 77;
  int threads_before = num_threads();
  for (int threads : {1, 2, 4}) {
    set_num_threads(threads);
    INFO(threads << " threads");
    Generator g(seed);
    g.set_offset(offset);
    std::vector<double> u = rand({n}, {.dtype = DType::Float64}, &g).to_vector<double>();
    std::vector<double> z = randn({n}, {.dtype = DType::Float64}, &g).to_vector<double>();
    std::vector<int64_t> k = randint(-5, 9, {n}, {}, &g).to_vector<int64_t>();
    CHECK(g.offset() == offset + 3 * n);
    int64_t mismatches = 0;
    for (int64_t i = 0; i < n; ++i) {
      mismatches += u[i] != philox::uniform(seed, offset + i);
      mismatches += z[i] != philox::normal(seed, offset + n + i);
      mismatches += k[i] != philox::integer(seed, offset + 2 * n + i, -5, 9);
    }
    CHECK(mismatches == 0);
  }
  set_num_threads(threads_before);
}

TEST_CASE("randint covers its range evenly", "[random]") {
  Generator g(11);
  std::vector<int64_t> k = randint(-3, 4, {70000}, {}, &g).to_vector<int64_t>();
  std::vector<int64_t> counts(7, 0);
  for (int64_t v : k) {
    REQUIRE(v >= -3);
    REQUIRE(v < 4);
    ++counts[v + 3];
  }
  for (int64_t c : counts) CHECK(std::abs(c - 10000) < 400);  // 4 standard deviations
}

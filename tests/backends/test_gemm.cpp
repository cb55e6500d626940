// ctdl's GEMM (backends/cpu/gemm) against a naive product in double: odd shapes, tile edges,
// every transpose combination, strided and broadcast operands, float32 and float64, at
// every SIMD level this processor has, and bit-identical results on 1 and 2 threads.
#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "ctdl/backends/cpu/gemm/gemm.h"
#include "ctdl/backends/cpu/simd/arch.h"
#include "ctdl/ctdl.h"
#include "ctdl/tensor/threads.h"

using namespace ctdl;
namespace gemm = ctdl::cpu::gemm;

namespace {

using Mkn = std::array<int64_t, 3>;  // m, k, n

// Shapes in every regime: degenerate, tall, wide, K = 1, around the tiles of every level
// (MR 6 or 14; NR 4, 8, 16 or 32; KC 256), several KC slices, threaded tiles, more columns
// than one NC block (4096) and more rows than one packed block of A, and the neural ODE's
// products.
const std::vector<Mkn> kShapes = {
    {1, 1, 1},     {17, 33, 65},  {1000, 3, 5},    {3, 5, 1000},   {64, 1, 64},    {5, 1, 3},
    {2, 300, 2},   {13, 7, 31},   {14, 16, 32},    {15, 9, 33},    {6, 20, 8},     {7, 20, 9},
    {29, 257, 47}, {85, 256, 97}, {150, 530, 170}, {40, 40, 4200}, {6000, 20, 30}, {512, 2, 64},
    {512, 64, 2},  {2, 512, 64},  {64, 512, 2},
    // A convolution's products (cnn_step's second layer): strips of 4 and 3 vectors, a
    // one-vector tail, and row blocks of 6, 8 and 16 with remainders.
    {64, 288, 196}, {288, 64, 196}, {35, 9, 100},
};

const std::vector<DType> kTypes = {DType::Float32, DType::Float64};

// Sets each SIMD level the processor supports in turn; restores the level it found.
struct SimdLevels {
  cpu::SimdLevel saved = cpu::simd_level();
  ~SimdLevels() { cpu::set_simd_level(saved); }
  template <class F>
  void each(F&& fn) {
    for (cpu::SimdLevel level :
         {cpu::SimdLevel::Sse2, cpu::SimdLevel::Avx2, cpu::SimdLevel::Avx512}) {
      if (level > cpu::best_simd_level()) continue;
      cpu::set_simd_level(level);
      INFO("SIMD level " << cpu::simd_level_name(level));
      fn();
    }
  }
};

struct ThreadCount {
  int saved = num_threads();
  ~ThreadCount() { set_num_threads(saved); }
};

Tensor random(const Dims& shape, DType dtype, Generator& gen) {
  return randn(shape, {.dtype = dtype}, &gen);
}

// The product of two matrices (any strides) in double, with the rounding bound of each
// element's k-term sum: 2 (k + 2) eps sum_p |a_ip b_pj|. A missing or doubled term is far
// outside it.
struct Reference {
  int64_t m, k, n;
  std::vector<double> value, bound;

  Reference(const Tensor& a, const Tensor& b)
      : m(a.shape()[0]), k(a.shape()[1]), n(b.shape()[1]), value(m * n), bound(m * n) {
    const std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
    const double eps = a.dtype() == DType::Float32 ? 0x1p-24 : 0x1p-53;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double sum = 0, magnitude = 0;
        for (int64_t p = 0; p < k; ++p) {
          sum += av[i * k + p] * bv[p * n + j];
          magnitude += std::abs(av[i * k + p] * bv[p * n + j]);
        }
        value[i * n + j] = sum;
        bound[i * n + j] = 2 * double(k + 2) * eps * magnitude;
      }
  }

  void check(const Tensor& c) const {
    REQUIRE(c.shape() == Dims{m, n});
    const std::vector<double> cv = c.to_vector<double>();
    int64_t bad = 0;
    for (size_t i = 0; i < cv.size(); ++i) bad += !(std::abs(cv[i] - value[i]) <= bound[i]);
    INFO(m << "x" << k << " times " << k << "x" << n << ", " << dtype_name(c.dtype()));
    CHECK(bad == 0);
  }
};

void check_product(const Tensor& c, const Tensor& a, const Tensor& b) { Reference(a, b).check(c); }

template <class T>
gemm::MatrixRef<const T> ref_of(const Tensor& t) {
  return {t.data<T>(), t.strides()[0], t.strides()[1]};
}

gemm::Path planned(const Tensor& a, const Tensor& b) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  if (a.dtype() == DType::Float32)
    return gemm::planned_path<float>(m, n, k, ref_of<float>(a), ref_of<float>(b), {nullptr, n, 1});
  return gemm::planned_path<double>(m, n, k, ref_of<double>(a), ref_of<double>(b), {nullptr, n, 1});
}

// c = a · b along `path`, into a fresh row-major c.
Tensor product_along(gemm::Path path, const Tensor& a, const Tensor& b) {
  const int64_t m = a.shape()[0], k = a.shape()[1], n = b.shape()[1];
  Tensor c = zeros({m, n}, {.dtype = a.dtype()});
  if (a.dtype() == DType::Float32)
    gemm::gemm_along<float>(path, m, n, k, ref_of<float>(a), ref_of<float>(b),
                            {c.data<float>(), n, 1});
  else
    gemm::gemm_along<double>(path, m, n, k, ref_of<double>(a), ref_of<double>(b),
                             {c.data<double>(), n, 1});
  return c;
}

const gemm::Path kPaths[] = {gemm::Path::Packed, gemm::Path::Rows, gemm::Path::Cols,
                             gemm::Path::Dots};

// a (m x k) and b (k x n), each stored transposed (a view of its transpose) when asked.
std::pair<Tensor, Tensor> operands(Mkn s, bool ta, bool tb, DType dtype, Generator& gen) {
  auto [m, k, n] = s;
  Tensor a = ta ? random({k, m}, dtype, gen).mT() : random({m, k}, dtype, gen);
  Tensor b = tb ? random({n, k}, dtype, gen).mT() : random({k, n}, dtype, gen);
  return {a, b};
}

}  // namespace

TEST_CASE("every gemm path matches a naive product, for odd shapes and all transposes") {
  Generator gen(1);
  SimdLevels levels;
  for (DType dtype : kTypes)
    for (Mkn s : kShapes)
      for (bool ta : {false, true})
        for (bool tb : {false, true}) {
          auto [a, b] = operands(s, ta, tb, dtype, gen);
          const Reference reference(a, b);
          INFO("a transposed: " << ta << ", b transposed: " << tb);
          levels.each([&] {
            reference.check(matmul(a, b));
            for (gemm::Path path : kPaths) {
              INFO("path " << int(path));
              reference.check(product_along(path, a, b));
            }
          });
        }
}

TEST_CASE("gemm reads strided views without copies beforehand") {
  Generator gen(3);
  SimdLevels levels;
  levels.each([&] {
    for (DType dtype : kTypes)
      for (Mkn s : {Mkn{9, 7, 5}, Mkn{70, 300, 90}, Mkn{300, 3, 40}, Mkn{300, 40, 3}}) {
        auto [m, k, n] = s;
        // Every other row and every third column; b also transposed.
        Tensor a = random({2 * m + 3, 3 * k + 1}, dtype, gen)
                       .slice(0, 1, 2 * m + 1, 2)
                       .slice(1, 0, 3 * k, 3);
        Tensor b =
            random({2 * k, 3 * n + 2}, dtype, gen).slice(0, 0, 2 * k, 2).slice(1, 2, 3 * n + 2, 3);
        Tensor bt =
            random({3 * n, 2 * k}, dtype, gen).slice(0, 0, 3 * n, 3).slice(1, 1, 2 * k, 2).mT();
        REQUIRE_FALSE(a.is_contiguous());
        check_product(matmul(a, b), a, b);
        check_product(matmul(a, bt), a, bt);
        check_product(matmul(a.mT().contiguous().mT(), bt), a, bt);
      }
  });
}

TEST_CASE("gemm broadcasts batch dimensions") {
  Generator gen(4);
  SimdLevels levels;
  levels.each([&] {
    for (DType dtype : kTypes)
      for (Mkn s : {Mkn{7, 5, 9}, Mkn{40, 30, 50}, Mkn{64, 2, 64}}) {
        auto [m, k, n] = s;
        Tensor a = random({3, 1, m, k}, dtype, gen), b = random({1, 4, k, n}, dtype, gen);
        Tensor c = matmul(a, b);
        REQUIRE(c.shape() == Dims{3, 4, m, n});
        for (int64_t i = 0; i < 3; ++i)
          for (int64_t j = 0; j < 4; ++j)
            check_product(c.select(0, i).select(0, j), a.select(0, i).select(0, 0),
                          b.select(0, 0).select(0, j));
        // One matrix for every batch entry (stride 0), against a transposed batch.
        Tensor shared = random({m, k}, dtype, gen).expand({5, m, k});
        Tensor batch = random({5, n, k}, dtype, gen).mT();
        Tensor d = matmul(shared, batch);
        for (int64_t i = 0; i < 5; ++i)
          check_product(d.select(0, i), shared.select(0, i), batch.select(0, i));
      }
  });
}

TEST_CASE("gemm writes strided outputs and reads zero strides") {
  // Through the kernel interface: the tensor ops always hand gemm a fresh contiguous output.
  SimdLevels levels;
  levels.each([&] {
    for (Mkn s : {Mkn{37, 19, 41}, Mkn{300, 2, 64}, Mkn{300, 64, 2}, Mkn{3, 0, 4}}) {
      auto [m, k, n] = s;
      std::vector<double> a(k), b(k * n), c(m * n, -1.0);
      for (int64_t p = 0; p < k; ++p) a[p] = 0.5 + p;
      for (int64_t i = 0; i < k * n; ++i) b[i] = std::sin(double(i));
      // a has row stride 0 (every row the same); c is column-major.
      gemm::gemm<double>(m, n, k, {a.data(), 0, 1}, {b.data(), n, 1}, {c.data(), 1, m});
      int64_t bad = 0;
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
          double sum = 0;
          for (int64_t p = 0; p < k; ++p) sum += a[p] * b[p * n + j];
          if (std::abs(c[j * m + i] - sum) > 1e-12 * (1 + std::abs(sum))) ++bad;
        }
      INFO(m << "x" << k << "x" << n);
      CHECK(bad == 0);
    }
  });
}

TEST_CASE("gemm gives bit-identical results on 1 and 2 threads") {
  Generator gen(5);
  ThreadCount restore;
  SimdLevels levels;
  levels.each([&] {
    for (DType dtype : kTypes) {
      // Shapes large enough to be split: the packed path, each small path, a batch of
      // small products run side by side.
      std::vector<std::pair<Tensor, Tensor>> cases;
      cases.push_back(operands({300, 257, 520}, false, false, dtype, gen));
      cases.push_back(operands({300, 257, 520}, true, true, dtype, gen));
      cases.push_back(operands({8192, 4, 64}, false, false, dtype, gen));
      cases.push_back(operands({10000, 64, 2}, false, true, dtype, gen));
      cases.push_back(operands({64, 10000, 2}, true, false, dtype, gen));
      cases.push_back({random({300, 16, 8}, dtype, gen), random({300, 8, 16}, dtype, gen)});
      for (const auto& [a, b] : cases) {
        set_num_threads(1);
        std::vector<double> one = matmul(a, b).to_vector<double>();
        set_num_threads(2);
        std::vector<double> two = matmul(a, b).to_vector<double>();
        INFO("shapes " << a.shape() << " and " << b.shape() << ", " << dtype_name(dtype));
        CHECK(one == two);
      }
    }
  });
}

TEST_CASE("gemm takes every path, and the neural ODE's products skip packing") {
  Generator gen(6);
  SimdLevels levels;
  levels.each([&] {
    for (DType dtype : kTypes) {
      std::set<gemm::Path> seen;
      for (Mkn s : kShapes)
        for (bool ta : {false, true})
          for (bool tb : {false, true}) {
            auto [a, b] = operands(s, ta, tb, dtype, gen);
            seen.insert(planned(a, b));
          }
      CHECK(seen.size() == 4);
      // With 4-lane SSE2 vectors packing costs about what it saves; from AVX2 on, the
      // products of nn::Linear(2, 64) and Linear(64, 2) on a batch of 512 (x · W^T forward,
      // g · W and x^T · g backward) must take the cheap paths.
      if (cpu::simd_level() == cpu::SimdLevel::Sse2) continue;
      Tensor x2 = random({512, 2}, dtype, gen), x64 = random({512, 64}, dtype, gen);
      Tensor w1 = random({64, 2}, dtype, gen), w2 = random({2, 64}, dtype, gen);
      for (const auto& [a, b] : std::vector<std::pair<Tensor, Tensor>>{{x2, w1.mT()},
                                                                       {x64, w2.mT()},
                                                                       {x2, w2},
                                                                       {x64, w1},
                                                                       {x2.mT(), x64},
                                                                       {x64.mT(), x2}}) {
        INFO("shapes " << a.shape() << " and " << b.shape() << ", " << dtype_name(dtype));
        CHECK(planned(a, b) != gemm::Path::Packed);
      }
    }
  });
}

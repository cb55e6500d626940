// The Philox stream: reproducible, order-independent, well distributed.
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
  Tensor a = randn({50}, {.dtype = DType::Float32}, &g1), b = randn({50}, {.dtype = DType::Float64}, &g2);
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

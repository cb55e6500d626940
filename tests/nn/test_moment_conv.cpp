// nn::MomentConv2d: moments and kernels, the classical stencils it reproduces, the
// polynomials its filters differentiate exactly, and which moments its constraints train.
#include <catch2/catch.hpp>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/autograd/gradcheck.h"
#include "ctdl/nn/nn.h"

using namespace ctdl;

namespace {

const TensorOptions f64{.dtype = DType::Float64};

double max_abs_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

// x^p y^q on the grid x = x0 + dx·i, y = y0 + dy·j, as [1, 1, n, n].
Tensor monomial(int64_t p, int64_t q, int64_t n, double dx, double dy) {
  std::vector<double> v(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j)
      v[i * n + j] = std::pow(0.3 + dx * i, p) * std::pow(-0.2 + dy * j, q);
  return tensor(v, {1, 1, n, n}, f64);
}

// ∂ˣᵃ∂ʸᵇ of x^p y^q on the same grid.
Tensor monomial_derivative(int64_t p, int64_t q, int64_t a, int64_t b, int64_t n, double dx,
                           double dy) {
  if (a > p || b > q) return zeros({1, 1, n, n}, f64);
  double c = 1;
  for (int64_t i = 0; i < a; ++i) c *= p - i;
  for (int64_t j = 0; j < b; ++j) c *= q - j;
  return monomial(p - a, q - b, n, dx, dy) * c;
}

// The interior where a zero-padded k×k filter sees only grid values.
Tensor interior(const Tensor& field, int64_t k) {
  int64_t n = field.size(-1), p = k / 2;
  return field.narrow(-2, p, n - 2 * p).narrow(-1, p, n - 2 * p);
}

}  // namespace

TEST_CASE("moment matrix: definition and round trip with kernels", "[nn][moment_conv]") {
  std::vector<double> v3 = nn::moment_matrix_1d(3).to_vector<double>();
  std::vector<double> want = {1, 1, 1, -1, 0, 1, 0.5, 0, 0.5};
  for (size_t i = 0; i < want.size(); ++i) CHECK(v3[i] == Approx(want[i]).margin(1e-15));

  manual_seed(3);
  for (int64_t k : {3, 5, 7}) {
    Tensor q = randn({4, k, k}, f64);
    Tensor m = nn::kernel_to_moments(q);
    CHECK(max_abs_diff(nn::moments_to_kernel(m), q) < 1e-11);
    CHECK(max_abs_diff(nn::kernel_to_moments(nn::moments_to_kernel(m)), m) < 1e-11);
  }
  // The moment of a single tap at offset (a, b) is a^i b^j / (i! j!).
  Tensor tap = zeros({5, 5}, f64);
  tap.select(0, 4).select(0, 1).fill_(1.0);  // offset (2, −1)
  std::vector<double> mt = nn::kernel_to_moments(tap).to_vector<double>();
  CHECK(mt[2 * 5 + 1] == Approx(2.0 * 2.0 / 2.0 * -1.0));
  CHECK(mt[3 * 5 + 2] == Approx(8.0 / 6.0 * 1.0 / 2.0));
}

TEST_CASE("fd_stencil_1d gives the classical central stencils", "[nn][moment_conv]") {
  auto check = [](std::vector<double> got, std::vector<double> want) {
    REQUIRE(got.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) CHECK(got[i] == Approx(want[i]).margin(1e-13));
  };
  check(nn::fd_stencil_1d(0, 5), {0, 0, 1, 0, 0});
  check(nn::fd_stencil_1d(1, 3), {-0.5, 0, 0.5});
  check(nn::fd_stencil_1d(2, 3), {1, -2, 1});
  check(nn::fd_stencil_1d(1, 5), {1 / 12.0, -8 / 12.0, 0, 8 / 12.0, -1 / 12.0});
  check(nn::fd_stencil_1d(2, 5), {-1 / 12.0, 16 / 12.0, -30 / 12.0, 16 / 12.0, -1 / 12.0});
  check(nn::fd_stencil_1d(4, 5), {1, -4, 6, -4, 1});
  CHECK_THROWS_WITH(nn::fd_stencil_1d(5, 5), Catch::Contains("more than 5 points"));
}

TEST_CASE("a frozen filter bank is the tensor product of classical stencils", "[nn][moment_conv]") {
  const double dx = 0.1, dy = 0.25;
  nn::MomentConv2d d(nn::orders_up_to(2),
                     {.dx = dx, .dy = dy, .constraint = nn::MomentConstraint::Frozen});
  REQUIRE(d.size() == 6);
  Tensor k = d.kernels();
  REQUIRE(k.shape() == Dims{6, 5, 5});
  for (int64_t f = 0; f < d.size(); ++f) {
    auto [i, j] = d.orders()[f];
    INFO("order " << i << "," << j);
    Tensor sx = tensor(nn::fd_stencil_1d(i, 5), {5, 1}, f64);
    Tensor sy = tensor(nn::fd_stencil_1d(j, 5), {1, 5}, f64);
    Tensor want = sx * sy / (std::pow(dx, i) * std::pow(dy, j));
    CHECK(max_abs_diff(k.select(0, f), want) < 1e-9);
  }
}

TEST_CASE("a frozen 5x5 filter differentiates x^p y^q exactly for p, q <= 4", "[nn][moment_conv]") {
  const int64_t n = 12;
  const double dx = 0.1, dy = 0.07;
  nn::MomentConv2d d(nn::orders_up_to(4), {.dx = dx,
                                           .dy = dy,
                                           .constraint = nn::MomentConstraint::Frozen,
                                           .padding_mode = PadMode::Constant});
  for (int64_t p = 0; p <= 4; ++p)
    for (int64_t q = 0; q <= 4; ++q) {
      Tensor out = d(monomial(p, q, n, dx, dy));  // [1, 1, 15, n, n]
      for (int64_t f = 0; f < d.size(); ++f) {
        auto [a, b] = d.orders()[f];
        INFO("x^" << p << " y^" << q << ", derivative " << a << "," << b);
        Tensor want = monomial_derivative(p, q, a, b, n, dx, dy);
        Tensor got = out.select(2, f);
        double scale = 1.0 + interior(want, 5).abs().max().item<double>();
        CHECK(max_abs_diff(interior(got, 5), interior(want, 5)) < 1e-7 * scale);
      }
    }
  // Degree 5 in x is beyond a 5-point stencil: ∂x of x^5 is not exact.
  Tensor out = d(monomial(5, 0, n, dx, dy)).select(2, 1);
  CHECK(max_abs_diff(interior(out, 5), interior(monomial_derivative(5, 0, 1, 0, n, dx, dy), 5)) >
        1e-4);
}

TEST_CASE(
    "a moment-constrained filter is exact below order |alpha| + accuracy, whatever it "
    "learned",
    "[nn][moment_conv]") {
  const int64_t n = 12;
  const double dx = 0.1, dy = 0.1;
  for (int64_t accuracy : {1, 2}) {
    nn::MomentConv2d d(
        nn::orders_up_to(2),
        {.dx = dx, .dy = dy, .accuracy = accuracy, .padding_mode = PadMode::Constant});
    manual_seed(7);
    {
      autograd::NoGradGuard no_grad;
      d.moments.add_(randn(d.moments.shape(), f64));  // fixed entries too: they are not used
    }
    for (int64_t f = 0; f < d.size(); ++f) {
      auto [a, b] = d.orders()[f];
      for (int64_t p = 0; p <= 4; ++p)
        for (int64_t q = 0; p + q <= 4; ++q) {
          Tensor got = interior(d(monomial(p, q, n, dx, dy)).select(2, f), 5);
          Tensor want = interior(monomial_derivative(p, q, a, b, n, dx, dy), 5);
          double err = max_abs_diff(got, want);
          INFO("accuracy " << accuracy << ", derivative " << a << "," << b << " of x^" << p << " y^"
                           << q << ": error " << err);
          if (p + q < a + b + accuracy)
            CHECK(err < 1e-8 * (1 + want.abs().max().item<double>()));
          else if (p + q == a + b + accuracy)
            CHECK(err > 1e-6);  // a random free moment of this order shows
        }
    }
  }
}

TEST_CASE("moment constraints decide which moments get gradients", "[nn][moment_conv]") {
  manual_seed(1);
  Tensor u = randn({2, 1, 8, 8}, f64), w = randn({2, 1, 2, 8, 8}, f64);
  auto grad_of = [&](nn::MomentConstraint c) {
    nn::MomentConv2d d({{1, 0}, {0, 2}}, {.kernel_size = 3, .constraint = c});
    // A random weighting: a symmetric loss such as Σ d(u)² has exactly zero gradient for
    // the moments of the wrong parity.
    (d(u) * w).sum().backward();
    return d.moments.grad();
  };
  // Moment: for ∂x (|α| = 1) orders 0 and 1 are fixed; for ∂yy orders 0..2.
  std::vector<double> g = grad_of(nn::MomentConstraint::Moment).to_vector<double>();
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j) {
      INFO("moment " << i << "," << j);
      CHECK((g[i * 3 + j] != 0.0) == (i + j >= 2));
      CHECK((g[9 + i * 3 + j] != 0.0) == (i + j >= 3));
    }
  Tensor frozen = grad_of(nn::MomentConstraint::Frozen);
  CHECK(frozen.abs().max().item<double>() == 0.0);
  Tensor free = grad_of(nn::MomentConstraint::Free);
  CHECK(free.abs().min().item<double>() > 0.0);
}

TEST_CASE("MomentConv2d: periodic padding, channels, gradcheck and set_kernel",
          "[nn][moment_conv]") {
  const int64_t n = 16;
  const double h = 2 * M_PI / n;
  nn::MomentConv2d d(nn::orders_up_to(1), {.dx = h, .dy = h});
  // sin(x) on a periodic grid: the 4th-order stencil is close to cos(x) everywhere.
  std::vector<double> s(2 * n * n), c(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      s[i * n + j] = std::sin(i * h);
      s[n * n + i * n + j] = std::sin(j * h);
      c[i * n + j] = std::cos(i * h);
    }
  Tensor out = d(tensor(s, {1, 2, n, n}, f64));
  REQUIRE(out.shape() == Dims{1, 2, 3, n, n});
  CHECK(max_abs_diff(out.select(1, 0).select(1, 1), tensor(c, {1, n, n}, f64)) < 2e-3);
  CHECK(out.select(1, 0).select(1, 2).abs().max().item<double>() < 1e-12);  // ∂y sin(x) = 0
  CHECK(max_abs_diff(out.select(1, 1).select(1, 2), tensor(c, {1, n, n}, f64).mT()) < 2e-3);

  manual_seed(2);
  Tensor u = randn({1, 1, 6, 6}, f64);
  nn::MomentConv2d small(nn::orders_up_to(2), {.kernel_size = 3});
  Tensor start = randn(small.moments.shape(), f64).requires_grad_();
  auto g = [&](const TensorList& m) {
    Tensor k = nn::moments_to_kernel(m[0] * small.free_mask) * 0.5;
    return TensorList{small.convolve(u, k)};
  };
  CHECK(autograd::gradcheck(g, {start}).ok);

  // An upwind (one-sided) first-derivative stencil keeps moments 0 and 1 of ∂x.
  nn::MomentConv2d first({{1, 0}}, {.kernel_size = 5});
  Tensor upwind = zeros({5, 5}, f64);
  std::vector<double> w = {0, 0, -1.5, 2, -0.5};
  for (int64_t a = 0; a < 5; ++a) upwind.select(0, a).select(0, 2).fill_(w[a]);
  first.set_kernel(0, upwind);
  CHECK(max_abs_diff(first.kernels().select(0, 0), upwind) < 1e-12);
  CHECK_THROWS_WITH(first.set_kernel(0, upwind * 2.0), Catch::Contains("moment {1,0}"));
}

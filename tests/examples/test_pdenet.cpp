// examples/pdenet: the FFT, the data generator (exact solutions, convergence on refinement,
// sampling and noise), periodic interpolation, SymNet's expansion, upwinding, and tiny
// PDE-Net and PDE-Net 2.0 trainings that must lower their loss.
#include <catch2/catch.hpp>
#include <cmath>
#include <numbers>

#include "ctdl/examples/pdenet/common.h"
#include "ctdl/examples/pdenet/data.h"
#include "ctdl/examples/pdenet/fft.h"
#include "ctdl/examples/pdenet/pdenet1_model.h"
#include "ctdl/examples/pdenet/pdenet2_model.h"
#include "ctdl/examples/pdenet/spectral.h"
#include "ctdl/examples/pdenet/symnet.h"

using namespace ctdl;
using namespace ctdl::examples::pdenet;

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

double rel_diff(const std::vector<double>& a, const std::vector<double>& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) num += (a[i] - b[i]) * (a[i] - b[i]), den += b[i] * b[i];
  return std::sqrt(num / den);
}

std::vector<double> solve(Pde pde, int64_t modes, double max_dt, double T,
                          const std::vector<FourierSeries>& ic, int64_t channel = 0) {
  SpectralSolver s(pde, {.modes = modes, .max_dt = max_dt});
  SpectralSolver::State st = s.initial_state(ic);
  s.advance(st, T);
  return s.sample(st, channel, 24, 0.05, 0.11);
}

}  // namespace

TEST_CASE("pdenet: the radix-2 FFT matches the DFT and inverts", "[examples][pdenet]") {
  const int64_t n = 8;
  std::mt19937_64 rng(1);
  std::normal_distribution<double> normal;
  std::vector<Complex> a(n * n);
  for (Complex& v : a) v = {normal(rng), normal(rng)};
  std::vector<Complex> f = a;
  Fft2d(n).forward(f);
  for (int64_t k = 0; k < n; ++k)
    for (int64_t l = 0; l < n; ++l) {
      Complex s = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j)
          s += a[i * n + j] * std::polar(1.0, -kTwoPi * static_cast<double>(i * k + j * l) / n);
      CHECK(std::abs(f[k * n + l] - s) < 1e-10);
    }
  Fft2d(n).inverse(f);
  for (int64_t i = 0; i < n * n; ++i) CHECK(std::abs(f[i] - a[i]) < 1e-12);
  CHECK_THROWS_WITH(Fft1d(12), Catch::Contains("power of two"));
}

TEST_CASE("pdenet: the solver is exact for the heat equation and samples Fourier series",
          "[examples][pdenet]") {
  std::mt19937_64 rng(2);
  auto ic = random_initial_condition(rng, 1, {.max_frequency = 3, .amplitude = 1.5, .shift = 1});
  const Pde heat{.equation = Equation::NonlinearDiffusion, .diffusivity = 0.3, .reaction = 0.0};
  const double T = 0.4, x0 = 0.05, y0 = 0.11;
  std::vector<double> got = solve(heat, 16, 0.1, T, ic);
  // Each mode of the series decays by e^{−c|k|²T}.
  FourierSeries decayed = ic[0];
  const int64_t K = 3, w = 2 * K + 1;
  for (int64_t kx = -K; kx <= K; ++kx)
    for (int64_t ky = -K; ky <= K; ++ky) {
      double f = std::exp(-0.3 * (kx * kx + ky * ky) * T);
      decayed.cos_coeff[(kx + K) * w + ky + K] *= f;
      decayed.sin_coeff[(kx + K) * w + ky + K] *= f;
    }
  std::vector<double> want(24 * 24);
  for (int64_t i = 0; i < 24; ++i)
    for (int64_t j = 0; j < 24; ++j)
      want[i * 24 + j] = decayed.value(x0 + kTwoPi * i / 24, y0 + kTwoPi * j / 24);
  CHECK(rel_diff(got, want) < 1e-12);
  // The initial condition has the amplitude asked for (max |u − constant| on a fine grid).
  double peak = 0;
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 64; ++j)
      peak =
          std::max(peak, std::abs(ic[0].value(kTwoPi * i / 64, kTwoPi * j / 64) - ic[0].constant));
  CHECK(peak == Approx(1.5).epsilon(0.02));
  CHECK(std::abs(ic[0].constant) <= 1.0);
}

TEST_CASE("pdenet: the generator converges as the grid and the time step are refined",
          "[examples][pdenet]") {
  std::mt19937_64 rng(3);
  SECTION("convection-diffusion with the paper's variable coefficients") {
    auto ic = random_initial_condition(rng, 1, {.max_frequency = 5});
    const Pde pde{.equation = Equation::ConvectionDiffusion};
    std::vector<double> ref = solve(pde, 128, 5e-3, 0.3, ic);
    double e32 = rel_diff(solve(pde, 32, 5e-3, 0.3, ic), ref);
    double e64 = rel_diff(solve(pde, 64, 5e-3, 0.3, ic), ref);
    INFO("errors against 128 modes: 32 modes " << e32 << ", 64 modes " << e64);
    CHECK(e64 < 1e-4);
    CHECK(e64 < e32 / 20);
  }
  SECTION("Burgers") {
    auto ic = random_initial_condition(rng, 2, {.max_frequency = 3, .amplitude = 1, .shift = 1});
    const Pde pde{.equation = Equation::Burgers, .viscosity = 0.05};
    std::vector<double> ref = solve(pde, 128, 5e-3, 0.3, ic, 1);
    double e32 = rel_diff(solve(pde, 32, 5e-3, 0.3, ic, 1), ref);
    double e64 = rel_diff(solve(pde, 64, 5e-3, 0.3, ic, 1), ref);
    INFO("errors against 128 modes: 32 modes " << e32 << ", 64 modes " << e64);
    CHECK(e64 < 1e-3);
    CHECK(e64 < e32 / 10);
  }
  SECTION("fourth order in time") {
    auto ic = random_initial_condition(rng, 1, {.max_frequency = 4, .amplitude = 3});
    const Pde pde{.equation = Equation::NonlinearDiffusion};
    std::vector<double> ref = solve(pde, 32, 0.0025, 0.4, ic);
    double e1 = rel_diff(solve(pde, 32, 0.04, 0.4, ic), ref);
    double e2 = rel_diff(solve(pde, 32, 0.02, 0.4, ic), ref);
    INFO("time step 0.04: " << e1 << ", 0.02: " << e2);
    CHECK(e1 / e2 > 10);  // 16 for a fourth-order method
    CHECK(e1 / e2 < 24);
  }
}

TEST_CASE("pdenet: generated batches are shifted subgrids with the asked-for noise",
          "[examples][pdenet]") {
  DataOptions o{.pde = {.equation = Equation::ConvectionDiffusion},
                .solver = {.modes = 32, .max_dt = 0.01},
                .initial = {.max_frequency = 4},
                .grid = 20,
                .zoom = 4,
                .noise = 0.05};
  Trajectories d = generate(o, 6, 2, 0.02, 11);
  REQUIRE(d.observed.shape() == Dims{6, 3, 1, 20, 20});
  REQUIRE(d.offsets.size() == 6);
  const double fine = kTwoPi / 80;
  for (const auto& off : d.offsets)
    for (double v : off) {
      double steps = v / fine;
      CHECK(std::abs(steps - std::round(steps)) < 1e-12);
      CHECK(steps >= 0);
      CHECK(steps < 4);
    }
  Tensor noise = d.observed - d.clean;
  Tensor u0 = d.clean.select(1, 0);
  double want = 0.05 * std::sqrt((u0 - u0.mean()).square().mean().item<double>());
  double got = std::sqrt(noise.square().mean().item<double>());
  CHECK(got == Approx(want).epsilon(0.15));
  // A seed fixes everything; a sample does not depend on the batch size.
  Trajectories again = generate(o, 3, 2, 0.02, 11);
  CHECK((again.observed - d.observed.narrow(0, 0, 3)).abs().max().item<double>() == 0.0);
  // A sample shifted by a fine cell is the same field on a moved grid: time 0 matches the
  // initial condition wherever the grid is.
  o.noise = 0;
  std::mt19937_64 rng(11 * 1000003ull);
  auto ic = random_initial_condition(rng, 1, o.initial);
  Trajectories one = generate(o, 1, 0, 0.02, 11);
  std::vector<double> v = one.clean.to_vector<double>();
  std::vector<double> xs = grid_coordinates(20, one.offsets[0][0]);
  std::vector<double> ys = grid_coordinates(20, one.offsets[0][1]);
  CHECK(v[3 * 20 + 7] == Approx(ic[0].value(xs[3], ys[7])).margin(1e-12));
}

TEST_CASE("pdenet: periodic cubic interpolation", "[examples][pdenet]") {
  const int64_t mesh = 16;
  std::vector<double> xs = grid_coordinates(37, 0.3);
  std::vector<double> w = periodic_cubic_weights(xs, mesh);
  double worst = 0;
  for (size_t p = 0; p < xs.size(); ++p) {
    double sum = 0, value = 0;
    for (int64_t m = 0; m < mesh; ++m) {
      sum += w[p * mesh + m];
      value += w[p * mesh + m] * std::sin(kTwoPi * m / mesh);
    }
    CHECK(sum == Approx(1.0).margin(1e-13));
    worst = std::max(worst, std::abs(value - std::sin(xs[p])));
  }
  CHECK(worst < 2e-3);
  CHECK(worst > 1e-6);  // interpolation, not the function itself
  // On the nodes themselves it reproduces the node values.
  std::vector<double> nodes = grid_coordinates(mesh, 0.0);
  std::vector<double> wn = periodic_cubic_weights(nodes, mesh);
  for (int64_t p = 0; p < mesh; ++p) CHECK(wn[p * mesh + p] == Approx(1.0).margin(1e-13));
}

TEST_CASE("pdenet: SymNet's expansion is the function it computes", "[examples][pdenet]") {
  manual_seed(5);
  SymNet net({"u", "u_x", "v"}, 3);
  {
    autograd::NoGradGuard no_grad;
    for (Tensor p : net.parameters()) p.copy_(randn_like(p) * 0.7);
  }
  Tensor x = randn({20, 3}, {.dtype = DType::Float64});
  std::vector<double> y = net(x).to_vector<double>(), xv = x.to_vector<double>();
  Polynomial p = net.expand(0.0);
  for (int64_t i = 0; i < 20; ++i) {
    double s = 0;
    for (const auto& [m, c] : p)
      s += c * std::pow(xv[i * 3], m[0]) * std::pow(xv[i * 3 + 1], m[1]) *
           std::pow(xv[i * 3 + 2], m[2]);
    CHECK(s == Approx(y[i]).margin(1e-10));
  }
  // Degree 2^3 at most, and printing orders terms by size.
  for (const auto& [m, c] : p) CHECK(m[0] + m[1] + m[2] <= 8);
  Polynomial q = {{{1, 1, 0}, -1.0}, {{0, 0, 0}, 0.25}, {{0, 2, 0}, 1e-5}};
  CHECK(to_string(q, {"u", "u_x", "v"}, 1e-3) == "-1.0000 u*u_x + 0.2500");
}

TEST_CASE("pdenet2: first-order terms are taken from the upwind side", "[examples][pdenet]") {
  manual_seed(6);
  const int64_t n = 12;
  const double dx = kTwoPi / n;
  PdeNet2 net({.dx = dx, .dt = 0.01, .hidden_layers = 0});
  Tensor u = randn({1, 2, n, n}, {.dtype = DType::Float64});
  // Forward-biased (the learned filter) and backward-biased (its mirror) x-derivatives.
  Tensor k = net.filters.kernels();
  Tensor forward = net.filters.convolve(u, k.narrow(0, 1, 1)).select(2, 0);
  Tensor backward = net.filters.convolve(u, -flip(k.narrow(0, 1, 1), {1})).select(2, 0);
  const int64_t ux = 1, f = net.filters.size();
  for (double sign : {1.0, -1.0}) {
    {
      autograd::NoGradGuard no_grad;
      for (Tensor p : net.symnet_parameters()) p.zero_();
      net.symnets[0].weights.back().select(1, ux).fill_(sign);  // u_t = sign·u_x
    }
    Tensor x = net.features(u);  // [n·n, 2F]
    Tensor got = x.select(1, ux).reshape({n, n});
    Tensor want = (sign > 0 ? forward : backward).select(0, 0).select(0, 0);
    CHECK((got - want).abs().max().item<double>() < 1e-12);
    // v's own derivative follows v's equation (zero here: the backward side).
    Tensor vx = x.select(1, f + ux).reshape({n, n});
    CHECK((vx - backward.select(0, 0).select(0, 1)).abs().max().item<double>() < 1e-12);
  }
  CHECK((forward - backward).abs().max().item<double>() > 1e-3);
}

TEST_CASE("pdenet: a tiny PDE-Net training lowers its loss", "[examples][pdenet]") {
  DataOptions o{.pde = {.equation = Equation::ConvectionDiffusion},
                .solver = {.modes = 32, .max_dt = 0.015},
                .initial = {.max_frequency = 4},
                .grid = 20,
                .noise = 0.01};
  Trajectories d = generate(o, 3, 2, 0.015, 21);
  PdeNet1 net({.max_order = 1, .dx = kTwoPi / 20, .dt = 0.015, .coefficient_mesh = 6});
  GridInterpolation g = grid_interpolation(d.offsets, 20, 6, DType::Float64);
  net.set_term_scales(d.observed.select(1, 0));
  Tensor u0 = d.observed.select(1, 0), u2 = d.observed.select(1, 2);
  auto loss = [&] { return (net.predict(u0, net.fields(g), 2) - u2).square().mean(); };
  TensorList params = net.response_parameters();
  for (const Tensor& p : net.filter_parameters()) params.push_back(p);
  StageResult r = lbfgs_stage(params, loss, 15);
  INFO("loss " << r.loss_before << " -> " << r.loss_after);
  CHECK(r.loss_after < r.loss_before / 10);
  CHECK(r.evaluations > 1);
}

TEST_CASE("pdenet2: a tiny PDE-Net 2.0 training lowers its loss", "[examples][pdenet]") {
  DataOptions o{.pde = {.equation = Equation::Burgers},
                .solver = {.modes = 32, .max_dt = 0.01},
                .initial = {.max_frequency = 2, .amplitude = 1, .shift = 1},
                .grid = 16,
                .noise = 0.001};
  Trajectories d = generate(o, 2, 1, 0.01, 31);
  manual_seed(7);
  PdeNet2 net({.dx = kTwoPi / 16, .dt = 0.01, .hidden_layers = 2});
  Tensor u0 = d.observed.select(1, 0), u1 = d.observed.select(1, 1);
  auto loss = [&] { return ((net.step(u0) - u1) / 0.01).square().mean(); };
  StageResult r = lbfgs_stage(net.symnet_parameters(), loss, 30);
  INFO("loss " << r.loss_before << " -> " << r.loss_after);
  CHECK(r.loss_after < r.loss_before / 5);
}

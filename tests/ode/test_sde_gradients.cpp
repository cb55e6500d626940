// Gradients of SDE solves: the stochastic adjoint converges to the exact pathwise gradient
// (closed forms differentiated by autograd on the same Brownian path) and to backprop through
// the same discretization; the reversible and checkpoint adjoints reproduce backprop; memory
// stays flat; and the paper's three test problems in 10 dimensions, gradient error against
// step size (written to sde_gradient_error.csv).
#include <fstream>

#include "sde_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;
namespace sde = ctdl::ode::sde;

namespace {

// dL/d(z0, params) for L = Σ X_T, from a solve or from the exact solution.
TensorList solve_grads(const ode::lab::SdeSystem& s, const Tensor& z0, double T,
                       const sde::Solver& solver, double dt, const ode::Grad& grad,
                       const std::shared_ptr<sde::BrownianMotion>& bm) {
  Tensor z = z0.detach().requires_grad_();
  Tensor zs =
      ode::sdeint(s.sde, z, {0.0, T},
                  {.solver = solver, .dt = dt, .grad = grad, .params = s.params, .brownian = bm});
  TensorList inputs = {z};
  inputs.insert(inputs.end(), s.params.begin(), s.params.end());
  return autograd::grad({zs.select(0, 1).sum()}, inputs);
}

TensorList exact_grads(const ode::lab::SdeSystem& s, const Tensor& z0, double T,
                       const std::shared_ptr<sde::BrownianMotion>& bm) {
  Tensor z = z0.detach().requires_grad_();
  TensorList inputs = {z};
  inputs.insert(inputs.end(), s.params.begin(), s.params.end());
  return autograd::grad({s.exact(z, T, bm->value(T)).sum()}, inputs);
}

Tensor uniform(int64_t n, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  return rand({n}, kF64, &g) * (hi - lo) + lo;
}

}  // namespace

TEST_CASE(
    "the stochastic adjoint converges to the exact pathwise gradient of geometric Brownian "
    "motion, Itô and Stratonovich",
    "[sde][gradients]") {
  const int64_t batch = 64;
  Tensor z0 = full({batch, 2}, 0.7, kF64);
  for (auto type : {sde::SdeType::Ito, sde::SdeType::Stratonovich}) {
    ode::lab::SdeSystem s = ode::lab::gbm(vec({0.4, -0.2}), vec({0.5, 0.9}), type);
    auto bm = tree({batch, 2}, 41);
    TensorList exact = exact_grads(s, z0, 1.0, bm);
    sde::Solver forward =
        type == sde::SdeType::Ito ? sde::Solver(sde::Milstein{}) : sde::Solver(sde::Midpoint{});
    std::vector<double> steps = {1.0 / 8, 1.0 / 32, 1.0 / 128, 1.0 / 512}, errors;
    for (double h : steps)
      errors.push_back(
          relative_error(solve_grads(s, z0, 1.0, forward, h, sde::StochasticAdjoint{}, bm), exact));
    INFO(sde::name(type) << ": gradient errors " << errors[0] << ", " << errors[1] << ", "
                         << errors[2] << ", " << errors[3]);
    CHECK(errors.back() < 0.01);
    CHECK(loglog_slope(steps, errors) > 0.8);  // order 1 for this commutative noise
  }
}

TEST_CASE(
    "the stochastic adjoint agrees with backprop through the same discretization as dt "
    "shrinks",
    "[sde][gradients]") {
  const int64_t batch = 32;
  ode::lab::SdeSystem s = ode::lab::sine_cosine(vec({0.8, 1.3, 0.5}));
  Tensor z0 = full({batch, 3}, 0.4, kF64);
  auto bm = tree({batch, 3}, 43);
  std::vector<double> steps = {1.0 / 16, 1.0 / 64, 1.0 / 256}, gaps;
  for (double h : steps) {
    TensorList adjoint = solve_grads(s, z0, 1.0, sde::Milstein{}, h, sde::StochasticAdjoint{}, bm);
    TensorList backprop = solve_grads(s, z0, 1.0, sde::Milstein{}, h, ode::Backprop{}, bm);
    gaps.push_back(relative_error(adjoint, backprop));
  }
  INFO("adjoint vs backprop: " << gaps[0] << ", " << gaps[1] << ", " << gaps[2]);
  CHECK(gaps.back() < 0.02);
  CHECK(gaps.back() < gaps.front() / 4);
}

TEST_CASE("backprop through SDE solvers converges to the exact pathwise gradient",
          "[sde][gradients]") {
  const int64_t batch = 32;
  Tensor z0 = full({batch, 2}, 0.5, kF64);
  struct Case {
    const char* name;
    sde::Solver solver;
    ode::lab::SdeSystem system;
    bool levy;
    double min_slope;
  };
  std::vector<Case> cases = {
      {"euler_maruyama, GBM", sde::EulerMaruyama{},
       ode::lab::gbm(vec({0.3, 0.1}), vec({0.6, 0.4}), sde::SdeType::Ito), false, 0.3},
      {"milstein, GBM", sde::Milstein{},
       ode::lab::gbm(vec({0.3, 0.1}), vec({0.6, 0.4}), sde::SdeType::Ito), false, 0.8},
      {"milstein derivative-free, GBM", sde::Milstein{.derivative_free = true},
       ode::lab::gbm(vec({0.3, 0.1}), vec({0.6, 0.4}), sde::SdeType::Ito), false, 0.8},
      {"reversible_heun, Stratonovich GBM", sde::ReversibleHeun{},
       ode::lab::gbm(vec({0.3, 0.1}), vec({0.6, 0.4}), sde::SdeType::Stratonovich), false, 0.8},
      {"sra1, time-inhomogeneous linear", sde::SRA1{},
       ode::lab::linear_inhomogeneous(vec({0.5, 1.2}), vec({0.8, -0.6})), true, 1.3},
  };
  for (const Case& c : cases) {
    auto bm = tree({batch, 2}, 47, 1.0, c.levy);
    TensorList exact = exact_grads(c.system, z0, 1.0, bm);
    std::vector<double> steps = {1.0 / 8, 1.0 / 32, 1.0 / 128, 1.0 / 512}, errors;
    for (double h : steps)
      errors.push_back(
          relative_error(solve_grads(c.system, z0, 1.0, c.solver, h, ode::Backprop{}, bm), exact));
    INFO(c.name << ": gradient errors " << errors.front() << " ... " << errors.back() << ", slope "
                << loglog_slope(steps, errors));
    CHECK(loglog_slope(steps, errors) > c.min_slope);
  }
}

TEST_CASE("the reversible adjoint through reversible Heun, and checkpointing, reproduce backprop",
          "[sde][gradients]") {
  const int64_t batch = 16;
  ode::lab::SdeSystem s =
      ode::lab::gbm(vec({0.3, -0.4}), vec({0.5, 0.7}), sde::SdeType::Stratonovich);
  Tensor z0 = full({batch, 2}, 1.2, kF64);
  auto bm = tree({batch, 2}, 53);
  TensorList backprop = solve_grads(s, z0, 1.0, sde::ReversibleHeun{}, 0.01, ode::Backprop{}, bm);
  TensorList reversible =
      solve_grads(s, z0, 1.0, sde::ReversibleHeun{}, 0.01, ode::ReversibleAdjoint{}, bm);
  CHECK(relative_error(reversible, backprop) < 1e-10);
  ode::lab::SdeSystem ito = ode::lab::sine_cosine(vec({0.7, 1.1}));
  TensorList a = solve_grads(ito, z0, 1.0, sde::Milstein{}, 0.02, ode::Backprop{}, bm);
  TensorList b = solve_grads(ito, z0, 1.0, sde::Milstein{}, 0.02,
                             ode::CheckpointAdjoint{.checkpoints = 5}, bm);
  CHECK(relative_error(b, a) < 1e-12);
}

TEST_CASE("the stochastic adjoint handles scalar and general noise in Itô form",
          "[sde][gradients]") {
  // X_i = X0_i exp((μ_i - ½Σ_j σ_ij²) t + Σ_j σ_ij W_j): commuting noise in every form.
  const int64_t batch = 16, d = 2;
  for (int64_t m : {1, 3}) {
    Tensor mu = vec({0.2, -0.3}).requires_grad_(),
           sigma = (uniform(d * m, 0.2, 0.6, 3).reshape({d, m})).requires_grad_();
    ode::lab::SdeSystem s{
        .type = "commuting",
        .sde = {.drift = [mu](double, const Tensor& z) { return z * mu; },
                .diffusion = [sigma](double, const Tensor& z) { return z.unsqueeze(-1) * sigma; },
                .noise = m == 1 ? sde::Noise::Scalar : sde::Noise::General},
        .params = {mu, sigma},
        .names = {"mu", "sigma"}};
    s.exact = [mu, sigma](const Tensor& z0, double t, const Tensor& w) {
      return z0 * exp((mu - square(sigma).sum({-1}) * 0.5) * t + matmul(w, sigma.t()));
    };
    auto bm = tree({batch, m}, 59);
    Tensor z0 = full({batch, d}, 0.9, kF64);
    TensorList exact = exact_grads(s, z0, 1.0, bm);
    double coarse = relative_error(
        solve_grads(s, z0, 1.0, sde::EulerMaruyama{}, 1.0 / 16, sde::StochasticAdjoint{}, bm),
        exact);
    double fine = relative_error(
        solve_grads(s, z0, 1.0, sde::EulerMaruyama{}, 1.0 / 256, sde::StochasticAdjoint{}, bm),
        exact);
    INFO(sde::name(s.sde.noise) << " noise, m = " << m << ": " << coarse << " -> " << fine);
    CHECK(fine < 0.02);
    CHECK(fine < coarse / 3);  // Euler–Maruyama forward: order 0.5
  }
}

TEST_CASE("the stochastic and reversible adjoints keep peak memory flat from 100 to 10,000 steps",
          "[sde][gradients][memory]") {
  ode::lab::SdeSystem s =
      ode::lab::gbm(vec({0.1, -0.1}), vec({0.3, 0.2}), sde::SdeType::Stratonovich);
  Tensor z0 = full({1, 2}, 1.0, kF64).requires_grad_();
  auto peak = [&](const sde::Solver& solver, const ode::Grad& grad, int64_t steps) {
    auto bm = tree({1, 2}, 61);  // stores nothing: the path is recomputed on demand
    const int64_t base = memory_stats().live_bytes;
    reset_peak_memory();
    {
      Tensor zs = ode::sdeint(
          s.sde, z0, {0.0, 1.0},
          {.solver = solver, .dt = 1.0 / steps, .grad = grad, .params = s.params, .brownian = bm});
      TensorList g = autograd::grad({square(zs.select(0, 1)).sum()}, {z0, s.params[0]});
    }
    return memory_stats().peak_bytes - base;
  };
  struct Case {
    const char* name;
    sde::Solver solver;
    ode::Grad grad;
  };
  for (const Case& c :
       {Case{"stochastic_adjoint", sde::Midpoint{}, sde::StochasticAdjoint{}},
        Case{"reversible_adjoint", sde::ReversibleHeun{}, ode::ReversibleAdjoint{}}}) {
    int64_t small = peak(c.solver, c.grad, 100), large = peak(c.solver, c.grad, 10000);
    INFO(c.name << ": peak " << small << " bytes at 100 steps, " << large << " at 10,000");
    CHECK(small > 0);
    CHECK(static_cast<double>(large) <= 1.2 * static_cast<double>(small));
  }
  int64_t small = peak(sde::Midpoint{}, ode::Backprop{}, 100),
          large = peak(sde::Midpoint{}, ode::Backprop{}, 2000);
  INFO("backprop: " << small << " bytes at 100 steps, " << large << " at 2,000");
  CHECK(static_cast<double>(large) >= 10.0 * static_cast<double>(small));
}

TEST_CASE("the paper's three test problems in 10 dimensions: gradient error against step size",
          "[sde][gradients]") {
  // Li et al. 2020, §7.1: geometric Brownian motion, dX = -p² sin X cos³X dt + p cos²X dW, and
  // the time-inhomogeneous linear SDE, each in 10 independent dimensions with parameters
  // drawn once, 8 sample paths; L = Σ X_T. The stochastic adjoint (Milstein forward, midpoint
  // backward on the Stratonovich form) and backprop through Milstein, against the exact
  // pathwise gradient.
  const int64_t batch = 8, d = 10;
  struct Problem {
    const char* name;
    ode::lab::SdeSystem system;
    Tensor z0;
  };
  std::vector<Problem> problems = {
      {"gbm", ode::lab::gbm(uniform(d, 0.1, 0.6, 1), uniform(d, 0.2, 0.8, 2), sde::SdeType::Ito),
       full({batch, d}, 0.5, kF64)},
      {"sine_cosine", ode::lab::sine_cosine(uniform(d, 0.5, 1.5, 3)), full({batch, d}, 0.3, kF64)},
      {"linear_inhomogeneous",
       ode::lab::linear_inhomogeneous(uniform(d, 0.2, 0.8, 4), uniform(d, 0.5, 1.5, 5)),
       full({batch, d}, 0.5, kF64)},
  };
  const std::vector<double> steps = {1.0 / 4, 1.0 / 16, 1.0 / 64, 1.0 / 256};
  std::ofstream csv("sde_gradient_error.csv");
  csv << "problem,scheme,dt,relative_error\n";
  for (const Problem& p : problems) {
    auto bm = tree({batch, d}, 67);
    TensorList exact = exact_grads(p.system, p.z0, 1.0, bm);
    for (const auto& [scheme, grad] :
         {std::pair<std::string, ode::Grad>{"stochastic_adjoint", sde::StochasticAdjoint{}},
          std::pair<std::string, ode::Grad>{"backprop", ode::Backprop{}}}) {
      std::vector<double> errors;
      for (double h : steps) {
        errors.push_back(
            relative_error(solve_grads(p.system, p.z0, 1.0, sde::Milstein{}, h, grad, bm), exact));
        csv << p.name << "," << scheme << "," << h << "," << errors.back() << "\n";
      }
      INFO(p.name << ", " << scheme << ": " << errors[0] << ", " << errors[1] << ", " << errors[2]
                  << ", " << errors[3]);
      CHECK(errors.back() < 0.02);
      CHECK(loglog_slope(steps, errors) > 0.8);
    }
  }
}

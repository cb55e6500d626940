// The SDE figures of the README: strong convergence of the solvers, and the gradient error
// of the stochastic adjoint and of backprop against step size on the paper's three test
// problems (Li, Wong, Chen & Duvenaud 2020, §7.1), each in 10 dimensions.
//
//   build/bin/example_sde_study docs/sde      # writes convergence.{csv,png},
//   gradient_error.{csv,png}
//
// Every error is measured on one Brownian path shared by all step sizes (a
// VirtualBrownianTree), against the exact solution or the exact pathwise gradient (the closed
// forms of ode/lab/sde_systems.h differentiated by autograd).
#include <ctdl/ctdl.h>
#include <ctdl/nn/train/plot.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "ctdl/ode/lab/sde_systems.h"

using namespace ctdl;
namespace sde = ctdl::ode::sde;

namespace {

const TensorOptions kF64{.dtype = DType::Float64};

std::shared_ptr<sde::VirtualBrownianTree> tree(Dims shape, uint64_t seed, bool levy = false) {
  return std::make_shared<sde::VirtualBrownianTree>(
      sde::BrownianOptions{.t1 = 1, .shape = shape, .seed = seed, .levy_area = levy, .tol = 1e-9});
}

Tensor uniform(int64_t n, double lo, double hi, uint64_t seed) {
  Generator g(seed);
  return rand({n}, kF64, &g) * (hi - lo) + lo;
}

double relative_error(const TensorList& a, const TensorList& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += square(a[i] - b[i]).sum().item();
    den += square(b[i]).sum().item();
  }
  return std::sqrt(num / den);
}

std::vector<double> steps_from(int lo, int hi) {
  std::vector<double> h;
  for (int k = lo; k <= hi; ++k) h.push_back(std::ldexp(1.0, -k));
  return h;
}

nn::Series series(const std::string& title, const std::vector<double>& h,
                  const std::vector<double>& y) {
  nn::Series s{.title = title, .style = "linespoints"};
  for (size_t i = 0; i < h.size(); ++i) s.x.push_back(-std::log2(h[i])), s.y.push_back(y[i]);
  return s;
}

// Mean |X_N - X(1)| over 2000 paths.
void convergence(const std::filesystem::path& dir) {
  const int64_t batch = 2000;
  const std::vector<double> steps = steps_from(2, 8);
  std::ofstream csv(dir / "convergence.csv");
  csv << "solver,problem,dt,strong_error\n";
  std::vector<nn::Series> plot;
  auto record = [&](const std::string& solver, const std::string& problem,
                    const std::vector<double>& errors) {
    for (size_t i = 0; i < steps.size(); ++i)
      csv << solver << "," << problem << "," << steps[i] << "," << errors[i] << "\n";
    plot.push_back(series(solver + " (" + problem + ")", steps, errors));
  };
  autograd::NoGradGuard no_grad;
  Tensor z0 = full({batch, 1}, 0.8, kF64);
  auto closed_form = [&](const ode::lab::SdeSystem& s, const sde::Solver& solver, bool levy) {
    auto bm = tree({batch, 1}, 17, levy);
    Tensor exact = s.exact(z0, 1.0, bm->value(1.0));
    std::vector<double> errors;
    for (double h : steps)
      errors.push_back(
          abs(ode::sdeint(s.sde, z0, {0.0, 1.0}, {.solver = solver, .dt = h, .brownian = bm})
                  .select(0, 1) -
              exact)
              .mean()
              .item());
    return errors;
  };
  auto ito = ode::lab::gbm(tensor({0.5}, kF64), tensor({0.8}, kF64), sde::SdeType::Ito);
  auto strat = ode::lab::gbm(tensor({0.5}, kF64), tensor({0.8}, kF64), sde::SdeType::Stratonovich);
  record("euler_maruyama", "Itô GBM", closed_form(ito, sde::EulerMaruyama{}, false));
  record("milstein", "Itô GBM", closed_form(ito, sde::Milstein{}, false));
  record("heun", "Stratonovich GBM", closed_form(strat, sde::Heun{}, false));
  record("reversible_heun", "Stratonovich GBM", closed_form(strat, sde::ReversibleHeun{}, false));
  // SRA1 on a nonlinear drift with additive noise, against itself on a 64x finer grid (on the
  // linear problems its error terms of order 1.5 vanish and it shows order 2).
  ode::SDE nonlinear{
      .drift = [](double, const Tensor& z) { return sin(z); },
      .diffusion = [](double t,
                      const Tensor& z) { return (zeros_like(z) + (1.5 + 0.3 * t)).unsqueeze(-1); },
      .noise = sde::Noise::Additive};
  auto bm = tree({batch, 1}, 29, true);
  Tensor reference = ode::sdeint(nonlinear, z0, {0.0, 1.0},
                                 {.solver = sde::SRA1{}, .dt = steps.back() / 64, .brownian = bm})
                         .select(0, 1);
  std::vector<double> errors;
  for (double h : steps)
    errors.push_back(
        abs(ode::sdeint(nonlinear, z0, {0.0, 1.0}, {.solver = sde::SRA1{}, .dt = h, .brownian = bm})
                .select(0, 1) -
            reference)
            .mean()
            .item());
  record("sra1", "dX = sin X dt + (1.5 + 0.3t) dW", errors);
  nn::plot_lines((dir / "convergence.png").string(), plot,
                 {.title = "strong error E|X_N - X(1)| (slopes: 0.5, 1, 1, 1, 1.5)",
                  .xlabel = "log2(1/dt)",
                  .ylabel = "strong error",
                  .log_y = true});
}

// Relative error of dL/d(z0, θ), L = Σ X(1), over 8 paths in 10 dimensions.
void gradients(const std::filesystem::path& dir) {
  const int64_t batch = 8, d = 10;
  const std::vector<double> steps = steps_from(2, 10);
  struct Problem {
    std::string name;
    ode::lab::SdeSystem s;
    double x0;
  };
  std::vector<Problem> problems = {
      {"GBM", ode::lab::gbm(uniform(d, 0.1, 0.6, 1), uniform(d, 0.2, 0.8, 2), sde::SdeType::Ito),
       0.5},
      {"sin-cos", ode::lab::sine_cosine(uniform(d, 0.5, 1.5, 3)), 0.3},
      {"time-inhomogeneous",
       ode::lab::linear_inhomogeneous(uniform(d, 0.2, 0.8, 4), uniform(d, 0.5, 1.5, 5)), 0.5}};
  std::ofstream csv(dir / "gradient_error.csv");
  csv << "problem,scheme,dt,relative_error\n";
  std::vector<nn::Series> plot;
  for (Problem& p : problems) {
    auto bm = tree({batch, d}, 67);
    Tensor z0 = full({batch, d}, p.x0, kF64).requires_grad_();
    TensorList inputs = {z0};
    inputs.insert(inputs.end(), p.s.params.begin(), p.s.params.end());
    TensorList exact = autograd::grad({p.s.exact(z0, 1.0, bm->value(1.0)).sum()}, inputs);
    for (auto [scheme, grad] :
         {std::pair<std::string, ode::Grad>{"stochastic adjoint", sde::StochasticAdjoint{}},
          {"backprop", ode::Backprop{}}}) {
      std::vector<double> errors;
      for (double h : steps) {
        Tensor zs = ode::sdeint(p.s.sde, z0, {0.0, 1.0},
                                {.solver = sde::Milstein{},
                                 .dt = h,
                                 .grad = grad,
                                 .params = p.s.params,
                                 .brownian = bm});
        errors.push_back(relative_error(autograd::grad({zs.select(0, 1).sum()}, inputs), exact));
        csv << p.name << "," << scheme << "," << h << "," << errors.back() << "\n";
      }
      plot.push_back(series(p.name + ", " + scheme, steps, errors));
    }
  }
  nn::plot_lines((dir / "gradient_error.png").string(), plot,
                 {.title = "gradient error vs exact pathwise gradient (Milstein; 10 dims, 8 paths)",
                  .xlabel = "log2(1/dt)",
                  .ylabel = "relative error of dL/d(z0, θ)",
                  .log_y = true});
}

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir = argc > 1 ? argv[1] : "docs/sde";
  std::filesystem::create_directories(dir);
  convergence(dir);
  gradients(dir);
  std::cout << "wrote " << (dir / "convergence.png").string() << " and "
            << (dir / "gradient_error.png").string() << " (with their .csv)\n";
}

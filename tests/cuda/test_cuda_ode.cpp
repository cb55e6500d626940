// ODE and SDE solves on the device: every gradient scheme against the same solve on the
// CPU, and the host reads a solve costs (the stream must not stall once per step).
#include "cuda/cuda_device.h"
#include "ode/ode_helpers.h"
#include "ode/sde_helpers.h"

namespace ctdl::testing {
namespace {

// dz/dt = tanh(z·W1 + b1 + c·t)·W2 with its parameters on `device`.
struct DeviceMlp {
  TensorList params;
  explicit DeviceMlp(Device device) {
    manual_seed(4);
    for (Tensor t : {randn({2, 8}, kF64) * 0.8, randn({8}, kF64) * 0.2, randn({8}, kF64) * 0.5,
                     randn({8, 2}, kF64) * 0.8})
      params.push_back(t.to(device).requires_grad_());
  }
  ode::TensorField field() const {
    return [w1 = params[0], b1 = params[1], c = params[2], w2 = params[3]](double t, const Tensor& z) {
      return matmul(tanh(matmul(z, w1) + b1 + c * t), w2);
    };
  }
};

// dL/d(z0, parameters) for L = sum(z(times) · weights), everything on `device`, returned on the CPU.
TensorList gradients(Device device, const ode::Solver& solver, const ode::Grad& grad) {
  DeviceMlp mlp(device);
  manual_seed(9);
  Tensor z0 = randn({3, 2}, kF64).to(device).requires_grad_();
  Tensor weights = randn({4, 3, 2}, kF64).to(device);
  Tensor zs = ode::odeint(mlp.field(), z0, {0.0, 0.3, 0.7, 1.0},
                          {.solver = solver, .grad = grad, .params = mlp.params});
  CHECK(zs.device() == device);
  TensorList inputs = {z0};
  for (const Tensor& p : mlp.params) inputs.push_back(p);
  TensorList g = autograd::grad({(zs * weights).sum()}, inputs);
  for (Tensor& t : g) {
    CHECK(t.device() == device);
    t = t.to(Device::cpu());
  }
  return g;
}

TEST_CASE("cuda: every gradient scheme on the device matches the CPU", "[cuda][ode]") {
  using namespace ode;
  struct Case {
    const char* name;
    Solver solver;
    Grad grad;
  };
  const std::vector<Case> cases = {
      {"rk4 / backprop", RK4{.step_size = 0.05}, Backprop{}},
      {"dopri5 / backprop", Dopri5{.rtol = 1e-7, .atol = 1e-9}, Backprop{}},
      {"dopri5 / backsolve adjoint", Dopri5{.rtol = 1e-7, .atol = 1e-9}, BacksolveAdjoint{}},
      {"rk4 / checkpoint (binomial)", RK4{.step_size = 0.05},
       CheckpointAdjoint{.checkpoints = 4, .placement = CheckpointPlacement::Binomial}},
      {"dopri5 / symplectic adjoint", Dopri5{.rtol = 1e-7, .atol = 1e-9}, SymplecticAdjoint{}},
      {"reversible heun / reversible adjoint", ReversibleHeun{.step_size = 0.05}, ReversibleAdjoint{}},
      {"asynchronous leapfrog / reversible adjoint", AsynchronousLeapfrog{.step_size = 0.05},
       ReversibleAdjoint{}},
      {"implicit euler / implicit adjoint", ImplicitEuler{.step_size = 0.1}, ImplicitAdjoint{}},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    TensorList on_cpu = gradients(Device::cpu(), c.solver, c.grad);
    TensorList on_device = gradients(gpu(), c.solver, c.grad);
    // Adaptive solvers may take other steps where the device rounds differently.
    double err = relative_error(on_device, on_cpu);
    INFO("relative difference " << err);
    CHECK(err < 1e-8);
  }
}

TEST_CASE("cuda: a fixed-step solve reads the host at output times only", "[cuda][ode]") {
  DeviceMlp mlp(gpu());
  Tensor z0 = randn({16, 2}, kF64).to(gpu());
  autograd::NoGradGuard no_grad;
  int64_t before = host_reads();
  Tensor zs = ode::odeint(mlp.field(), z0, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.005}});
  int64_t reads = host_reads() - before;
  INFO(reads << " host reads for 200 steps and one output time");
  CHECK(reads <= 2);
  before = host_reads();
  zs = ode::odeint(mlp.field(), z0, {0.0, 1.0},
                   {.solver = ode::RK4{.step_size = 0.005, .check_finite = false}});
  CHECK(host_reads() == before);
}

TEST_CASE("cuda: an adaptive solve reads the host once per step", "[cuda][ode]") {
  DeviceMlp mlp(gpu());
  Tensor z0 = randn({16, 2}, kF64).to(gpu());
  autograd::NoGradGuard no_grad;
  auto stats = std::make_shared<ode::Stats>();
  int64_t before = host_reads();
  ode::odeint(mlp.field(), z0, {0.0, 0.5, 1.0},
              {.solver = ode::Dopri5{.rtol = 1e-8, .atol = 1e-10}, .stats = stats});
  int64_t reads = host_reads() - before, attempts = stats->steps + stats->rejected_steps;
  INFO(reads << " host reads for " << attempts << " step attempts");
  CHECK(attempts > 10);
  // One accept/reject decision per attempt, plus the initial step size's two norms.
  CHECK(reads <= attempts + 3);
}

TEST_CASE("cuda: the stochastic adjoint on the device matches the CPU", "[cuda][sde]") {
  auto gradient = [](Device device) {
    Tensor mu = tensor({0.5}, kF64).to(device).requires_grad_();
    Tensor sigma = tensor({0.3}, kF64).to(device).requires_grad_();
    ode::SDE sde{.drift = [mu](double, const Tensor& z) { return z * mu; },
                 .diffusion = [sigma](double, const Tensor& z) { return z * sigma; }};
    Tensor z0 = ones({8, 1}, kF64).to(device);
    // Brownian increments are made on the host and moved to the state's device.
    Tensor zs = ode::sdeint(sde, z0, {0.0, 1.0},
                            {.solver = ode::sde::Milstein{}, .dt = 0.01,
                             .grad = ode::sde::StochasticAdjoint{}, .params = {mu, sigma},
                             .brownian = tree({8, 1}, 3)});
    TensorList g = autograd::grad({zs.select(0, 1).sum()}, {mu, sigma});
    return TensorList{g[0].to(Device::cpu()), g[1].to(Device::cpu())};
  };
  TensorList cpu = gradient(Device::cpu()), dev = gradient(gpu());
  CHECK(relative_error(dev, cpu) < 1e-8);
}

}  // namespace
}  // namespace ctdl::testing

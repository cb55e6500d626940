// Peak memory against the number of steps: flat (within 1.2x from 100 to 10,000 steps) for
// backsolve, checkpointing with a fixed number of binomial checkpoints and the reversible
// adjoint; linear for backprop. The symplectic adjoint keeps one state per step, a fraction of
// what backprop keeps.
#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;

namespace {

// Bytes above what was live before the solve, at the peak of solve + backward.
int64_t peak_bytes(const ode::Solver& solver, const ode::Grad& grad) {
  Tensor A = tensor({{-0.1, 1.0}, {-1.0, -0.1}}, kF64).requires_grad_();
  Tensor z0 = tensor({{1.0, 0.5}}, kF64).requires_grad_();
  auto f = [A](double, const Tensor& z) { return matmul(z, A.t()); };
  const int64_t base = memory_stats().live_bytes;
  reset_peak_memory();
  {
    Tensor zs = ode::odeint(f, z0, {0.0, 1.0}, {.solver = solver, .grad = grad, .params = {A}});
    TensorList g = autograd::grad({square(zs.select(0, 1)).sum()}, {z0, A});
  }
  return memory_stats().peak_bytes - base;
}

struct Case {
  const char* name;
  std::function<ode::Solver(int64_t steps)> solver;
  ode::Grad grad;
};

}  // namespace

TEST_CASE(
    "adjoint schemes keep peak memory flat as the number of steps grows; backprop's grows linearly",
    "[ode][memory]") {
  const ode::CheckpointAdjoint binomial{.checkpoints = 8,
                                        .placement = ode::CheckpointPlacement::Binomial};
  auto euler = [](int64_t n) { return ode::Solver(ode::Euler{.step_size = 1.0 / n}); };
  auto heun = [](int64_t n) { return ode::Solver(ode::ReversibleHeun{.step_size = 1.0 / n}); };
  std::vector<Case> flat = {
      {"backsolve_adjoint", euler, ode::BacksolveAdjoint{}},
      {"checkpoint_adjoint (8 binomial checkpoints)", euler, binomial},
      {"reversible_adjoint", heun, ode::ReversibleAdjoint{}},
  };
  for (const Case& c : flat) {
    int64_t small = peak_bytes(c.solver(100), c.grad), large = peak_bytes(c.solver(10000), c.grad);
    INFO(c.name << ": peak " << small << " bytes at 100 steps, " << large << " at 10,000");
    CHECK(small > 0);
    CHECK(static_cast<double>(large) <= 1.2 * static_cast<double>(small));
  }
  int64_t small = peak_bytes(euler(100), ode::Backprop{}),
          large = peak_bytes(euler(10000), ode::Backprop{});
  INFO("backprop: peak " << small << " bytes at 100 steps, " << large << " at 10,000");
  CHECK(static_cast<double>(large) >= 50.0 * static_cast<double>(small));
  int64_t middle = peak_bytes(euler(5000), ode::Backprop{});
  CHECK(std::abs(static_cast<double>(large) / static_cast<double>(middle) - 2.0) < 0.1);  // linear
}

TEST_CASE("the symplectic adjoint keeps the states, not every stage's graph: less than backprop",
          "[ode][memory]") {
  for (int64_t n : {500, 2000}) {
    ode::Solver rk4 = ode::RK4{.step_size = 1.0 / static_cast<double>(n)};
    int64_t symplectic = peak_bytes(rk4, ode::SymplecticAdjoint{}),
            backprop = peak_bytes(rk4, ode::Backprop{});
    INFO(n << " rk4 steps: symplectic adjoint " << symplectic << " bytes, backprop " << backprop);
    CHECK(symplectic > 0);
    // One state per step against the graph's four stage inputs per step (the fused stage
    // sums save nothing): about a quarter.
    CHECK(static_cast<double>(symplectic) < 0.3 * static_cast<double>(backprop));
  }
}

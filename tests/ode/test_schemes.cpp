// Gradient schemes: against the exact gradient of a linear system, against backprop of the
// same discretization (the schemes that are exact for it), and against finite differences
// (implicit layers, gradients with respect to the times).
#include "ctdl/nn/modules/mlp.h"
#include "ctdl/ode/lab/exact.h"
#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;

namespace {

Tensor loss_of(const Tensor& zs, const Tensor& weights) {
  return square(zs).sum() + (zs * weights).sum();
}

struct Named {
  const char* name;
  ode::Solver solver;
  ode::Grad grad;
  double tolerance;
};

}  // namespace

TEST_CASE("every gradient scheme matches the exact gradient of a linear system", "[ode][schemes]") {
  const Tensor A = tensor({{-0.2, 1.0, 0.1}, {-1.0, -0.3, 0.2}, {0.1, -0.4, -0.1}}, kF64);
  manual_seed(1);
  const Tensor z0 = randn({2, 3}, kF64);
  const std::vector<double> times = {0.0, 0.5, 1.0};
  const Tensor weights = randn({3, 2, 3}, kF64);
  ode::lab::LinearReference exact = ode::lab::linear_exact(
      A, z0, times, [&](const TensorList& zs) { return loss_of(stack(zs), weights); });

  using namespace ode;
  const double tight = 1e-10;
  std::vector<Named> cases = {
      {"backprop rk4", RK4{.step_size = 0.01}, Backprop{}, 1e-6},
      {"backprop dopri5", Dopri5{.rtol = tight, .atol = tight}, Backprop{}, 1e-7},
      {"backsolve dopri5", Dopri5{.rtol = tight, .atol = tight}, BacksolveAdjoint{}, 1e-7},
      {"backsolve dopri5, seminorm", Dopri5{.rtol = tight, .atol = tight},
       BacksolveAdjoint{.seminorm = true}, 1e-7},
      {"backsolve rk4, tsit5 backwards", RK4{.step_size = 0.01},
       BacksolveAdjoint{.solver = Tsit5{.rtol = tight, .atol = tight}}, 1e-6},
      {"checkpoint dopri5, every step", Dopri5{.rtol = tight, .atol = tight}, CheckpointAdjoint{},
       1e-7},
      {"checkpoint dopri5, 3 uniform", Dopri5{.rtol = tight, .atol = tight},
       CheckpointAdjoint{.checkpoints = 3}, 1e-7},
      {"checkpoint rk4, 4 binomial", RK4{.step_size = 0.01},
       CheckpointAdjoint{.checkpoints = 4, .placement = CheckpointPlacement::Binomial}, 1e-6},
      {"symplectic dopri5", Dopri5{.rtol = tight, .atol = tight}, SymplecticAdjoint{}, 1e-7},
      {"symplectic tsit5", Tsit5{.rtol = tight, .atol = tight}, SymplecticAdjoint{}, 1e-7},
      {"symplectic bosh3", Bosh3{.rtol = 1e-9, .atol = 1e-9}, SymplecticAdjoint{}, 1e-5},
      {"reversible heun", ReversibleHeun{.step_size = 1e-3}, ReversibleAdjoint{}, 1e-5},
      {"asynchronous leapfrog", AsynchronousLeapfrog{.step_size = 1e-3}, ReversibleAdjoint{}, 1e-5},
      {"implicit euler", ImplicitEuler{.step_size = 1e-3}, ImplicitAdjoint{}, 1e-2},
      {"trapezoid", Trapezoid{.step_size = 1e-2}, ImplicitAdjoint{}, 1e-4},
      {"bdf2", BDF2{.step_size = 1e-2}, ImplicitAdjoint{}, 1e-3},
  };
  for (const Named& c : cases) {
    Tensor a = A.detach().requires_grad_(), z = z0.detach().requires_grad_();
    auto f = [a](double, const Tensor& x) { return matmul(x, a.t()); };
    Tensor zs = ode::odeint(f, z, times, {.solver = c.solver, .grad = c.grad, .params = {a}});
    TensorList g = autograd::grad({loss_of(zs, weights)}, {z, a});
    double err = relative_error(g, {exact.grad_z0, exact.grad_A});
    INFO(c.name << ": relative error " << err);
    CHECK(err < c.tolerance);
  }
}

namespace {

// A small time-dependent MLP field and its parameters.
struct Mlp {
  Tensor w1 = (randn({2, 8}, kF64) * 0.8).requires_grad_(),
         b1 = (randn({8}, kF64) * 0.2).requires_grad_();
  Tensor c = (randn({8}, kF64) * 0.5).requires_grad_(),
         w2 = (randn({8, 2}, kF64) * 0.8).requires_grad_();
  TensorList params() const { return {w1, b1, c, w2}; }
  ode::TensorField field() const {
    return [w1 = w1, b1 = b1, c = c, w2 = w2](double t, const Tensor& z) {
      return matmul(tanh(matmul(z, w1) + b1 + c * t), w2);
    };
  }
};

// Separable: q' = tanh(p·V), p' = -tanh(q·W) (for the symplectic solvers).
struct SeparableMlp {
  Tensor v = (randn({1, 1}, kF64) + 1.0).requires_grad_(),
         w = (randn({1, 1}, kF64) + 1.0).requires_grad_();
  TensorList params() const { return {v, w}; }
  ode::TensorField field() const {
    return [v = v, w = w](double, const Tensor& z) {
      return cat({tanh(matmul(z.narrow(-1, 1, 1), v)), -tanh(matmul(z.narrow(-1, 0, 1), w))}, -1);
    };
  }
};

template <class System>
TensorList gradients(const System& s, const Tensor& z0, const std::vector<double>& times,
                     const ode::Solver& solver, const ode::Grad& grad, const Tensor& weights) {
  Tensor z = z0.detach().requires_grad_();
  Tensor zs =
      ode::odeint(s.field(), z, times, {.solver = solver, .grad = grad, .params = s.params()});
  TensorList inputs = {z};
  for (const Tensor& p : s.params()) inputs.push_back(p);
  return autograd::grad({loss_of(zs, weights)}, inputs);
}

}  // namespace

TEST_CASE("schemes exact for the discretization match backprop through it to 1e-10",
          "[ode][schemes]") {
  using namespace ode;
  manual_seed(2);
  Mlp mlp;
  SeparableMlp separable;
  const Tensor z0 = randn({3, 2}, kF64);
  const std::vector<double> times = {0.0, 0.3, 0.7, 1.0};
  const Tensor weights = randn({4, 3, 2}, kF64);
  const CheckpointAdjoint binomial{.checkpoints = 4, .placement = CheckpointPlacement::Binomial};
  struct Group {
    const char* solver_name;
    Solver solver;
    std::vector<std::pair<const char*, Grad>> schemes;
    bool separable = false;
  };
  std::vector<Group> groups = {
      {"rk4",
       RK4{.step_size = 0.05},
       {{"checkpoint", CheckpointAdjoint{}},
        {"checkpoint 3", CheckpointAdjoint{.checkpoints = 3}},
        {"binomial", binomial},
        {"symplectic", SymplecticAdjoint{}}}},
      {"dopri5 (adaptive, interpolated outputs)",
       Dopri5{.rtol = 1e-7, .atol = 1e-9},
       {{"checkpoint", CheckpointAdjoint{}},
        {"checkpoint 3", CheckpointAdjoint{.checkpoints = 3}},
        {"binomial", binomial},
        {"symplectic", SymplecticAdjoint{}}}},
      {"tsit5 (adaptive)",
       Tsit5{.rtol = 1e-6},
       {{"binomial", binomial}, {"symplectic", SymplecticAdjoint{}}}},
      {"bosh3 (adaptive)",
       Bosh3{.rtol = 1e-5},
       {{"binomial", binomial}, {"symplectic", SymplecticAdjoint{}}}},
      {"heun", Heun{.step_size = 0.1}, {{"symplectic", SymplecticAdjoint{}}}},
      {"reversible_heun",
       ReversibleHeun{.step_size = 0.05},
       {{"reversible", ReversibleAdjoint{}}, {"binomial", binomial}}},
      {"asynchronous_leapfrog",
       AsynchronousLeapfrog{.step_size = 0.05},
       {{"reversible", ReversibleAdjoint{}}, {"checkpoint", CheckpointAdjoint{}}}},
      {"implicit_euler",
       ImplicitEuler{.step_size = 0.1},
       {{"implicit", ImplicitAdjoint{}}, {"binomial", binomial}}},
      {"trapezoid",
       Trapezoid{.step_size = 0.1},
       {{"implicit", ImplicitAdjoint{}}, {"checkpoint", CheckpointAdjoint{}}}},
      {"bdf2", BDF2{.step_size = 0.1}, {{"implicit", ImplicitAdjoint{}}, {"binomial", binomial}}},
      {"leapfrog",
       Leapfrog{.step_size = 0.05},
       {{"binomial", binomial}, {"checkpoint 3", CheckpointAdjoint{.checkpoints = 3}}},
       true},
      {"yoshida4", Yoshida4{.step_size = 0.05}, {{"checkpoint", CheckpointAdjoint{}}}, true},
  };
  for (const Group& g : groups) {
    TensorList reference = g.separable
                               ? gradients(separable, z0, times, g.solver, Backprop{}, weights)
                               : gradients(mlp, z0, times, g.solver, Backprop{}, weights);
    for (const auto& [name, scheme] : g.schemes) {
      TensorList got = g.separable ? gradients(separable, z0, times, g.solver, scheme, weights)
                                   : gradients(mlp, z0, times, g.solver, scheme, weights);
      double err = relative_error(got, reference);
      INFO(g.solver_name << " / " << name << ": relative difference from backprop " << err);
      CHECK(err < 1e-10);
    }
  }
}

// The adjoints' vector-Jacobian products keep the fused perceptron's hidden values instead of
// recomputing them (field_vjp sets KeepIntermediatesGuard): with an nn::MLP field on 40 rows
// (two blocks of AVX-512 float64 lanes and a partial one), the symplectic adjoint still
// matches backprop through RK4 to 1e-10 and the backsolve adjoint matches backprop within
// its tolerances.
TEST_CASE("adjoints of an nn::MLP field, its hidden values kept for the vector-Jacobian products",
          "[ode][schemes]") {
  using namespace ode;
  manual_seed(8);
  nn::MLP f({2, 24, 2}, {.dtype = DType::Float64});
  const Tensor z0 = randn({40, 2}, kF64);
  const Tensor weights = randn({3, 40, 2}, kF64);
  const std::vector<double> times = {0.0, 0.5, 1.0};
  auto grads = [&](const Solver& solver, const Grad& scheme) {
    Tensor z = z0.detach().requires_grad_();
    Tensor zs = odeint(f, z, times, {.solver = solver, .grad = scheme, .params = f.parameters()});
    TensorList inputs = {z};
    for (const Tensor& p : f.parameters()) inputs.push_back(p);
    return autograd::grad({loss_of(zs, weights)}, inputs);
  };
  const TensorList rk4 = grads(RK4{.step_size = 0.05}, Backprop{});
  const double symplectic = relative_error(grads(RK4{.step_size = 0.05}, SymplecticAdjoint{}), rk4);
  INFO("symplectic adjoint against backprop through rk4: " << symplectic);
  CHECK(symplectic < 1e-10);
  const Dopri5 tight{.rtol = 1e-10, .atol = 1e-12};
  const double backsolve = relative_error(
      grads(tight, BacksolveAdjoint{.rtol = 1e-10, .atol = 1e-12}), grads(tight, Backprop{}));
  INFO("backsolve adjoint against backprop through dopri5: " << backsolve);
  CHECK(backsolve < 1e-7);
}

TEST_CASE("implicit layers and the implicit adjoint match finite differences",
          "[ode][schemes][implicit]") {
  manual_seed(4);
  TensorList inputs = {randn({2, 3}, kF64).requires_grad_(),
                       (randn({3, 3}, kF64) * 0.5).requires_grad_(),
                       randn({3}, kF64).requires_grad_()};
  auto euler_layer = [](const TensorList& in) {
    Tensor w = in[1], b = in[2];
    // By value: the layer keeps f for its backward pass.
    return TensorList{ode::implicit_euler_layer(
        [w, b](const Tensor& x) { return tanh(matmul(x, w) + b); }, in[0], 0.7)};
  };
  autograd::GradcheckResult r = autograd::gradcheck(euler_layer, inputs);
  INFO(r.message);
  CHECK(r.ok);

  auto deq = [](const TensorList& in) {
    Tensor w = in[1], u = in[0];
    auto f = [w, u](const Tensor& z) { return tanh(matmul(z, w) + u) * 0.8; };
    return TensorList{ode::fixed_point(f, zeros_like(u))};
  };
  r = autograd::gradcheck(deq, {inputs[0], inputs[1]});
  INFO(r.message);
  CHECK(r.ok);
  auto deq_by_iteration = [](const TensorList& in) {
    Tensor w = in[1], u = in[0];
    auto f = [w, u](const Tensor& z) { return tanh(matmul(z, w) + u) * 0.8; };
    return TensorList{ode::fixed_point(
        f, zeros_like(u), {.method = ode::NonlinearMethod::FixedPoint, .max_iters = 500})};
  };
  r = autograd::gradcheck(deq_by_iteration, {inputs[0], inputs[1]});
  INFO(r.message);
  CHECK(r.ok);

  for (ode::Solver solver : {ode::Solver(ode::ImplicitEuler{.step_size = 0.2}),
                             ode::Solver(ode::BDF2{.step_size = 0.2})}) {
    auto solve = [solver](const TensorList& in) {
      Tensor w = in[1], b = in[2];
      auto f = [w, b](double, const Tensor& z) { return tanh(matmul(z, w) + b) - z; };
      return TensorList{
          ode::odeint(f, in[0], {0.0, 0.5, 1.0},
                      {.solver = solver, .grad = ode::ImplicitAdjoint{}, .params = {w, b}})};
    };
    r = autograd::gradcheck(solve, inputs);
    INFO(solver.name() << ": " << r.message);
    CHECK(r.ok);
  }
}

TEST_CASE("gradients with respect to the times match finite differences", "[ode][schemes]") {
  manual_seed(5);
  Mlp mlp;
  const Tensor z0 = randn({2, 2}, kF64);
  for (ode::Grad grad : {ode::Grad(ode::Backprop{}), ode::Grad(ode::BacksolveAdjoint{})}) {
    auto loss = [&](const Tensor& times) {
      Tensor zs = ode::odeint(mlp.field(), z0, times,
                              {.solver = ode::Dopri5{.rtol = 1e-11, .atol = 1e-11},
                               .grad = grad,
                               .params = mlp.params()});
      return square(zs).sum();
    };
    Tensor t = tensor({0.1, 0.6, 1.2}, {.dtype = DType::Float64, .requires_grad = true});
    Tensor g = autograd::grad({loss(t)}, {t})[0];
    for (int k = 0; k < 3; ++k) {
      const double eps = 1e-5;
      std::vector<double> up = {0.1, 0.6, 1.2}, down = up;
      up[k] += eps, down[k] -= eps;
      double fd =
          (loss(tensor(up, {3}, kF64)).item() - loss(tensor(down, {3}, kF64)).item()) / (2 * eps);
      INFO(grad.name() << ": dL/dt" << k << " = " << g.select(0, k).item()
                       << ", finite differences " << fd);
      CHECK(std::abs(g.select(0, k).item() - fd) < 1e-6 * (1 + std::abs(fd)));
    }
  }
}

namespace {

// A scheme written against the public interface only: the discrete adjoint of
// ode/schemes/discrete.h with a checkpoint at every step, in a dozen lines.
struct EveryStepAdjoint {
  std::string name() const { return "every_step_adjoint"; }
  TensorList solve(const ode::Problem& p) const {
    struct Pass : ode::Adjoint {
      ode::Trajectory tr;
      std::vector<ode::SolverState> before;
      std::vector<ode::State> forward(const ode::Problem& p) override {
        tr = p.integrate([&](size_t, const ode::SolverState& s, const ode::StepOutput&) {
          before.push_back(ode::checkpoint_of(s));
        });
        return tr.outputs;
      }
      ode::Gradients backward(const ode::Problem& p, const std::vector<ode::State>& g) override {
        ode::DiscreteBackward back(p, tr, g);
        ode::StateAdjoint a = back.final_adjoint(tr.final_state);
        for (size_t n = before.size(); n-- > 0;) a = back.segment(n, n + 1, before[n], a);
        return back.finish(a);
      }
    };
    return ode::solve_with_adjoint(p, std::make_shared<Pass>());
  }
};

}  // namespace

TEST_CASE("a scheme written outside ctdl plugs into odeint", "[ode][schemes]") {
  manual_seed(6);
  Mlp mlp;
  const Tensor z0 = randn({2, 2}, kF64), weights = randn({3, 2, 2}, kF64);
  ode::Solver solver = ode::Tsit5{.rtol = 1e-6};
  TensorList reference = gradients(mlp, z0, {0.0, 0.4, 1.0}, solver, ode::Backprop{}, weights);
  TensorList got = gradients(mlp, z0, {0.0, 0.4, 1.0}, solver, EveryStepAdjoint{}, weights);
  CHECK(relative_error(got, reference) < 1e-10);
}

TEST_CASE("schemes refuse solvers they cannot differentiate", "[ode][schemes][errors]") {
  Tensor z0 = ones({1, 2}, kF64).requires_grad_();
  auto f = [](double, const Tensor& z) { return -z; };
  CHECK_THROWS_WITH_ALL(
      ode::odeint(f, z0, {0.0, 1.0},
                  {.solver = ode::RK4{.step_size = 0.1}, .grad = ode::ReversibleAdjoint{}}),
      "reversible_adjoint", "reversible solver", "rk4");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(f, z0, {0.0, 1.0},
                  {.solver = ode::Leapfrog{.step_size = 0.1}, .grad = ode::SymplecticAdjoint{}}),
      "symplectic_adjoint", "Runge", "leapfrog");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(f, z0, {0.0, 1.0},
                  {.solver = ode::RK4{.step_size = 0.1}, .grad = ode::ImplicitAdjoint{}}),
      "implicit_adjoint", "implicit solver", "rk4");
}

TEST_CASE("adjoint schemes refuse an f that uses unlisted tensors that require grad",
          "[ode][schemes][errors]") {
  Tensor w = ones({2, 2}, kF64).requires_grad_(), v = ones({2}, kF64).requires_grad_();
  Tensor z0 = ones({1, 2}, kF64);
  auto f = [w, v](double, const Tensor& z) { return matmul(z, w) * 0.1 + v; };
  auto solve = [&](ode::Grad grad, TensorList params) {
    return ode::odeint(f, z0, {0.0, 1.0},
                       {.solver = ode::RK4{.step_size = 0.1}, .grad = grad, .params = params});
  };
  CHECK_THROWS_WITH_ALL(solve(ode::BacksolveAdjoint{}, {w}), "backsolve_adjoint", "shape [2]",
                        "not in options.params");
  CHECK_THROWS_WITH_ALL(solve(ode::CheckpointAdjoint{}, {}), "checkpoint_adjoint",
                        "not in options.params");
  CHECK_NOTHROW(solve(ode::BacksolveAdjoint{}, {w, v}));
  CHECK_NOTHROW(solve(ode::Backprop{}, {}));  // backprop needs no list
  // A listed non-leaf stands for everything behind it.
  Tensor wt = w.t();
  auto g = [wt, v](double, const Tensor& z) { return matmul(z, wt) * 0.1 + v; };
  CHECK_NOTHROW(ode::odeint(
      g, z0, {0.0, 1.0},
      {.solver = ode::RK4{.step_size = 0.1}, .grad = ode::BacksolveAdjoint{}, .params = {wt, v}}));
}

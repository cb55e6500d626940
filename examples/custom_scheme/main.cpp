// A new gradient scheme in one file, outside ctdl's sources: the "Hermite adjoint".
//
// Backsolve (Chen et al. 2018) re-solves z backwards next to the adjoint a, which is
// cheap in memory but inaccurate when the reverse dynamics are unstable. This scheme keeps
// the forward's accepted states instead and reads z(t) off the cubic Hermite interpolant
// through them while it solves only [a, dL/dθ] backwards (the idea of interpolated adjoints,
// e.g. Daulbaev et al. 2020). Memory: one state per forward step.
//
// It is used twice below: directly in ode::odeint, and by name in the adjoint lab after
// ode::register_scheme. Run it with a lab problem to add it to your comparisons:
//   build/bin/example_custom_scheme examples/lab/mlp.json
#include <ctdl/ctdl.h>
#include <ctdl/ode/lab/lab.h>
#include <ctdl/ode/ode.h>
#include <ctdl/ode/registry.h>

#include <algorithm>
#include <cmath>
#include <iostream>

using namespace ctdl;

// What the user writes in odeint's options: the scheme's settings, name() and solve().
struct HermiteAdjoint {
  double rtol = 1e-8, atol = 1e-10;  // of the backward solve (dopri5)
  std::string name() const { return "hermite_adjoint"; }
  TensorList solve(const ode::Problem& p) const;
};

// The work: forward keeps the states, backward solves the adjoint equation.
struct HermitePass : ode::Adjoint {
  explicit HermitePass(HermiteAdjoint o) : options(o) {}
  HermiteAdjoint options;
  std::vector<double> ts;          // the forward's step boundaries, increasing
  std::vector<ode::State> zs, fs;  // z and f(t, z) there

  std::vector<ode::State> forward(const ode::Problem& p) override {
    CTDL_CHECK(p.times.back() > p.times.front(), "hermite_adjoint: times must increase");
    ode::Trajectory tr =
        p.integrate([&](size_t, const ode::SolverState& before, const ode::StepOutput&) {
          zs.push_back(ode::detach(before.z));
        });
    for (const ode::StepRecord& s : tr.steps) ts.push_back(s.t);
    ts.push_back(p.times.back());
    zs.push_back(ode::detach(tr.final_state.z));
    for (size_t i = 0; i < zs.size(); ++i) fs.push_back(p.f(ts[i], zs[i]));
    return tr.outputs;
  }

  // Cubic Hermite interpolation of z between the two stored states around t.
  ode::State z_at(double t) const {
    size_t i = std::upper_bound(ts.begin(), ts.end(), t) - ts.begin();
    i = std::clamp<size_t>(i, 1, ts.size() - 1) - 1;
    double h = ts[i + 1] - ts[i], s = (t - ts[i]) / h, s2 = s * s, s3 = s2 * s;
    ode::State out;
    for (size_t c = 0; c < zs[i].size(); ++c)
      out.push_back(zs[i][c] * (2 * s3 - 3 * s2 + 1) + fs[i][c] * (h * (s3 - 2 * s2 + s)) +
                    zs[i + 1][c] * (-2 * s3 + 3 * s2) + fs[i + 1][c] * (h * (s3 - s2)));
    return out;
  }

  ode::Gradients backward(const ode::Problem& p, const std::vector<ode::State>& g) override {
    const size_t m = p.z0.size();
    // y = [a..., dL/dθ...]: da/dt = -aᵀ ∂f/∂z, dg/dt = -aᵀ ∂f/∂θ, with z from the interpolant.
    ode::Field adjoint = [&](double t, const ode::State& y) {
      ode::FieldVjp v = ode::field_vjp(p, t, z_at(t), ode::State(y.begin(), y.begin() + m));
      ode::State out;
      for (const Tensor& x : v.z) out.push_back(-x);
      for (const Tensor& x : v.params) out.push_back(-x);
      return out;
    };
    ode::State a = g.back();
    TensorList grad_params;
    for (const Tensor& w : p.params) grad_params.push_back(zeros_like(w));
    ode::Solver solver = ode::Dopri5{.rtol = options.rtol, .atol = options.atol};
    for (size_t k = p.times.size() - 1; k > 0; --k) {
      ode::State y = a;
      y.insert(y.end(), grad_params.begin(), grad_params.end());
      ode::State end =
          ode::integrate(solver, adjoint, y, {p.times[k], p.times[k - 1]}, p.stats.get())
              .outputs.back();
      a = ode::add(ode::State(end.begin(), end.begin() + m), g[k - 1]);
      grad_params.assign(end.begin() + m, end.end());
    }
    return {a, grad_params};
  }
};

TensorList HermiteAdjoint::solve(const ode::Problem& p) const {
  return ode::solve_with_adjoint(p, std::make_shared<HermitePass>(*this), "hermite_adjoint");
}

int main(int argc, char** argv) {
  ode::register_scheme("hermite_adjoint", [](const ode::NamedOptions& o) {
    return ode::Grad(
        HermiteAdjoint{.rtol = o.number("rtol", 1e-8), .atol = o.number("atol", 1e-10)});
  });
  if (argc > 1) {  // a lab problem, whose runs may now name "hermite_adjoint"
    std::cout << ode::lab::markdown_table(ode::lab::run_file(argv[1]));
    return 0;
  }

  // 1. In odeint, next to the built-in schemes.
  manual_seed(0);
  const TensorOptions f64{.dtype = DType::Float64};
  Tensor w1 = (randn({2, 32}, f64) * 0.8).requires_grad_(),
         w2 = (randn({32, 2}, f64) * 0.3).requires_grad_();
  auto f = [w1, w2](double, const Tensor& z) { return matmul(tanh(matmul(z, w1)), w2); };
  Tensor z0 = randn({64, 2}, f64);
  auto grads = [&](ode::Grad scheme, std::shared_ptr<ode::Stats> stats) {
    Tensor zs = ode::odeint(f, z0, {0.0, 0.5, 1.0},
                            {.solver = ode::Dopri5{.rtol = 1e-7, .atol = 1e-9},
                             .grad = scheme,
                             .params = {w1, w2},
                             .stats = stats});
    return autograd::grad({square(zs).sum()}, {w1, w2});
  };
  TensorList reference = grads(ode::Backprop{}, std::make_shared<ode::Stats>());
  bool ok = true;  // this program runs as a test: a wrong gradient fails it
  for (ode::Grad scheme : {ode::Grad(ode::BacksolveAdjoint{}), ode::Grad(HermiteAdjoint{})}) {
    auto stats = std::make_shared<ode::Stats>();
    TensorList g = grads(scheme, stats);
    double num = 0, den = 0;
    for (size_t i = 0; i < g.size(); ++i)
      num += square(g[i] - reference[i]).sum().item(), den += square(reference[i]).sum().item();
    std::cout << scheme.name() << ": relative difference from backprop " << std::sqrt(num / den)
              << ", " << stats->nfe_forward << " + " << stats->nfe_backward()
              << " evaluations of f\n";
    // Both differ from backprop by the forward solve's error (rtol 1e-7), not more.
    ok = ok && std::sqrt(num / den) < 1e-5;
  }

  // 2. In the lab, by name.
  std::string problem = R"({
    "system": {"type": "vanderpol", "mu": 1.0}, "z0": [[2.0, 0.0], [1.0, 1.0]], "t": [0.0, 1.0, 3.0],
    "loss": {"type": "sum_squares"},
    "runs": [{"name": "backsolve", "solver": "dopri5", "rtol": 1e-8, "atol": 1e-10, "grad": "backsolve_adjoint"},
             {"name": "hermite", "solver": "dopri5", "rtol": 1e-8, "atol": 1e-10, "grad": "hermite_adjoint"}]})";
  std::string result = ode::lab::run(problem);
  std::cout << "\n" << ode::lab::markdown_table(result);
  ok = ok && result.find("\"error\"") == std::string::npos;
  if (!ok) std::cerr << "custom_scheme: a gradient is off, or a lab run failed\n";
  return ok ? 0 : 1;
}

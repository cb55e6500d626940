// examples/neural_ode: the data, the RNODE regularizers against independent computations
// (quadrature along the trajectory, the full Jacobian), gradients by finite differences and
// across gradient schemes, and short trainings that must lower their loss.
#include <catch2/catch.hpp>
#include <cmath>

#include "../helpers.h"
#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/gradcheck.h"
#include "ctdl/examples/neural_ode/data.h"
#include "ctdl/examples/neural_ode/rnode.h"

using namespace ctdl;
using namespace ctdl::examples::neural_ode;

namespace {

const TensorOptions f64{.dtype = DType::Float64};

Classifier tiny_classifier(ode::Solver solver, ode::Grad grad = ode::Backprop{}) {
  Classifier m({.augment = 1, .hidden = 6, .solver = solver, .grad = grad});
  m.to(DType::Float64);
  return m;
}

// Central differences of loss() in a few entries of a float64 parameter, against backward.
void check_parameter_gradient(Tensor param, const std::function<Tensor()>& loss,
                              std::vector<int64_t> entries, double tol) {
  param.zero_grad();
  loss().backward();
  std::vector<double> g = param.grad().to_vector<double>();
  double* w = param.data<double>();
  const double h = 1e-6;
  for (int64_t i : entries) {
    autograd::NoGradGuard no_grad;
    const double keep = w[i];
    w[i] = keep + h;
    double up = loss().item();
    w[i] = keep - h;
    double down = loss().item();
    w[i] = keep;
    double numeric = (up - down) / (2 * h);
    INFO("entry " << i << ": backward " << g[static_cast<size_t>(i)] << ", differences " << numeric);
    CHECK(std::abs(g[static_cast<size_t>(i)] - numeric) <= tol * (1 + std::abs(numeric)));
  }
}

}  // namespace

TEST_CASE("neural-ode: the data sets have the shapes and geometry they promise",
          "[examples][neural_ode]") {
  manual_seed(0);
  Labeled c = concentric_circles(200);
  REQUIRE(c.x.shape() == Dims{200, 2});
  REQUIRE(c.y.shape() == Dims{200});
  Tensor r = norm(c.x, 2.0, {1});
  std::vector<double> rv = r.to_vector<double>();
  std::vector<int64_t> yv = c.y.to_vector<int64_t>();
  int64_t ones_count = 0;
  for (size_t i = 0; i < rv.size(); ++i) {
    if (yv[i] == 0) CHECK(rv[i] <= 0.5 + 1e-6);
    else CHECK((rv[i] >= 1.0 - 1e-6 && rv[i] <= 1.5 + 1e-6));
    ones_count += yv[i];
  }
  CHECK(ones_count == 100);
  Labeled s = two_spirals(100, 0.0);
  CHECK(amax(norm(s.x, 2.0, {1})).item() <= 1.0 + 1e-6);
  // The cubic spiral starts at (2, 0) and obeys dz/dt = z³A: compare a centred difference.
  Tensor path = cubic_spiral(501, 5.0).to(DType::Float64);  // dt = 0.01
  CHECK(path.select(0, 0).to_vector<double>() == std::vector<double>{2.0, 0.0});
  Tensor z = path.select(0, 250);
  Tensor slope = (path.select(0, 251) - path.select(0, 249)) / 0.02;
  Tensor want = matmul((z * z * z).unsqueeze(0), cubic_spiral_matrix()).squeeze(0);
  CHECK(ctdl::testing::max_abs_diff(slope, want) < 1e-2 * (1 + amax(abs(want)).item()));
}

TEST_CASE("neural-ode: the classifier's shapes, plain and regularized", "[examples][neural_ode]") {
  manual_seed(1);
  Classifier m({.augment = 2, .hidden = 8});
  Tensor x = randn({5, 2});
  CHECK(m.state_dim() == 4);
  CHECK(m.lift(x).shape() == Dims{5, 4});
  CHECK(m(x).shape() == Dims{5, 2});
  auto stats = std::make_shared<ode::Stats>();
  RegularizedOutput r = m.regularized(x, randn({5, 4}), stats);
  CHECK(r.logits.shape() == Dims{5, 2});
  CHECK(r.kinetic.shape() == Dims{5});
  CHECK(r.jacobian.shape() == Dims{5});
  CHECK(amin(r.kinetic).item() > 0);
  CHECK(amin(r.jacobian).item() > 0);
  CHECK(stats->nfe_forward > 0);
  // The regularized solve carries z as the plain one does (to the solver's tolerance: the
  // extra states take part in the step-size control).
  CHECK(ctdl::testing::max_abs_diff(r.logits, m(x)) < 1e-3);
}

TEST_CASE("neural-ode: the integrated regularizers match a quadrature along the trajectory",
          "[examples][neural_ode]") {
  manual_seed(2);
  Dynamics f(3, 8);
  f.to(DType::Float64);
  Tensor z0 = randn({4, 3}, f64), eps = randn({4, 3}, f64);
  const ode::Solver tight = ode::Dopri5{.rtol = 1e-10, .atol = 1e-12};
  RegularizedTrajectory r = solve_regularized(f, z0, eps, {0.0, 1.0}, tight, ode::Backprop{});
  // Independently: z(t) on a grid, ‖f‖² and ‖εᵀJ‖² from the full Jacobian, Simpson's rule.
  const int64_t K = 200;
  std::vector<double> times;
  for (int64_t k = 0; k <= K; ++k) times.push_back(static_cast<double>(k) / K);
  Tensor zs = ode::odeint([f](double, const Tensor& z) { return f(z); }, z0, times,
                          {.solver = tight});
  std::vector<double> kin(4, 0.0), jac(4, 0.0);
  for (int64_t k = 0; k <= K; ++k) {
    const double w = (k == 0 || k == K ? 1.0 : (k % 2 ? 4.0 : 2.0)) / (3.0 * K);
    for (int64_t b = 0; b < 4; ++b) {
      Tensor zb = zs.select(0, k).select(0, b);
      Tensor J = autograd::jacobian([&f](const Tensor& v) { return f(v.unsqueeze(0)).squeeze(0); },
                                    zb);  // [3, 3]: J[i, j] = ∂f_i/∂z_j
      Tensor eJ = matmul(eps.select(0, b).unsqueeze(0), J);
      kin[static_cast<size_t>(b)] += w * square(f(zb.unsqueeze(0))).sum().item();
      jac[static_cast<size_t>(b)] += w * square(eJ).sum().item();
    }
  }
  std::vector<double> got_k = r.kinetic.select(0, 1).to_vector<double>();
  std::vector<double> got_j = r.jacobian.select(0, 1).to_vector<double>();
  for (size_t b = 0; b < 4; ++b) {
    CHECK(got_k[b] == Approx(kin[b]).epsilon(1e-6));
    CHECK(got_j[b] == Approx(jac[b]).epsilon(1e-6));
  }
}

TEST_CASE("neural-ode: Hutchinson's estimate averages to the Jacobian's Frobenius norm",
          "[examples][neural_ode]") {
  manual_seed(3);
  Dynamics f(3, 8);
  f.to(DType::Float64);
  Tensor z = randn({1, 3}, f64);
  Tensor J = autograd::jacobian([&f](const Tensor& v) { return f(v.unsqueeze(0)).squeeze(0); },
                                z.squeeze(0));
  const double frobenius = square(J).sum().item();
  // The field's J-rate for 20,000 draws of ε at the same z.
  const int64_t S = 20000;
  Tensor eps = randn({S, 3}, f64);
  ode::State rates = regularized_field(f, eps)(0.0, {z.expand({S, 3}).contiguous(),
                                                     zeros({S}, f64), zeros({S}, f64)});
  CHECK(rates[2].mean().item() == Approx(frobenius).epsilon(0.03));
  CHECK(rates[1].select(0, 0).item() == Approx(square(f(z)).sum().item()).epsilon(1e-12));
}

TEST_CASE("neural-ode: gradients of the regularized classifier pass gradcheck",
          "[examples][neural_ode]") {
  manual_seed(4);
  Classifier m = tiny_classifier(ode::RK4{.step_size = 0.25});
  Tensor eps = randn({3, 3}, f64);
  Tensor x = randn({3, 2}, f64).requires_grad_();
  auto f = [&](const TensorList& in) {
    RegularizedOutput r = m.regularized(in[0], eps);
    return TensorList{r.logits, r.kinetic, r.jacobian};
  };
  autograd::GradcheckResult g = autograd::gradcheck(f, {x});
  INFO(g.message);
  CHECK(g.ok);
  // And with respect to the parameters (through the vjp recorded inside the field).
  Tensor y = tensor(std::vector<int64_t>{0, 1, 1}, {3});
  auto loss = [&] {
    RegularizedOutput r = m.regularized(x.detach(), eps);
    return nn::cross_entropy(r.logits, y) + r.kinetic.mean() * 0.3 + r.jacobian.mean() * 0.7;
  };
  check_parameter_gradient(m.block.f.fc1.weight, loss, {0, 5, 11}, 1e-6);
  check_parameter_gradient(m.block.f.fc2.bias, loss, {0, 3}, 1e-6);
}

TEST_CASE("neural-ode: the backsolve adjoint of the regularized solve agrees with backprop",
          "[examples][neural_ode]") {
  manual_seed(5);
  Tensor x = randn({4, 2}, f64), eps = randn({4, 3}, f64);
  Tensor y = tensor(std::vector<int64_t>{0, 1, 1, 0}, {4});
  const ode::Solver tight = ode::Dopri5{.rtol = 1e-9, .atol = 1e-10};
  Classifier a = tiny_classifier(tight);
  Classifier b = tiny_classifier(tight, ode::BacksolveAdjoint{});
  b.load_state_dict(a.state_dict());
  auto loss = [&](const Classifier& m) {
    RegularizedOutput r = m.regularized(x, eps);
    return nn::cross_entropy(r.logits, y) + r.kinetic.mean() * 0.1 + r.jacobian.mean() * 0.1;
  };
  loss(a).backward();
  loss(b).backward();
  for (const auto& [name, p] : a.named_parameters()) {
    INFO(name);
    CHECK(ctdl::testing::max_abs_diff(p.grad(), b.at(name).grad()) <
          1e-5 * (1 + amax(abs(p.grad())).item()));
  }
}

TEST_CASE("neural-ode: a few training steps lower the loss, plain and with RNODE",
          "[examples][neural_ode]") {
  manual_seed(6);
  Labeled d = concentric_circles(128);
  for (double lambda : {0.0, 0.1}) {
    manual_seed(7);
    Classifier m({.augment = 1, .hidden = 16, .solver = ode::Dopri5{.rtol = 1e-4, .atol = 1e-4}});
    nn::Adam opt(m.parameters(), {.lr = 0.02});
    auto loss_now = [&](bool record) {
      autograd::GradModeGuard mode(record);
      if (lambda == 0) return nn::cross_entropy(m(d.x), d.y);
      RegularizedOutput r = m.regularized(d.x, randn({128, 3}));
      return nn::cross_entropy(r.logits, d.y) + (r.kinetic.mean() + r.jacobian.mean()) * lambda;
    };
    manual_seed(8);
    const double first = loss_now(false).item();
    for (int step = 0; step < 40; ++step) {
      Tensor l = loss_now(true);
      opt.zero_grad();
      l.backward();
      opt.step();
    }
    manual_seed(8);
    const double last = loss_now(false).item();
    INFO("lambda " << lambda << ": loss " << first << " -> " << last);
    CHECK(last < 0.8 * first);
  }
}

// Adaptive step-size control, dense output, and the errors odeint reports instead of
// hanging or returning NaN.
#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;

namespace {

Tensor rotation(double, const Tensor& z) {
  return cat({z.narrow(-1, 1, 1), -z.narrow(-1, 0, 1)}, -1);
}

Tensor unit_state() { return tensor({1.0, 0.0}, kF64).reshape({1, 2}); }

Tensor exact_rotation(double t) {
  return tensor({std::cos(t), -std::sin(t)}, kF64).reshape({1, 2});
}

}  // namespace

TEST_CASE("adaptive solvers meet their tolerance and take fewer steps when it is loose",
          "[ode][adaptive]") {
  KeplerOrbit orbit;
  autograd::NoGradGuard no_grad;
  for (auto make :
       {+[](double tol) { return ode::Solver(ode::Bosh3{.rtol = tol, .atol = tol}); },
        +[](double tol) { return ode::Solver(ode::Dopri5{.rtol = tol, .atol = tol}); },
        +[](double tol) { return ode::Solver(ode::Tsit5{.rtol = tol, .atol = tol}); }}) {
    std::vector<int64_t> steps;
    std::vector<double> errors;
    for (double tol : {1e-4, 1e-7, 1e-10}) {
      auto stats = std::make_shared<ode::Stats>();
      Tensor zs = ode::odeint(KeplerOrbit::f, orbit.z0(), {0.0, 3.0},
                              {.solver = make(tol), .stats = stats});
      errors.push_back(max_abs_diff(zs.select(0, 1), orbit.exact(3.0)));
      steps.push_back(stats->steps);
      INFO(make(tol).name() << " tol " << tol << ": error " << errors.back() << ", " << stats->steps
                            << " steps, " << stats->rejected_steps << " rejected");
      CHECK(errors.back() < 100 * tol);  // global error: a modest multiple of the local tolerance
    }
    CHECK(steps[0] < steps[1]);
    CHECK(steps[1] < steps[2]);
    CHECK(errors[2] < errors[0]);
  }
}

TEST_CASE("requested times inside a step come from the dense output, not extra steps",
          "[ode][adaptive]") {
  autograd::NoGradGuard no_grad;
  for (auto make : {+[] { return ode::Solver(ode::Bosh3{.rtol = 1e-8, .atol = 1e-10}); },
                    +[] { return ode::Solver(ode::Dopri5{.rtol = 1e-8, .atol = 1e-10}); },
                    +[] { return ode::Solver(ode::Tsit5{.rtol = 1e-8, .atol = 1e-10}); }}) {
    auto coarse = std::make_shared<ode::Stats>(), dense = std::make_shared<ode::Stats>();
    ode::odeint(rotation, unit_state(), {0.0, 5.0}, {.solver = make(), .stats = coarse});
    std::vector<double> times;
    for (int i = 0; i <= 100; ++i) times.push_back(0.05 * i);
    Tensor zs = ode::odeint(rotation, unit_state(), times, {.solver = make(), .stats = dense});
    INFO(make().name());
    CHECK(dense->steps == coarse->steps);
    CHECK(dense->nfe == coarse->nfe);
    double worst = 0;
    for (size_t i = 0; i < times.size(); ++i)
      worst = std::max(worst, max_abs_diff(zs.select(0, i), exact_rotation(times[i])));
    CHECK(worst < 1e-6);
  }
}

TEST_CASE("dopri5's dense output is fourth order inside a step", "[ode][adaptive]") {
  // One fixed step of size h; the midpoint value's error must fall like h^5 (local error of
  // a fourth-order interpolant).
  const ode::ExplicitRKMethod dopri5(ode::dopri5_tableau(), true);
  autograd::NoGradGuard no_grad;
  std::vector<double> hs, errs;
  for (double h : {0.4, 0.2, 0.1}) {
    ode::Field f = [](double t, const ode::State& z) { return ode::State{rotation(t, z[0])}; };
    ode::SolverState s{{unit_state()}, {}, {}};
    ode::StepOutput out = dopri5.step(f, 0.0, h, s);
    hs.push_back(h);
    errs.push_back(max_abs_diff(dopri5.interpolate(s, out, h, 0.37)[0], exact_rotation(0.37 * h)));
  }
  CHECK(loglog_slope(hs, errs) > 4.7);
}

TEST_CASE("times may decrease: integrating backwards undoes integrating forwards",
          "[ode][adaptive]") {
  autograd::NoGradGuard no_grad;
  Tensor forward = ode::odeint(rotation, unit_state(), {0.0, 2.0},
                               {.solver = ode::Dopri5{.rtol = 1e-10, .atol = 1e-12}});
  Tensor back = ode::odeint(rotation, forward.select(0, 1), {2.0, 1.0, 0.0},
                            {.solver = ode::Dopri5{.rtol = 1e-10, .atol = 1e-12}});
  CHECK(max_abs_diff(back.select(0, 1), exact_rotation(1.0)) < 1e-8);
  CHECK(max_abs_diff(back.select(0, 2), unit_state()) < 1e-8);
}

TEST_CASE("states may be lists of tensors of any shapes, float32 or float64", "[ode][adaptive]") {
  autograd::NoGradGuard no_grad;
  // x' = y, y' = -x with x of shape [3] and y of shape [3, 1].
  ode::Field f = [](double, const ode::State& z) {
    return ode::State{z[1].reshape({3}), -z[0].reshape({3, 1})};
  };
  for (DType dtype : {DType::Float32, DType::Float64}) {
    ode::State z0 = {ones({3}, {.dtype = dtype}), zeros({3, 1}, {.dtype = dtype})};
    TensorList zs =
        ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::Tsit5{.rtol = 1e-6, .atol = 1e-8}});
    REQUIRE(zs.size() == 2);
    CHECK(zs[0].shape() == Dims({2, 3}));
    CHECK(zs[1].shape() == Dims({2, 3, 1}));
    CHECK(zs[0].dtype() == dtype);
    CHECK(std::abs(zs[0].select(0, 1).select(0, 2).item() - std::cos(1.0)) < 1e-5);
    CHECK(std::abs(zs[1].select(0, 1).select(0, 0).item() + std::sin(1.0)) < 1e-5);
  }
}

TEST_CASE("fixed-step solvers count their evaluations exactly", "[ode][adaptive]") {
  auto stats = std::make_shared<ode::Stats>();
  ode::odeint(rotation, unit_state(), {0.0, 0.5, 1.0},
              {.solver = ode::RK4{.step_size = 0.1}, .stats = stats});
  CHECK(stats->steps == 10);
  CHECK(stats->nfe == 40);
  ode::odeint(rotation, unit_state(), {0.0, 1.0},
              {.solver = ode::Dopri5{.step_size = 0.1}, .stats = stats});
  CHECK(stats->nfe == 1 + 10 * 6);  // first same as last
}

TEST_CASE("solver failures are errors naming t, the step size and the cause",
          "[ode][adaptive][errors]") {
  autograd::NoGradGuard no_grad;
  Tensor one = ones({1}, kF64);
  // y' = y² from y(0) = 1 blows up at t = 1.
  auto blowup = [](double, const Tensor& y) { return y * y; };
  CHECK_THROWS_WITH_ALL(ode::odeint(blowup, one, {0.0, 2.0}, {.solver = ode::Dopri5{.rtol = 1e-6}}),
                        "dopri5", "at t=1 ", "step size h=", "underflow", "blow up");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(blowup, one, {0.0, 2.0}, {.solver = ode::Dopri5{.rtol = 1e-6, .min_step = 1e-3}}),
      "at t=0.9", "below min_step=0.001");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(blowup, one, {0.0, 0.9}, {.solver = ode::Dopri5{.rtol = 1e-10, .max_steps = 5}}),
      "dopri5", "step budget", "max_steps=5", "step size h=");
  auto nan_after_half = [](double t, const Tensor& y) { return t > 0.5 ? y * NAN : -y; };
  CHECK_THROWS_WITH_ALL(ode::odeint(nan_after_half, one, {0.0, 1.0}, {.solver = ode::Tsit5{}}),
                        "tsit5", "at t=0.5", "NaN or Inf");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(nan_after_half, one, {0.0, 1.0}, {.solver = ode::RK4{.step_size = 0.1}}), "rk4",
      "NaN or Inf between t=0 and t=1", "h=0.1");
  CHECK_THROWS_WITH_ALL(ode::odeint(blowup, one, {0.0, 1.0, 0.5}), "strictly increasing",
                        "times[2] = 0.5");
  CHECK_THROWS_WITH_ALL(ode::odeint(blowup, one, {0.0, 1.0}, {.solver = ode::RK4{}}), "rk4",
                        "step_size > 0");
  auto wrong_shape = [](double, const Tensor& y) { return cat({y, y}); };
  CHECK_THROWS_WITH_ALL(ode::odeint(wrong_shape, one, {0.0, 1.0}), "f returned shape [2]",
                        "shape [1]", "t=0");
  auto stiff = [](double, const Tensor& y) { return y * y * 50.0; };
  CHECK_THROWS_WITH_ALL(
      ode::odeint(stiff, one, {0.0, 1.0},
                  {.solver = ode::ImplicitEuler{.step_size = 0.5, .nonlinear = {.max_iters = 3}}}),
      "implicit_euler", "at t=0", "h=0.5", "did not converge in 3 iterations");
  CHECK_THROWS_WITH_ALL(
      ode::odeint(
          blowup, one, {0.0, 1.0},
          {.solver = ode::Trapezoid{.step_size = 0.5,
                                    .nonlinear = {.method = ode::NonlinearMethod::FixedPoint,
                                                  .max_iters = 5}}}),
      "trapezoid", "fixed-point", "contraction");
}

// Every solver's order of convergence, measured on Kepler's problem (eccentricity 0.3)
// against its exact solution: the log–log slope of the error at t = 3 against h is within
// 0.15 of the theory.
#include <set>

#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;

namespace {

struct Case {
  const char* name;
  std::function<ode::Solver(double h)> solver;
  int order;
  std::vector<int> steps;  // over [0, 3]: in the asymptotic range and well above rounding
};

constexpr double kT = 3.0;

double error_at_end(const ode::Solver& solver) {
  KeplerOrbit orbit;
  autograd::NoGradGuard no_grad;
  Tensor zs = ode::odeint(KeplerOrbit::f, orbit.z0(), {0.0, kT}, {.solver = solver});
  return max_abs_diff(zs.select(0, 1), orbit.exact(kT));
}

void check_order(const Case& c) {
  std::vector<double> hs, errs;
  for (int n : c.steps) {
    hs.push_back(kT / n);
    errs.push_back(error_at_end(c.solver(kT / n)));
  }
  double slope = loglog_slope(hs, errs);
  INFO(c.name << ": errors " << errs[0] << " " << errs[1] << " " << errs[2] << ", slope " << slope);
  CHECK(std::abs(slope - c.order) <= 0.15);
}

}  // namespace

TEST_CASE("explicit Runge-Kutta methods converge at their order", "[ode][solvers]") {
  const ode::ButcherTableau ralston{
      .name = "ralston", .order = 2, .c = {0, 2.0 / 3}, .a = {{}, {2.0 / 3}}, .b = {0.25, 0.75}};
  std::vector<Case> cases = {
      {"euler",
       [](double h) { return ode::Solver(ode::Euler{.step_size = h}); },
       1,
       {600, 1200, 2400}},
      {"midpoint",
       [](double h) { return ode::Solver(ode::Midpoint{.step_size = h}); },
       2,
       {150, 300, 600}},
      {"heun", [](double h) { return ode::Solver(ode::Heun{.step_size = h}); }, 2, {150, 300, 600}},
      {"rk4", [](double h) { return ode::Solver(ode::RK4{.step_size = h}); }, 4, {60, 120, 240}},
      {"bosh3 (fixed steps)",
       [](double h) { return ode::Solver(ode::Bosh3{.step_size = h}); },
       3,
       {60, 120, 240}},
      {"dopri5 (fixed steps)",
       [](double h) { return ode::Solver(ode::Dopri5{.step_size = h}); },
       5,
       {40, 80, 160}},
      {"tsit5 (fixed steps)",
       [](double h) { return ode::Solver(ode::Tsit5{.step_size = h}); },
       5,
       {40, 80, 160}},
      {"a user tableau (Ralston)",
       [&](double h) { return ode::Solver(ode::ExplicitRK{.tableau = ralston, .step_size = h}); },
       2,
       {150, 300, 600}},
  };
  for (const Case& c : cases) check_order(c);
}

TEST_CASE("embedded error estimates have their stated order", "[ode][solvers]") {
  // Running the embedded weights as the method shows the order of the error estimator.
  for (const ode::ButcherTableau* t :
       {&ode::bosh3_tableau(), &ode::dopri5_tableau(), &ode::tsit5_tableau()}) {
    ode::ButcherTableau embedded = *t;
    embedded.name += "_embedded";
    embedded.b = t->b_error;
    embedded.b_error.clear();
    embedded.dense = nullptr;
    std::vector<int> steps =
        t->error_order == 2 ? std::vector<int>{150, 300, 600} : std::vector<int>{60, 120, 240};
    check_order({embedded.name.c_str(),
                 [&](double h) {
                   return ode::Solver(ode::ExplicitRK{.tableau = embedded, .step_size = h});
                 },
                 t->error_order, steps});
  }
}

TEST_CASE("implicit methods converge at their order", "[ode][solvers]") {
  std::vector<Case> cases = {
      {"implicit_euler",
       [](double h) { return ode::Solver(ode::ImplicitEuler{.step_size = h}); },
       1,
       {300, 600, 1200}},
      {"trapezoid",
       [](double h) { return ode::Solver(ode::Trapezoid{.step_size = h}); },
       2,
       {75, 150, 300}},
      {"bdf2", [](double h) { return ode::Solver(ode::BDF2{.step_size = h}); }, 2, {75, 150, 300}},
      {"trapezoid, fixed-point iteration",
       [](double h) {
         return ode::Solver(ode::Trapezoid{
             .step_size = h, .nonlinear = {.method = ode::NonlinearMethod::FixedPoint}});
       },
       2,
       {75, 150, 300}},
  };
  for (const Case& c : cases) check_order(c);
}

TEST_CASE("symplectic and reversible methods converge at their order", "[ode][solvers]") {
  std::vector<Case> cases = {
      {"symplectic_euler",
       [](double h) { return ode::Solver(ode::SymplecticEuler{.step_size = h}); },
       1,
       {600, 1200, 2400}},
      {"leapfrog",
       [](double h) { return ode::Solver(ode::Leapfrog{.step_size = h}); },
       2,
       {150, 300, 600}},
      {"yoshida4",
       [](double h) { return ode::Solver(ode::Yoshida4{.step_size = h}); },
       4,
       {30, 60, 120}},
      {"reversible_heun",
       [](double h) { return ode::Solver(ode::ReversibleHeun{.step_size = h}); },
       2,
       {150, 300, 600}},
      {"asynchronous_leapfrog",
       [](double h) { return ode::Solver(ode::AsynchronousLeapfrog{.step_size = h}); },
       2,
       {150, 300, 600}},
  };
  for (const Case& c : cases) check_order(c);
}

TEST_CASE("tableaus are validated", "[ode][solvers]") {
  for (const ode::ButcherTableau* t :
       {&ode::euler_tableau(), &ode::midpoint_tableau(), &ode::heun_tableau(), &ode::rk4_tableau(),
        &ode::bosh3_tableau(), &ode::dopri5_tableau(), &ode::tsit5_tableau()})
    CHECK_NOTHROW(t->validate());
  ode::ButcherTableau bad{.name = "bad", .order = 2, .c = {0, 0.5}, .a = {{}, {0.4}}, .b = {0, 1}};
  CHECK_THROWS_WITH_ALL(bad.validate(), "bad", "row 1", "c[1] = 0.5");
  bad.a = {{}, {0.5}};
  bad.b = {0.5, 0.6};
  CHECK_THROWS_WITH_ALL(bad.validate(), "bad", "sum to 1.1");
}

TEST_CASE("an RK method told which components its field reads: the same bits, fewer ops",
          "[ode][solvers]") {
  // y0' = -y0·(1 + t) is read; y1' = y0², a quadrature, never is. The field records the y1
  // it is given: told, the method passes every stage the step's starting y1 instead of
  // forming it (but for a first-same-as-last method's last stage, which is the next state).
  std::vector<double> y1_seen;
  ode::Field f = [&](double t, const ode::State& y) {
    y1_seen.push_back(y[1].item());
    return ode::State{y[0] * -(1.0 + t), y[0] * y[0]};
  };
  const ode::State y0 = {tensor({1.5}, {.dtype = DType::Float64}),
                         tensor({0.25}, {.dtype = DType::Float64})};
  autograd::NoGradGuard no_grad;
  for (const ode::Solver& full : {ode::Solver(ode::RK4{.step_size = 0.1}),
                                  ode::Solver(ode::Dopri5{.rtol = 1e-8, .atol = 1e-10}),
                                  ode::Solver(ode::Bosh3{.rtol = 1e-6, .atol = 1e-8})}) {
    INFO(full.name());
    auto rk = std::dynamic_pointer_cast<const ode::ExplicitRKMethod>(full.method_ptr());
    REQUIRE(rk);
    const ode::Solver told(rk->reading_only(1), full.control());
    y1_seen.clear();
    ode::Trajectory a = ode::integrate(full, f, y0, {0.0, 0.5, 1.0});
    const std::set<double> formed(y1_seen.begin(), y1_seen.end());
    y1_seen.clear();
    ode::Trajectory b = ode::integrate(told, f, y0, {0.0, 0.5, 1.0});
    const std::set<double> unformed(y1_seen.begin(), y1_seen.end());
    for (size_t k = 0; k < a.outputs.size(); ++k)
      for (size_t c = 0; c < 2; ++c)
        CHECK(a.outputs[k][c].item() == b.outputs[k][c].item());  // the same bits
    // Formed, the stages see y1 between steps; told, the states at the steps' starts (and,
    // first same as last, the ends of rejected steps).
    CHECK(unformed.size() < formed.size());
    if (!full.control().adaptive()) CHECK(unformed.size() == b.steps.size());
  }
}

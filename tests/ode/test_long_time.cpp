// Long-time behaviour: symplectic solvers keep the energy of a harmonic oscillator and of a
// Kepler orbit bounded over 10⁵ steps while rk4's drifts; reversible solvers reconstruct
// the initial state from the final one to rounding.
#include "ctdl/ode/lab/systems.h"
#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;

namespace {

struct EnergyRecord {
  double first_half = 0, second_half = 0;  // largest relative deviation in each half
  double middle = 0, end = 0;              // relative deviation at T/2 and T
};

// 10⁵ steps, the energy sampled every 100 steps.
template <class Energy>
EnergyRecord energy_record(const ode::Solver& solver, const ode::TensorField& f, const Tensor& z0,
                           double T, Energy energy) {
  autograd::NoGradGuard no_grad;
  std::vector<double> times;
  for (int i = 0; i <= 1000; ++i) times.push_back(T * i / 1000);
  Tensor zs = ode::odeint(f, z0, times, {.solver = solver});
  std::vector<double> e = energy(zs).template to_vector<double>();
  EnergyRecord r;
  for (size_t i = 0; i < e.size(); ++i) {
    double dev = std::abs(e[i] - e[0]) / std::abs(e[0]);
    (i <= 500 ? r.first_half : r.second_half) =
        std::max(i <= 500 ? r.first_half : r.second_half, dev);
  }
  r.middle = std::abs(e[500] - e[0]) / std::abs(e[0]);
  r.end = std::abs(e[1000] - e[0]) / std::abs(e[0]);
  return r;
}

void check_bounded(const char* name, const EnergyRecord& r, double bound) {
  INFO(name << ": deviation up to " << r.first_half << " in the first half, " << r.second_half
            << " in the second");
  CHECK(r.second_half <= 1.5 * r.first_half + 1e-13);  // no trend
  CHECK(r.second_half <= bound);
}

void check_drifts(const char* name, const EnergyRecord& r, double at_least) {
  INFO(name << ": deviation " << r.middle << " at T/2, " << r.end << " at T");
  CHECK(r.end >= 1.8 * r.middle);  // grows linearly
  CHECK(r.end >= at_least);
}

}  // namespace

TEST_CASE(
    "symplectic solvers keep a harmonic oscillator's energy bounded over 1e5 steps; rk4 drifts",
    "[ode][symplectic]") {
  const double h = 0.2, T = h * 1e5;
  auto f = [](double, const Tensor& z) {
    return cat({z.narrow(-1, 1, 1), -z.narrow(-1, 0, 1)}, -1);
  };
  Tensor z0 = tensor({1.0, 0.0}, kF64).reshape({1, 2});
  auto energy = [](const Tensor& zs) { return ode::lab::harmonic_energy(zs, 1.0, 1.0); };
  check_bounded("symplectic_euler",
                energy_record(ode::SymplecticEuler{.step_size = h}, f, z0, T, energy), 0.15);
  check_bounded("leapfrog", energy_record(ode::Leapfrog{.step_size = h}, f, z0, T, energy), 0.02);
  check_bounded("yoshida4", energy_record(ode::Yoshida4{.step_size = h}, f, z0, T, energy), 1e-3);
  check_drifts("rk4", energy_record(ode::RK4{.step_size = h}, f, z0, T, energy), 0.05);
}

TEST_CASE("symplectic solvers keep a Kepler orbit's energy bounded over 1e5 steps; rk4 drifts",
          "[ode][symplectic]") {
  const double h = 0.05, T = h * 1e5;  // about 800 orbits of eccentricity 0.5
  KeplerOrbit orbit{.e = 0.5};
  auto energy = [](const Tensor& zs) { return ode::lab::kepler_energy(zs); };
  check_bounded(
      "symplectic_euler",
      energy_record(ode::SymplecticEuler{.step_size = h}, KeplerOrbit::f, orbit.z0(), T, energy),
      0.2);
  check_bounded("leapfrog",
                energy_record(ode::Leapfrog{.step_size = h}, KeplerOrbit::f, orbit.z0(), T, energy),
                0.05);
  check_bounded("yoshida4",
                energy_record(ode::Yoshida4{.step_size = h}, KeplerOrbit::f, orbit.z0(), T, energy),
                1e-3);
  check_drifts(
      "rk4", energy_record(ode::RK4{.step_size = h}, KeplerOrbit::f, orbit.z0(), T, energy), 1e-6);
}

TEST_CASE("reversible solvers reconstruct the initial state from the final one to rounding",
          "[ode][reversible]") {
  manual_seed(3);
  Tensor w = randn({4, 4}, kF64) * 0.5;
  auto mlp = [w](double t, const Tensor& z) { return tanh(matmul(z, w)) * std::cos(t); };
  Tensor z0 = randn({3, 4}, kF64);
  for (ode::Solver solver : {ode::Solver(ode::ReversibleHeun{.step_size = 0.01}),
                             ode::Solver(ode::AsynchronousLeapfrog{.step_size = 0.01})}) {
    autograd::NoGradGuard no_grad;
    ode::Field f = [&](double t, const ode::State& z) { return ode::State{mlp(t, z[0])}; };
    ode::Trajectory tr = ode::integrate(solver, f, {z0}, {0.0, 10.0});
    REQUIRE(tr.steps.size() == 1000);
    ode::SolverState s = tr.final_state;
    for (size_t n = tr.steps.size(); n-- > 0;)
      s = solver.method().inverse_step(f, tr.steps[n].t, tr.steps[n].h, s);
    ode::SolverState s0 = solver.method().init(f, 0.0, {z0});
    INFO(solver.name() << ": z0 reconstructed to " << max_abs_diff(s.z[0], z0));
    CHECK(max_abs_diff(tr.final_state.z[0], z0) > 0.1);  // it went somewhere
    CHECK(max_abs_diff(s.z[0], z0) < 1e-12);
    for (size_t i = 0; i < s.carry.size(); ++i)
      CHECK(max_abs_diff(s.carry[i], s0.carry[i]) < 1e-12);
  }
}

TEST_CASE("non-reversible methods refuse to invert a step", "[ode][reversible]") {
  ode::Solver rk4 = ode::RK4{.step_size = 0.1};
  ode::Field f = [](double, const ode::State& z) { return z; };
  CHECK_THROWS_WITH_ALL(rk4.method().inverse_step(f, 0.0, 0.1, {{ones({1}, kF64)}, {}, {}}), "rk4",
                        "not algebraically reversible");
  auto half_damped = [] {
    return ode::AsynchronousLeapfrog{.step_size = 0.1, .damping = 0.5}.make();
  };
  CHECK_THROWS_WITH_ALL(half_damped(), "damping", "1/2");
}

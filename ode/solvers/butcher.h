// Explicit Runge–Kutta methods written as Butcher tableaus: adding a method is writing one.
//
//   ode::ButcherTableau ralston{.name = "ralston", .order = 2,
//                               .c = {0, 2.0 / 3}, .a = {{}, {2.0 / 3}}, .b = {0.25, 0.75}};
//   Tensor z = ode::odeint(f, z0, {0.0, 1.0}, {.solver = ode::ExplicitRK{.tableau = ralston,
//                                                                        .step_size = 0.01}});
//
// Stage i evaluates k_i = f(t + c_i h, z + h Σ_j a_ij k_j) (j < i); the step is
// z + h Σ b_i k_i. An embedded pair adds b_error (the weights of the lower-order solution)
// for adaptive steps. A tableau whose last row of a equals b and c = 1 is "first same as
// last": its last stage is the next step's first, so it is evaluated once.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace ctdl::ode {

struct ButcherTableau {
  std::string name;
  int order = 0;        // of the solution
  int error_order = 0;  // of the embedded solution b_error (0: none)
  std::vector<double> c;
  std::vector<std::vector<double>> a;  // row i has i entries (strictly lower triangular)
  std::vector<double> b;
  std::vector<double> b_error;  // embedded weights (empty: no error estimate)
  // Dense output: weights w_i(θ) with z(t + θh) = z + h Σ w_i(θ) k_i. Empty: cubic Hermite
  // from z, f(z), z1, f(z1) (the method is made first-same-as-last to have f(z1) for free).
  std::function<std::vector<double>(double theta)> dense;

  size_t stages() const { return b.size(); }
  bool fsal() const;
  // Throws naming the entry at fault: row lengths, Σ_j a_ij = c_i, Σ b = 1.
  void validate() const;
};

// The built-in methods.
const ButcherTableau& euler_tableau();
const ButcherTableau& midpoint_tableau();
const ButcherTableau& heun_tableau();
const ButcherTableau& rk4_tableau();
const ButcherTableau& bosh3_tableau();   // Bogacki–Shampine 3(2)
const ButcherTableau& dopri5_tableau();  // Dormand–Prince 5(4), with its 4th-order dense output
const ButcherTableau& tsit5_tableau();   // Tsitouras 5(4)

}  // namespace ctdl::ode

#include "ctdl/ode/solvers/explicit_rk.h"

namespace ctdl::ode {
namespace {

// Appends the stage k = f(t + h, z1) so that Hermite interpolation has f(z1).
ButcherTableau with_fsal_stage(ButcherTableau t) {
  t.c.push_back(1.0);
  t.a.push_back(t.b);
  t.b.push_back(0.0);
  if (!t.b_error.empty()) t.b_error.push_back(0.0);
  return t;
}

}  // namespace

ExplicitRKMethod::ExplicitRKMethod(ButcherTableau tableau, bool adaptive)
    : tableau_(std::move(tableau)) {
  tableau_.validate();
  if (adaptive && !tableau_.dense && !tableau_.fsal()) tableau_ = with_fsal_stage(tableau_);
  fsal_ = tableau_.fsal();
  for (size_t i = 0; i < tableau_.b_error.size(); ++i)
    error_weights_.push_back(tableau_.b[i] - tableau_.b_error[i]);
}

StepOutput ExplicitRKMethod::step(const Field& f, double t, double h,
                                  const SolverState& state) const {
  const ButcherTableau& T = tableau_;
  const size_t s = T.stages();
  std::vector<State> k;
  k.reserve(s);
  k.push_back(fsal_ && !state.cache.empty() ? state.cache : f(t, state.z));
  State last_input;
  for (size_t i = 1; i < s; ++i) {
    // (First same as last: the last stage's input is the next state, formed whole.)
    const bool whole = fsal_ && i + 1 == s;
    State zi = combine(state.z, h, T.a[i], k, whole ? static_cast<size_t>(-1) : field_reads_);
    k.push_back(f(t + T.c[i] * h, zi));
    if (i + 1 == s) last_input = std::move(zi);
  }
  StepOutput out;
  // First same as last: the last stage was evaluated at z1 itself.
  out.next.z = fsal_ ? last_input : combine(state.z, h, T.b, k);
  out.next.carry = state.carry;
  if (fsal_) out.next.cache = k.back();
  if (!error_weights_.empty()) {
    out.error.resize(state.z.size());
    for (size_t c = 0; c < state.z.size(); ++c) {
      TensorList terms;
      std::vector<double> weights;
      terms.reserve(s);
      weights.reserve(s);
      for (size_t j = 0; j < s; ++j) {
        if (error_weights_[j] == 0.0) continue;
        terms.push_back(k[j][c]);
        weights.push_back(h * error_weights_[j]);
      }
      out.error[c] = terms.empty() ? zeros_like(state.z[c]) : linear_combination(terms, weights);
    }
  }
  out.stages = std::move(k);
  return out;
}

std::shared_ptr<const ExplicitRKMethod> ExplicitRKMethod::reading_only(size_t components) const {
  auto method = std::make_shared<ExplicitRKMethod>(*this);
  method->field_reads_ = components;
  return method;
}

std::vector<double> ExplicitRKMethod::dense_weights(double theta) const {
  const ButcherTableau& T = tableau_;
  if (T.dense) return T.dense(theta);
  CTDL_CHECK(fsal_, T.name, ": dense output needs an interpolant or a first-same-as-last tableau");
  // Cubic Hermite through z0, f(z0), z1 = z0 + hΣb_i k_i, f(z1) = k_last.
  double t2 = theta * theta, t3 = t2 * theta;
  double h01 = -2 * t3 + 3 * t2, h10 = t3 - 2 * t2 + theta, h11 = t3 - t2;
  std::vector<double> w(T.stages());
  for (size_t i = 0; i < w.size(); ++i) w[i] = h01 * T.b[i];
  w.front() += h10;
  w.back() += h11;
  return w;
}

State ExplicitRKMethod::interpolate(const SolverState& before, const StepOutput& step, double h,
                                    double theta) const {
  return combine(before.z, h, dense_weights(theta), step.stages);
}

namespace {

Solver fixed(const ButcherTableau& t, StepControl control) {
  return Solver(std::make_shared<ExplicitRKMethod>(t, false), control);
}

Solver adaptive(const ButcherTableau& t, StepControl control) {
  return Solver(std::make_shared<ExplicitRKMethod>(t, control.adaptive()), control);
}

}  // namespace

Solver Euler::make() const { return fixed(euler_tableau(), fixed_step_control(*this)); }
Solver Midpoint::make() const { return fixed(midpoint_tableau(), fixed_step_control(*this)); }
Solver Heun::make() const { return fixed(heun_tableau(), fixed_step_control(*this)); }
Solver RK4::make() const { return fixed(rk4_tableau(), fixed_step_control(*this)); }
Solver Bosh3::make() const { return adaptive(bosh3_tableau(), adaptive_control(*this)); }
Solver Dopri5::make() const { return adaptive(dopri5_tableau(), adaptive_control(*this)); }
Solver Tsit5::make() const { return adaptive(tsit5_tableau(), adaptive_control(*this)); }
Solver ExplicitRK::make() const { return fixed(tableau, fixed_step_control(*this)); }
Solver AdaptiveRK::make() const {
  CTDL_CHECK(!tableau.b_error.empty() || step_size > 0, "AdaptiveRK: tableau '", tableau.name,
             "' has no b_error, so it cannot choose its steps; give b_error or use ExplicitRK");
  return adaptive(tableau, adaptive_control(*this));
}

}  // namespace ctdl::ode

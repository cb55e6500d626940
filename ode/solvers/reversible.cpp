#include "ctdl/ode/solvers/reversible.h"

#include <cmath>

namespace ctdl::ode {
namespace {

State head(const State& s, size_t n) { return State(s.begin(), s.begin() + n); }
State tail(const State& s, size_t n) { return State(s.begin() + n, s.end()); }
State concat(State a, const State& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// carry = [ŷ..., f(ŷ)...]
class ReversibleHeunMethod final : public Method {
 public:
  std::string name() const override { return "reversible_heun"; }
  int order() const override { return 2; }
  bool reversible() const override { return true; }
  SolverState init(const Field& f, double t0, const State& z0) const override {
    return {z0, concat(z0, f(t0, z0)), {}};
  }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    size_t m = s.z.size();
    State y_hat = head(s.carry, m), f_hat = tail(s.carry, m);
    State y_hat1 = axpy(sub(scale(s.z, 2.0), y_hat), h, f_hat);
    State f1 = f(t + h, y_hat1);
    StepOutput out;
    out.next.z = axpy(s.z, h / 2, add(f_hat, f1));
    out.next.carry = concat(y_hat1, f1);
    return out;
  }
  SolverState inverse_step(const Field& f, double t, double h,
                           const SolverState& after) const override {
    size_t m = after.z.size();
    State y_hat1 = head(after.carry, m), f1 = tail(after.carry, m);
    State y_hat = axpy(sub(scale(after.z, 2.0), y_hat1), -h, f1);
    State f_hat = f(t, y_hat);
    return {axpy(after.z, -h / 2, add(f_hat, f1)), concat(y_hat, f_hat), {}};
  }
};

// carry = [v...]
class AsynchronousLeapfrogMethod final : public Method {
 public:
  explicit AsynchronousLeapfrogMethod(double eta) : eta_(eta) {}
  std::string name() const override { return "asynchronous_leapfrog"; }
  int order() const override { return 2; }
  bool reversible() const override { return true; }
  SolverState init(const Field& f, double t0, const State& z0) const override {
    return {z0, f(t0, z0), {}};
  }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    State k = axpy(s.z, h / 2, s.carry);
    State u = f(t + h / 2, k);
    State v1 = eta_ == 1.0 ? sub(scale(u, 2.0), s.carry) : axpy(s.carry, 2 * eta_, sub(u, s.carry));
    StepOutput out;
    out.next.z = axpy(k, h / 2, v1);
    out.next.carry = v1;
    return out;
  }
  SolverState inverse_step(const Field& f, double t, double h,
                           const SolverState& after) const override {
    State k = axpy(after.z, -h / 2, after.carry);
    State u = f(t + h / 2, k);
    State v = eta_ == 1.0 ? sub(scale(u, 2.0), after.carry)
                          : scale(axpy(after.carry, -2 * eta_, u), 1.0 / (1.0 - 2 * eta_));
    return {axpy(k, -h / 2, v), v, {}};
  }

 private:
  double eta_;
};

Solver fixed(std::shared_ptr<const Method> m, double step_size) {
  CTDL_CHECK(step_size > 0, m->name(), ": reversible methods take fixed steps: give step_size > 0");
  StepControl c;
  c.step_size = step_size;
  return Solver(std::move(m), c);
}

}  // namespace

Solver ReversibleHeun::make() const {
  return fixed(std::make_shared<ReversibleHeunMethod>(), step_size);
}
Solver AsynchronousLeapfrog::make() const {
  CTDL_CHECK(damping > 0 && damping <= 1 && damping != 0.5,
             "asynchronous_leapfrog: damping must be "
             "in (0, 1] and not 1/2 (the step is not invertible there), got ",
             damping);
  return fixed(std::make_shared<AsynchronousLeapfrogMethod>(damping), step_size);
}

}  // namespace ctdl::ode

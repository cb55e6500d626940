#include "ctdl/ode/solvers/symplectic.h"

#include <cmath>

namespace ctdl::ode {
namespace {

// q and p as views of the state, and the state rebuilt from them.
struct PhaseSpace {
  bool pair;  // state {q, p}; otherwise one tensor split along the last dimension

  static PhaseSpace of(const State& z, const std::string& method) {
    CTDL_CHECK(z.size() == 2 || z.size() == 1, method,
               ": a symplectic method needs the state {q, p} "
               "or one tensor [q | p]; got ",
               z.size(), " components");
    if (z.size() == 1) {
      CTDL_CHECK(z[0].dim() >= 1 && z[0].size(-1) % 2 == 0, method,
                 ": the state's last dimension "
                 "must hold q and p (an even size), got shape ",
                 z[0].shape());
    }
    return {z.size() == 2};
  }
  Tensor q(const State& z) const { return pair ? z[0] : z[0].narrow(-1, 0, z[0].size(-1) / 2); }
  Tensor p(const State& z) const {
    return pair ? z[1] : z[0].narrow(-1, z[0].size(-1) / 2, z[0].size(-1) / 2);
  }
  State join(const Tensor& q, const Tensor& p) const {
    return pair ? State{q, p} : State{cat({q, p}, -1)};
  }
};

// One kick-drift-kick step; `a0` = F_p(q) at the start (cached), returns F_p at the end.
struct Verlet {
  const Field& f;
  const PhaseSpace& ps;

  // F_p(q) (with any p: it does not matter for a separable field).
  Tensor force(double t, const Tensor& q, const Tensor& p) const {
    return ps.p(f(t, ps.join(q, p)));
  }
  Tensor velocity(double t, const Tensor& q, const Tensor& p) const {
    return ps.q(f(t, ps.join(q, p)));
  }

  void step(double t, double h, Tensor& q, Tensor& p, Tensor& a) const {
    Tensor p_half = p + a * (h / 2);
    q = q + velocity(t + h / 2, q, p_half) * h;
    a = force(t + h, q, p_half);
    p = p_half + a * (h / 2);
  }
};

class SymplecticEulerMethod final : public Method {
 public:
  std::string name() const override { return "symplectic_euler"; }
  int order() const override { return 1; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    PhaseSpace ps = PhaseSpace::of(s.z, name());
    Verlet v{f, ps};
    Tensor q = ps.q(s.z), p = ps.p(s.z);
    Tensor p1 = p + v.force(t, q, p) * h;
    Tensor q1 = q + v.velocity(t + h, q, p1) * h;
    StepOutput out;
    out.next.z = ps.join(q1, p1);
    return out;
  }
};

class LeapfrogMethod final : public Method {
 public:
  // weights: the substeps as fractions of h (leapfrog: {1}; Yoshida: {w1, w0, w1}).
  LeapfrogMethod(std::string name, int order, std::vector<double> weights)
      : name_(std::move(name)), order_(order), weights_(std::move(weights)) {}
  std::string name() const override { return name_; }
  int order() const override { return order_; }
  StepOutput step(const Field& f, double t, double h, const SolverState& s) const override {
    PhaseSpace ps = PhaseSpace::of(s.z, name_);
    Verlet v{f, ps};
    Tensor q = ps.q(s.z), p = ps.p(s.z);
    // F_p(q) at the start is the previous step's last kick: cached, recomputed after a replay.
    Tensor a = s.cache.empty() ? v.force(t, q, p) : s.cache[0];
    double tau = t;
    for (double w : weights_) {
      v.step(tau, w * h, q, p, a);
      tau += w * h;
    }
    StepOutput out;
    out.next.z = ps.join(q, p);
    out.next.cache = {a};
    return out;
  }

 private:
  std::string name_;
  int order_;
  std::vector<double> weights_;
};

Solver fixed(std::shared_ptr<const Method> m, double step_size) {
  CTDL_CHECK(step_size > 0, m->name(), ": symplectic methods take fixed steps: give step_size > 0");
  StepControl c;
  c.step_size = step_size;
  return Solver(std::move(m), c);
}

}  // namespace

Solver SymplecticEuler::make() const {
  return fixed(std::make_shared<SymplecticEulerMethod>(), step_size);
}
Solver Leapfrog::make() const {
  return fixed(std::make_shared<LeapfrogMethod>("leapfrog", 2, std::vector<double>{1.0}),
               step_size);
}
Solver Yoshida4::make() const {
  const double cbrt2 = std::cbrt(2.0), w1 = 1.0 / (2.0 - cbrt2), w0 = -cbrt2 / (2.0 - cbrt2);
  return fixed(std::make_shared<LeapfrogMethod>("yoshida4", 4, std::vector<double>{w1, w0, w1}),
               step_size);
}

}  // namespace ctdl::ode

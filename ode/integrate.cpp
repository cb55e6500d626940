#include "ctdl/ode/integrate.h"

#include <algorithm>
#include <cmath>

namespace ctdl::ode {
namespace {

// RMS of err / (atol + rtol·max(|z0|, |z1|)) over the first `components` components; one
// host read.
double error_ratio(const State& err, const State& z0, const State& z1, const StepControl& c) {
  size_t m = std::min(c.error_components, err.size());
  Tensor acc;
  int64_t count = 0;
  for (size_t i = 0; i < m; ++i) {
    if (!err[i].defined()) continue;
    Tensor scale = maximum(abs(z0[i]), abs(z1[i])) * c.rtol + c.atol;
    Tensor s = square(err[i] / scale).sum().to(DType::Float64);
    acc = acc.defined() ? acc + s : s;
    count += err[i].numel();
  }
  if (!acc.defined() || count == 0) return 0.0;
  return std::sqrt(acc.item<double>() / static_cast<double>(count));
}

double scaled_rms(const State& x, const State& z, const StepControl& c) {
  size_t m = std::min(c.error_components, x.size());
  Tensor acc;
  int64_t count = 0;
  for (size_t i = 0; i < m; ++i) {
    Tensor s = square(x[i] / (abs(z[i]) * c.rtol + c.atol)).sum().to(DType::Float64);
    acc = acc.defined() ? acc + s : s;
    count += x[i].numel();
  }
  if (!acc.defined() || count == 0) return 0.0;
  return std::sqrt(acc.item<double>() / static_cast<double>(count));
}

// Hairer, Nørsett & Wanner, Solving ODEs I, II.4: a step whose Euler error is about 1%.
double initial_step(const Method& m, const StepControl& c, const Field& f, double t0,
                    const State& z0, double direction, double span) {
  State f0 = f(t0, z0);
  double d0 = scaled_rms(z0, z0, c), d1 = scaled_rms(f0, z0, c);
  CTDL_CHECK(std::isfinite(d0) && std::isfinite(d1), "odeint (", m.name(),
             "): the initial state or f(t0, z0) contains NaN or Inf at t=", t0);
  double h0 = (d0 < 1e-5 || d1 < 1e-5) ? 1e-6 : 0.01 * d0 / d1;
  h0 = std::min(h0, span);
  State z1 = axpy(z0, direction * h0, f0);
  State f1 = f(t0 + direction * h0, z1);
  double d2 = scaled_rms(sub(f1, f0), z0, c) / h0;
  double dmax = std::max(d1, d2);
  double h1 = dmax <= 1e-15 ? std::max(1e-6, h0 * 1e-3)
                            : std::pow(0.01 / dmax, 1.0 / (m.error_order() + 1));
  return std::min({100 * h0, h1, span});
}

int64_t interval_steps(double span, double step_size) {
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(std::abs(span) / step_size - 1e-9)));
}

std::string where(const Method& m, double t, double h) {
  return str("odeint (", m.name(), "): at t=", t, " with step size h=", h, ": ");
}

Trajectory fixed_steps(const Solver& solver, const Field& f, const State& z0,
                       const std::vector<double>& times, Stats* stats, const StepHook& hook) {
  const Method& m = solver.method();
  const StepControl& c = solver.control();
  Trajectory tr;
  tr.outputs.push_back(z0);
  SolverState state = m.init(f, times[0], z0);
  for (size_t k = 1; k < times.size(); ++k) {
    double t0 = times[k - 1], span = times[k] - t0;
    int64_t n = interval_steps(span, c.step_size);
    double h = span / static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i) {
      double t = t0 + static_cast<double>(i) * h;
      double hi = i + 1 == n ? times[k] - t : h;  // land exactly on the requested time
      StepOutput out = m.step(f, t, hi, state);
      if (hook) hook(tr.steps.size(), state, out);
      tr.steps.push_back({t, hi});
      state = std::move(out.next);
    }
    if (stats) stats->steps += n;
    CTDL_CHECK(!c.check_finite || all_finite(state.z), "odeint (", m.name(),
               "): the state became NaN or Inf between t=", t0, " and t=", times[k],
               " (fixed steps of h=", h, "); try a smaller step_size or an implicit method");
    tr.outputs.push_back(state.z);
    tr.points.push_back({tr.steps.size() - 1, 1.0});
  }
  tr.final_state = std::move(state);
  return tr;
}

Trajectory adaptive_steps(const Solver& solver, const Field& f, const State& z0,
                          const std::vector<double>& times, Stats* stats, const StepHook& hook) {
  const Method& m = solver.method();
  const StepControl& c = solver.control();
  const double t_end = times.back(), direction = t_end > times[0] ? 1.0 : -1.0;
  const double alpha = 0.7 / (m.error_order() + 1), beta = 0.4 / (m.error_order() + 1);
  Trajectory tr;
  tr.outputs.push_back(z0);
  SolverState state = m.init(f, times[0], z0);
  double t = times[0];
  double h = c.first_step > 0 ? c.first_step
                              : initial_step(m, c, f, t, z0, direction, std::abs(t_end - t));
  double previous_ratio = 1.0;
  int64_t attempts = 0, nonfinite_in_a_row = 0;
  bool saw_nonfinite = false;
  size_t k = 1;
  while (k < times.size()) {
    if (c.max_step > 0) h = std::min(h, c.max_step);
    double remaining = std::abs(t_end - t);
    bool last = h >= remaining;
    if (last) h = remaining;
    double hs = direction * h;
    CTDL_CHECK(
        attempts < c.max_steps, where(m, t, hs), "the step budget ran out (max_steps=", c.max_steps,
        ", ", tr.steps.size(), " accepted) before reaching t=", t_end,
        "; the problem may be stiff: raise max_steps, loosen rtol/atol or use an implicit method");
    // Steps cut short by NaN/Inf end in an underflow; say so, it is the real cause.
    const char* cause = saw_nonfinite ? "; longer steps make f or the state NaN or Inf"
                                      : "; the solution may blow up here";
    CTDL_CHECK(last || h >= c.min_step, where(m, t, hs),
               "step size underflow: h is below min_step=", c.min_step, " (rtol=", c.rtol,
               ", atol=", c.atol, ")", cause);
    CTDL_CHECK(t + hs != t, where(m, t, hs),
               "step size underflow: h is too small to advance t "
               "(rtol=",
               c.rtol, ", atol=", c.atol, ")", cause);
    ++attempts;
    StepOutput out = m.step(f, t, hs, state);
    double ratio = error_ratio(out.error, state.z, out.next.z, c);
    if (!std::isfinite(ratio)) {
      // Overflow in a too-large step is cured by shrinking it; a NaN that survives twenty
      // shrinks by 5x (a factor 1e14) is the problem's, not the step's.
      CTDL_CHECK(++nonfinite_in_a_row < 20, where(m, t, hs),
                 "the state or its error estimate is "
                 "NaN or Inf even after shrinking the step ",
                 nonfinite_in_a_row, " times");
      h *= c.min_factor;
      saw_nonfinite = true;
      if (stats) ++stats->rejected_steps;
      continue;
    }
    nonfinite_in_a_row = 0;
    if (ratio <= 1.0) {
      double t_next = last ? t_end : t + hs;
      while (k < times.size() && (times[k] - t_next) * direction <= 0) {
        double theta = (times[k] - t) / hs;
        tr.outputs.push_back(times[k] == t_next ? out.next.z
                                                : m.interpolate(state, out, hs, theta));
        tr.points.push_back({tr.steps.size(), times[k] == t_next ? 1.0 : theta});
        ++k;
      }
      if (hook) hook(tr.steps.size(), state, out);
      tr.steps.push_back({t, hs});
      if (stats) ++stats->steps;
      state = std::move(out.next);
      t = t_next;
      double factor =
          c.safety * std::pow(std::max(ratio, 1e-10), -alpha) * std::pow(previous_ratio, beta);
      h *= std::clamp(factor, c.min_factor, c.max_factor);
      previous_ratio = std::max(ratio, 1e-4);
    } else {
      double factor = c.safety * std::pow(ratio, -1.0 / (m.error_order() + 1));
      h *= std::clamp(factor, c.min_factor, 1.0);
      saw_nonfinite = false;
      if (stats) ++stats->rejected_steps;
    }
  }
  tr.final_state = std::move(state);
  return tr;
}

}  // namespace

void check_times(const std::vector<double>& times, const char* op) {
  CTDL_CHECK(!times.empty(), op, ": times is empty; give at least the initial time");
  for (size_t i = 0; i < times.size(); ++i)
    CTDL_CHECK(std::isfinite(times[i]), op, ": times[", i, "] = ", times[i], " is not finite");
  if (times.size() < 2) return;
  double direction = times[1] > times[0] ? 1.0 : -1.0;
  for (size_t i = 1; i < times.size(); ++i)
    CTDL_CHECK((times[i] - times[i - 1]) * direction > 0, op,
               ": times must be strictly increasing "
               "or strictly decreasing; times[",
               i - 1, "] = ", times[i - 1], ", times[", i, "] = ", times[i]);
}

Trajectory integrate(const Solver& solver, const Field& f, const State& z0,
                     const std::vector<double>& times, Stats* stats, const StepHook& hook) {
  check_times(times, "odeint");
  CTDL_CHECK(!z0.empty(), "odeint: the initial state has no tensors");
  for (size_t i = 0; i < z0.size(); ++i)
    CTDL_CHECK(z0[i].defined() && z0[i].is_floating_point(), "odeint: component ", i,
               " of the initial state must be a float32 or float64 tensor");
  if (times.size() == 1) {
    Trajectory tr;
    tr.outputs.push_back(z0);
    tr.final_state = {z0, {}, {}};
    return tr;
  }
  return solver.control().adaptive() ? adaptive_steps(solver, f, z0, times, stats, hook)
                                     : fixed_steps(solver, f, z0, times, stats, hook);
}

int64_t fixed_step_count(const std::vector<double>& times, double step_size) {
  int64_t n = 0;
  for (size_t k = 1; k < times.size(); ++k) n += interval_steps(times[k] - times[k - 1], step_size);
  return n;
}

SolverState advance(const Method& method, const Field& f, const std::vector<StepRecord>& steps,
                    size_t first, size_t last, SolverState state, Stats* stats) {
  for (size_t n = first; n < last; ++n) state = method.step(f, steps[n].t, steps[n].h, state).next;
  if (stats) stats->steps += static_cast<int64_t>(last - first);
  return state;
}

}  // namespace ctdl::ode

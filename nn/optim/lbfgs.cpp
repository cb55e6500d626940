#include "ctdl/nn/optim/lbfgs.h"

#include <algorithm>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/state.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

namespace {

using Vec = std::vector<double>;

double dot(const Vec& a, const Vec& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

double max_abs(const Vec& a) {
  double m = 0;
  for (double v : a) m = std::max(m, std::abs(v));
  return m;
}

void axpy(Vec& y, double alpha, const Vec& x) {  // y += alpha·x
  for (size_t i = 0; i < y.size(); ++i) y[i] += alpha * x[i];
}

// The minimizer of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to the bounds
// (by default the interval between the points); its midpoint when the cubic has none.
double cubic_interpolate(double x1, double f1, double g1, double x2, double f2, double g2,
                         std::optional<std::pair<double, double>> bounds = {}) {
  auto [lo, hi] = bounds ? *bounds : std::pair{std::min(x1, x2), std::max(x1, x2)};
  double d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2);
  double d2_square = d1 * d1 - g1 * g2;
  if (d2_square < 0) return (lo + hi) / 2;
  double d2 = std::sqrt(d2_square);
  double min_pos = x1 <= x2 ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
                            : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
  return std::min(std::max(min_pos, lo), hi);
}

}  // namespace

LBFGS::LBFGS(TensorList params, LBFGSOptions o)
    : Optimizer(std::move(params), o.lr, "LBFGS"), o_(o) {
  CTDL_CHECK(o.max_iter > 0 && o.history_size > 0,
             "LBFGS: max_iter and history_size must be "
             "positive, got ",
             o.max_iter, " and ", o.history_size);
}

void LBFGS::step() {
  fail(
      "LBFGS: step() needs a closure that re-evaluates the loss: opt.step([&] { ... return loss; "
      "})");
}

LBFGS::Vec LBFGS::flat_params() const {
  Vec out;
  for (const Tensor& p : params_) {
    Vec v = p.to_vector<double>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

LBFGS::Vec LBFGS::flat_grad() const {
  Vec out;
  for (const Tensor& p : params_) {
    Tensor g = p.grad();
    Vec v = g.defined() ? g.to_vector<double>() : Vec(p.numel(), 0.0);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

void LBFGS::set_params(const Vec& x) {
  autograd::NoGradGuard no_grad;
  size_t offset = 0;
  for (Tensor& p : params_) {
    Vec part(x.begin() + offset, x.begin() + offset + p.numel());
    p.copy_(tensor(part, p.shape(), {.dtype = p.dtype(), .device = p.device()}));
    offset += p.numel();
  }
}

std::pair<double, Vec> LBFGS::evaluate_at(const std::function<Tensor()>& closure, const Vec& x,
                                          double t, const Vec& d) {
  Vec moved = x;
  axpy(moved, t, d);
  set_params(moved);
  double loss;
  {
    autograd::EnableGradGuard enable;
    loss = closure().item<double>();
  }
  ++func_evals_;
  Vec g = flat_grad();
  set_params(x);
  return {loss, g};
}

std::tuple<double, Vec, double, int64_t> LBFGS::strong_wolfe(const std::function<Tensor()>& closure,
                                                             const Vec& x, double t, const Vec& d,
                                                             double f, const Vec& g, double gtd) {
  const double c1 = 1e-4, c2 = 0.9;
  const int max_ls = 25;
  double d_norm = max_abs(d);
  auto [f_new, g_new] = evaluate_at(closure, x, t, d);
  int64_t evals = 1;
  double gtd_new = dot(g_new, d);
  double t_prev = 0, f_prev = f, gtd_prev = gtd;
  Vec g_prev = g;
  bool done = false;
  int ls_iter = 0;
  // The bracket [a, b] with values, gradients and directional derivatives at both ends.
  std::vector<double> bracket, bracket_f, bracket_gtd;
  std::vector<Vec> bracket_g;
  while (ls_iter < max_ls) {
    auto bracket_here = [&] {
      bracket = {t_prev, t};
      bracket_f = {f_prev, f_new};
      bracket_g = {g_prev, g_new};
      bracket_gtd = {gtd_prev, gtd_new};
    };
    if (f_new > f + c1 * t * gtd || (ls_iter > 1 && f_new >= f_prev)) {  // no sufficient decrease
      bracket_here();
      break;
    }
    if (std::abs(gtd_new) <= -c2 * gtd) {  // both strong Wolfe conditions hold
      bracket = {t};
      bracket_f = {f_new};
      bracket_g = {g_new};
      done = true;
      break;
    }
    if (gtd_new >= 0) {  // past a minimum along d
      bracket_here();
      break;
    }
    // Extrapolate: the cubic's minimizer, kept between 1.01·t and 10·t.
    double min_step = t + 0.01 * (t - t_prev), max_step = t * 10, previous = t;
    t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                          std::pair{min_step, max_step});
    t_prev = previous;
    f_prev = f_new;
    g_prev = g_new;
    gtd_prev = gtd_new;
    std::tie(f_new, g_new) = evaluate_at(closure, x, t, d);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
  }
  if (ls_iter == max_ls) {
    bracket = {0, t};
    bracket_f = {f, f_new};
    bracket_g = {g, g_new};
  }
  // Zoom: shrink the bracket until the strong Wolfe conditions hold.
  bool insufficient_progress = false;
  size_t low = bracket_f.front() <= bracket_f.back() ? 0 : 1, high = 1 - low;
  while (!done && ls_iter < max_ls && bracket.size() == 2) {
    if (std::abs(bracket[1] - bracket[0]) * d_norm < o_.tolerance_change) break;
    t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1],
                          bracket_gtd[1]);
    double b_max = std::max(bracket[0], bracket[1]), b_min = std::min(bracket[0], bracket[1]);
    double eps = 0.1 * (b_max - b_min);
    if (std::min(b_max - t, t - b_min) < eps) {
      // Too close to an end: move away from it, unless the last step made progress.
      if (insufficient_progress || t >= b_max || t <= b_min) {
        t = std::abs(t - b_max) < std::abs(t - b_min) ? b_max - eps : b_min + eps;
        insufficient_progress = false;
      } else {
        insufficient_progress = true;
      }
    } else {
      insufficient_progress = false;
    }
    std::tie(f_new, g_new) = evaluate_at(closure, x, t, d);
    ++evals;
    gtd_new = dot(g_new, d);
    ++ls_iter;
    if (f_new > f + c1 * t * gtd || f_new >= bracket_f[low]) {
      bracket[high] = t, bracket_f[high] = f_new, bracket_g[high] = g_new,
      bracket_gtd[high] = gtd_new;
      low = bracket_f[0] <= bracket_f[1] ? 0 : 1;
      high = 1 - low;
    } else {
      if (std::abs(gtd_new) <= -c2 * gtd) {
        done = true;
      } else if (gtd_new * (bracket[high] - bracket[low]) >= 0) {
        bracket[high] = bracket[low], bracket_f[high] = bracket_f[low];
        bracket_g[high] = bracket_g[low], bracket_gtd[high] = bracket_gtd[low];
      }
      bracket[low] = t, bracket_f[low] = f_new, bracket_g[low] = g_new, bracket_gtd[low] = gtd_new;
    }
  }
  if (bracket.size() == 1) low = 0;
  return {bracket_f[low], bracket_g[low], bracket[low], evals};
}

Tensor LBFGS::step(const std::function<Tensor()>& closure) {
  const int64_t max_eval = o_.max_eval.value_or(o_.max_iter * 5 / 4);
  Tensor original_loss;
  {
    autograd::EnableGradGuard enable;
    original_loss = closure();
  }
  double loss = original_loss.item<double>();
  int64_t current_evals = 1;
  ++func_evals_;
  ++step_;
  Vec g = flat_grad();
  if (max_abs(g) <= o_.tolerance_grad) return original_loss;

  for (int64_t n = 1; n <= o_.max_iter; ++n) {
    ++n_iter_;
    // The search direction by the two-loop recursion over the stored curvature pairs.
    if (n_iter_ == 1) {
      d_ = g;
      for (double& v : d_) v = -v;
      old_dirs_.clear(), old_steps_.clear(), ro_.clear();
      h_diag_ = 1;
    } else {
      Vec y = g, s = d_;
      axpy(y, -1.0, prev_flat_grad_);
      for (double& v : s) v *= t_;
      double ys = dot(y, s);
      if (ys > 1e-10) {  // keep only pairs with positive curvature
        if (static_cast<int64_t>(old_dirs_.size()) == o_.history_size) {
          old_dirs_.pop_front(), old_steps_.pop_front(), ro_.pop_front();
        }
        old_dirs_.push_back(y);
        old_steps_.push_back(s);
        ro_.push_back(1.0 / ys);
        h_diag_ = ys / dot(y, y);
      }
      size_t k = old_dirs_.size();
      std::vector<double> al(k);
      Vec q = g;
      for (double& v : q) v = -v;
      for (size_t i = k; i-- > 0;) {
        al[i] = dot(old_steps_[i], q) * ro_[i];
        axpy(q, -al[i], old_dirs_[i]);
      }
      for (double& v : q) v *= h_diag_;
      for (size_t i = 0; i < k; ++i) {
        double be = dot(old_dirs_[i], q) * ro_[i];
        axpy(q, al[i] - be, old_steps_[i]);
      }
      d_ = q;
    }
    prev_flat_grad_ = g;
    prev_loss_ = loss;
    // The first step is scaled down by the gradient's size; later ones use the learning rate.
    if (n_iter_ == 1) {
      double sum_abs = 0;
      for (double v : g) sum_abs += std::abs(v);
      t_ = std::min(1.0, 1.0 / sum_abs) * lr_;
    } else {
      t_ = lr_;
    }
    double gtd = dot(g, d_);
    if (gtd > -o_.tolerance_change) break;  // not a descent direction

    int64_t ls_evals = 0;
    Vec x = flat_params();
    if (o_.line_search == LineSearch::StrongWolfe) {
      std::tie(loss, g, t_, ls_evals) = strong_wolfe(closure, x, t_, d_, loss, g, gtd);
      axpy(x, t_, d_);
      set_params(x);
    } else {
      axpy(x, t_, d_);
      set_params(x);
      if (n != o_.max_iter) {
        autograd::EnableGradGuard enable;
        loss = closure().item<double>();
        ++func_evals_;
        g = flat_grad();
        ls_evals = 1;
      }
    }
    current_evals += ls_evals;
    if (n == o_.max_iter || current_evals >= max_eval) break;
    if (max_abs(g) <= o_.tolerance_grad) break;
    if (max_abs(d_) * std::abs(t_) <= o_.tolerance_change) break;
    if (std::abs(loss - prev_loss_) < o_.tolerance_change) break;
  }
  return original_loss;
}

// ---- state --------------------------------------------------------------------------------------

namespace {

Tensor vec_tensor(const Vec& v) {
  return tensor(v, {static_cast<int64_t>(v.size())}, {.dtype = DType::Float64});
}

Tensor scalar64(double v) { return scalar_tensor(v, {.dtype = DType::Float64}); }

}  // namespace

NamedTensors LBFGS::state_dict() const {
  NamedTensors out = Optimizer::state_dict();
  out.emplace_back("func_evals", scalar64(static_cast<double>(func_evals_)));
  out.emplace_back("n_iter", scalar64(static_cast<double>(n_iter_)));
  out.emplace_back("t", scalar64(t_));
  out.emplace_back("h_diag", scalar64(h_diag_));
  out.emplace_back("prev_loss", scalar64(prev_loss_));
  out.emplace_back("d", vec_tensor(d_));
  out.emplace_back("prev_flat_grad", vec_tensor(prev_flat_grad_));
  out.emplace_back("ro", vec_tensor(Vec(ro_.begin(), ro_.end())));
  for (size_t i = 0; i < old_dirs_.size(); ++i) {
    out.emplace_back("old_dirs." + std::to_string(i), vec_tensor(old_dirs_[i]));
    out.emplace_back("old_steps." + std::to_string(i), vec_tensor(old_steps_[i]));
  }
  return out;
}

StateLoad LBFGS::prepare_load(const NamedTensors& incoming) {
  // The history's length varies: it is taken from `incoming` ("ro" has one entry per pair);
  // every vector but "ro" has one entry per parameter element (or none before the first step).
  auto incoming_numel = [&](const std::string& name) -> int64_t {
    for (const auto& [n, t] : incoming)
      if (n == name) return t.numel();
    return 0;
  };
  int64_t n = 0;
  for (const Tensor& p : params_) n += p.numel();
  auto vector_of = [&](const std::string& name) {
    return zeros({incoming_numel(name) == 0 ? 0 : n}, {.dtype = DType::Float64});
  };
  StateLoad base = Optimizer::prepare_load({});
  Tensor func_evals = scalar64(0), n_iter = scalar64(0), t = scalar64(0), h_diag = scalar64(0),
         prev = scalar64(0);
  Tensor d = vector_of("d"), prev_grad = vector_of("prev_flat_grad");
  int64_t pairs = incoming_numel("ro");
  Tensor ro = zeros({pairs}, {.dtype = DType::Float64});
  TensorList dirs, steps;
  NamedTensors targets = base.targets;
  for (auto [name, tensor_] : NamedTensors{{"func_evals", func_evals},
                                           {"n_iter", n_iter},
                                           {"t", t},
                                           {"h_diag", h_diag},
                                           {"prev_loss", prev},
                                           {"d", d},
                                           {"prev_flat_grad", prev_grad},
                                           {"ro", ro}})
    targets.emplace_back(name, tensor_);
  for (int64_t i = 0; i < pairs; ++i) {
    dirs.push_back(zeros({n}, {.dtype = DType::Float64}));
    steps.push_back(zeros({n}, {.dtype = DType::Float64}));
    targets.emplace_back("old_dirs." + std::to_string(i), dirs.back());
    targets.emplace_back("old_steps." + std::to_string(i), steps.back());
  }
  auto finish = [=, this] {
    base.finish();
    func_evals_ = static_cast<int64_t>(func_evals.item<double>());
    n_iter_ = static_cast<int64_t>(n_iter.item<double>());
    t_ = t.item<double>();
    h_diag_ = h_diag.item<double>();
    prev_loss_ = prev.item<double>();
    d_ = d.to_vector<double>();
    prev_flat_grad_ = prev_grad.to_vector<double>();
    std::vector<double> r = ro.to_vector<double>();
    ro_.assign(r.begin(), r.end());
    old_dirs_.clear(), old_steps_.clear();
    for (int64_t i = 0; i < pairs; ++i) {
      old_dirs_.push_back(dirs[i].to_vector<double>());
      old_steps_.push_back(steps[i].to_vector<double>());
    }
  };
  return {targets, finish};
}

}  // namespace ctdl::nn

// L-BFGS: a quasi-Newton optimizer that re-evaluates the loss through a closure.
//
//   nn::LBFGS opt(net.parameters(), {.max_iter = 20, .line_search = nn::LineSearch::StrongWolfe});
//   for (int outer = 0; outer < 50; ++outer) {
//     Tensor loss = opt.step([&] {
//       opt.zero_grad();
//       Tensor l = nn::mse_loss(net(x), y);
//       l.backward();
//       return l;
//     });
//   }
//
// The algorithm and its options are PyTorch's torch.optim.LBFGS (two-loop recursion over
// the last history_size curvature pairs; optional strong-Wolfe line search with cubic
// interpolation), so settings carry over. The flat vectors (directions, history) are kept in
// float64 on the host: L-BFGS is used on models of modest size (PDE-Net) where the extra
// precision makes the line search sturdier and the copies are cheap.
#pragma once

#include <deque>
#include <optional>
#include <vector>

#include "ctdl/nn/optim/optimizer.h"

namespace ctdl::nn {

enum class LineSearch { None, StrongWolfe };

struct LBFGSOptions {
  double lr = 1.0;
  int64_t max_iter = 20;            // iterations per step()
  std::optional<int64_t> max_eval;  // closure calls per step(); default max_iter·5/4
  double tolerance_grad = 1e-7;     // stop when max |gradient| is below
  double tolerance_change = 1e-9;   // stop when the step or the loss change is below
  int64_t history_size = 100;
  LineSearch line_search = LineSearch::None;
};

class LBFGS : public Optimizer {
 public:
  LBFGS(TensorList params, LBFGSOptions options = {});
  // L-BFGS needs to re-evaluate the loss: step() without a closure throws.
  void step() override;
  Tensor step(const std::function<Tensor()>& closure) override;
  // Closure calls made since construction.
  int64_t function_evaluations() const { return func_evals_; }

  NamedTensors state_dict() const override;
  StateLoad prepare_load(const NamedTensors& incoming) override;

 private:
  using Vec = std::vector<double>;
  Vec flat_params() const;
  Vec flat_grad() const;
  void set_params(const Vec& x);
  // Loss and gradient at x + t·d (the parameters are put back to x afterwards).
  std::pair<double, Vec> evaluate_at(const std::function<Tensor()>& closure, const Vec& x, double t,
                                     const Vec& d);
  // Returns {loss, gradient, step, evaluations} for the strong-Wolfe step along d.
  std::tuple<double, Vec, double, int64_t> strong_wolfe(const std::function<Tensor()>& closure,
                                                        const Vec& x, double t, const Vec& d,
                                                        double f, const Vec& g, double gtd);

  LBFGSOptions o_;
  int64_t func_evals_ = 0, n_iter_ = 0;
  double t_ = 0, h_diag_ = 1, prev_loss_ = 0;
  Vec d_, prev_flat_grad_;
  std::deque<Vec> old_dirs_, old_steps_;  // y and s of the curvature pairs
  std::deque<double> ro_;
};

}  // namespace ctdl::nn

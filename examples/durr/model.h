// DURR's pieces: the recurrent restoration unit, the stopping policy, the DnCNN-style
// baseline, PSNR, and one training step of each.
//
//   RestorationUnit unit({.width = 16, .layers = 4});
//   StopPolicy policy({.width = 8});
//   Tensor y = clean + randn_like(clean) * (25.0 / 255);     // [N, 1, H, W] in [0, 1]
//   Restoration r = restore(unit, policy, y, 12);              // r.restored, r.steps (≤ 12)
//   Tensor db = psnr(r.restored, clean);                       // [N], peak 1
//
// The dynamics is x_0 = y, x_{n+1} = x_n + F(x_n; θ): one unit, its weights shared by every
// step. The policy reads the current state x_n and returns Q(x_n, continue), the expected
// decrease of the restoration loss (in dB) from continuing and then stopping at the best
// time; Q(x_n, stop) is 0 exactly (stopping ends the episode with no reward), so the policy
// continues while Q(x_n, continue) > 0.
#pragma once

#include <vector>

#include "ctdl/nn/nn.h"

namespace ctdl::examples::durr {

// 3×3 convolutions with zero padding: in → width → ... → width → 1, ReLU between them.
struct ConvStackOptions {
  int64_t in_channels = 1;
  int64_t width = 16;
  int64_t layers = 4;
  double last_scale = 1.0;  // the last layer's initial weights are scaled by this
};

struct ConvStack : nn::Module {
  explicit ConvStack(ConvStackOptions options);
  Tensor operator()(const Tensor& x) const;
  nn::ModuleList<nn::Conv2d> convs = register_module("convs", nn::ModuleList<nn::Conv2d>());
};

struct UnitOptions {
  int64_t width = 16;
  int64_t layers = 4;
  // F(x_n, y) instead of F(x_n): the unit also sees the degraded image (a second channel).
  bool sees_input = false;
};

// x_{n+1} = x_n + F(x_n) (or F(x_n, y)). F's last layer starts small, so an untrained unit
// moves the state little per step and long unrolls start stable.
struct RestorationUnit : nn::Module {
  explicit RestorationUnit(UnitOptions options);
  Tensor step(const Tensor& x, const Tensor& y) const;
  // x_steps from x_0 = y.
  Tensor unroll(const Tensor& y, int64_t steps) const;
  // x_0, ..., x_steps.
  TensorList trajectory(const Tensor& y, int64_t steps) const;
  ConvStack f;
  bool sees_input;
};

// The feed-forward baseline, DnCNN's residual learning without batch normalization:
// x = y - R(y).
struct DnCNN : nn::Module {
  DnCNN(int64_t width, int64_t layers);
  Tensor operator()(const Tensor& y) const;
  ConvStack residual;
};

struct PolicyOptions {
  int64_t width = 8;
};

// Q(x, continue) for each image of x [N, 1, H, W] (any H, W): three stride-2 convolutions,
// a global average and a linear read-out.
struct StopPolicy : nn::Module {
  explicit StopPolicy(PolicyOptions options);
  Tensor q_continue(const Tensor& x) const;  // [N]
  nn::Conv2d conv1, conv2, conv3;
  nn::Linear head;
};

// Peak signal-to-noise ratio per image, peak 1, with x clamped to [0, 1]: [N].
Tensor psnr(const Tensor& x, const Tensor& clean);

struct Restoration {
  Tensor restored;             // [N, 1, H, W]
  std::vector<int64_t> steps;  // per image, in [0, max_steps]
};

// The policy's choice along a trajectory x_0, ..., x_T of a batch: for each image the first
// k with Q(x_k, continue) ≤ 0, else T.
std::vector<int64_t> stopping_steps(const StopPolicy& policy, const TensorList& trajectory);

// Runs the unit from x_0 = y; each image stops at its first state whose Q(continue) ≤ 0,
// and at max_steps at the latest. No gradient is recorded.
Restoration restore(const RestorationUnit& unit, const StopPolicy& policy, const Tensor& y,
                    int64_t max_steps);

// The unit's terminal time in training: round(σ / sigma_per_step), at least 1 (σ on the
// 0–255 scale).
int64_t terminal_steps(double sigma, double sigma_per_step);

// One optimizer step on the mean squared error of x_steps against clean. With
// intermediate_weight > 0, each earlier state x_k also pays that weight times its error
// against clean + (1 - k/steps)(y - clean), the noise removed at an even pace (off by
// default: the paper's cost is at the terminal time only). Returns the terminal MSE.
double train_unit_step(const RestorationUnit& unit, nn::Optimizer& opt, const Tensor& clean,
                       const Tensor& noisy, int64_t steps, double intermediate_weight = 0.0,
                       double clip = 1.0);
double train_dncnn_step(const DnCNN& net, nn::Optimizer& opt, const Tensor& clean,
                        const Tensor& noisy, double clip = 1.0);

// Trajectories of the (fixed) unit, the policy's replay memory: states [M, T+1, 1, H, W]
// and rewards [M, T], reward k = PSNR(x_{k+1}) - PSNR(x_k), the decrease of the log loss.
struct Transitions {
  Tensor states, rewards;
};
Transitions collect_transitions(const RestorationUnit& unit, const Tensor& clean,
                                const Tensor& noisy, int64_t max_steps);

// One deep-Q-learning step on `batch` transitions drawn with default_generator(): target
// r_k + max(0, Q_target(x_{k+1})), or r_k when x_{k+1} is the last state allowed (γ = 1).
// Returns the mean squared TD error.
double q_learning_step(const StopPolicy& policy, const StopPolicy& target, nn::Optimizer& opt,
                       const Transitions& memory, int64_t batch);

}  // namespace ctdl::examples::durr

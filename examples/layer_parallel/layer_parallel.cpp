// layer-parallel: training a 256-layer residual network with its layers spread over MPI
// ranks, forward and backward propagation solved by MGRIT (distributed/layer_parallel.h),
// after Günther, Ruthotto, Schroder, Cyr & Gauger, "Layer-parallel training of deep residual
// neural networks" (SIMODS 2020), on their "peaks" problem: points of [-3, 3]² sorted into
// five classes by the value of MATLAB's peaks function.
//
//   mpirun -np 2 build/bin/ctdl run layer-parallel --quick
//
// The network: u0 = tanh(W_in·x + b), u_{n+1} = u_n + h·tanh(K_n·u_n + b_n) for 256 layers
// (h = T/256), logits = W_out·u_N. Its weights start smooth in depth (interpolated between a
// few random matrices), as a discretized ODE's would, which is what lets a coarse step over
// m layers with the first layer's weights stand in for the m layers.
//
// The run (every rank takes part; rank 0 writes RUN_DIR):
//   1. MGRIT's residual per iteration, from a cold start, on the initial network, and its
//      result against serial propagation;
//   2. serial propagation timed against MGRIT on the ranks (forward to tolerance);
//   3. the same network trained twice from the same start, with the same optimizer, schedule
//      and steps: serially with backprop on rank 0, and layer-parallel on all ranks with the
//      paper's inexact gradients (one MGRIT iteration per forward, warm-started from the
//      previous step and repeated where its residual is large, and one per backward,
//      started cold); time per step, and both networks' validation accuracy (the parallel
//      one propagated to tolerance);
//   4. summary.json: residual_history, forward_speedup, step_speedup, step_efficiency,
//      serial_val_accuracy, parallel_val_accuracy, ...
// Without mpirun the same runs on one rank (speedups then measure MGRIT's overhead).
#include "ctdl/distributed/layer_parallel.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <memory>
#include <numbers>
#include <numeric>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/distributed/launch.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/run.h"
#include "ctdl/tensor/random.h"

namespace ctdl::examples {
namespace {

struct LayerParallelConfig {
  int64_t layers = 256;
  int64_t width = 8;
  double final_time = 5.0;  // h = final_time / layers
  int64_t train_points = 5000, val_points = 1000;
  // Full-batch steps, serial and layer-parallel each, with the same optimizer and schedule:
  // SGD with momentum and a learning rate that decays to 0. The inexact gradients' error
  // grows with how far the weights move per step (README.md); these steps shrink as training
  // goes on, where Adam's stay about lr for every weight.
  int64_t steps = 300;
  std::string optimizer = "sgd";  // or "adam"
  double lr = 0.2;
  double momentum = 0.9;         // sgd only
  int64_t warmup_steps = 0;      // lr rises linearly from lr / warmup_steps to lr
  std::string decay = "cosine";  // lr falls to 0 over the steps after the warm-up; or "none"
  int64_t anchors = 5;           // random weight matrices the initial weights interpolate in depth
  int64_t coarsening = 16;
  int levels = 2;
  bool fcf = false;
  // MGRIT iterations per training step: forward (warm-started from the previous step's
  // points) and backward (started cold unless warm_backward): the paper's inexact gradients.
  int forward_iterations = 1;
  int backward_iterations = 1;
  bool warm_backward = false;
  // The forward solve is repeated (forward_iterations more, warm-started) in the steps where
  // its first residual, which MGRIT measures anyway, exceeds this fraction of the first
  // step's (a cold start's): where the weights moved far, the one-iteration states are
  // poor. 0: never.
  double adaptive_tolerance = 0.15;
  double tolerance = 1e-9;  // of the converged solves (residual history, timing, evaluation)
  int max_iterations = 30;
  int64_t timing_repeats = 5;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(LayerParallelConfig, layers, width, final_time,
                                                train_points, val_points, steps, optimizer, lr,
                                                momentum, warmup_steps, decay, anchors, coarsening,
                                                levels, fcf, forward_iterations,
                                                backward_iterations, warm_backward,
                                                adaptive_tolerance, tolerance, max_iterations,
                                                timing_repeats, seed)

constexpr int64_t kClasses = 5;
constexpr DType kType = DType::Float64;

double peaks(double x, double y) {
  return 3 * (1 - x) * (1 - x) * std::exp(-x * x - (y + 1) * (y + 1)) -
         10 * (x / 5 - x * x * x - std::pow(y, 5)) * std::exp(-x * x - y * y) -
         std::exp(-(x + 1) * (x + 1) - y * y) / 3;
}

struct Data {
  Tensor x, y;  // [n, 2] float64, [n] int64
};

// Points uniform in [-3, 3]²; the class boundaries are the quintiles of peaks over a fixed
// sample, so the five classes are about equally frequent.
Data make_peaks(int64_t n, uint64_t seed, const std::vector<double>& bounds) {
  Generator gen(seed);
  Tensor x = rand({n, 2}, {.dtype = kType}, &gen) * 6.0 - 3.0;
  std::vector<double> p = x.to_vector<double>();
  std::vector<int64_t> labels(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    double v = peaks(p[2 * i], p[2 * i + 1]);
    labels[i] = std::upper_bound(bounds.begin(), bounds.end(), v) - bounds.begin();
  }
  return {x, tensor(labels, {n})};
}

std::vector<double> quintiles() {
  Generator gen(12345);
  Tensor s = rand({20000, 2}, {.dtype = kType}, &gen) * 6.0 - 3.0;
  std::vector<double> p = s.to_vector<double>(), v;
  for (size_t i = 0; i < p.size(); i += 2) v.push_back(peaks(p[i], p[i + 1]));
  std::sort(v.begin(), v.end());
  std::vector<double> bounds;
  for (int64_t k = 1; k < kClasses; ++k) bounds.push_back(v[v.size() * k / kClasses]);
  return bounds;
}

// Every rank builds the whole network from the seed; each then trains only what it holds.
struct Network {
  nn::Linear opening;
  std::vector<nn::Linear> blocks;
  nn::Linear classifier;
  double h;

  Tensor residual(int64_t n, const Tensor& u) const { return blocks[n](u); }
  Tensor logits(const Tensor& x) const {  // serial propagation, with autograd
    auto f = [this](int64_t n, const Tensor& u) { return residual(n, u); };
    return classifier(distributed::serial_resnet_forward(f, blocks.size(), h, opening(x)));
  }
};

Network make_network(const LayerParallelConfig& c) {
  manual_seed(static_cast<uint64_t>(c.seed));
  Network net{nn::Linear(2, c.width, {.activation = Activation::Tanh, .dtype = kType}),
              {},
              nn::Linear(c.width, kClasses, {.dtype = kType}),
              c.final_time / static_cast<double>(c.layers)};
  autograd::NoGradGuard no_grad;
  const double bound = 1.0 / std::sqrt(static_cast<double>(c.width));
  TensorList K, b;
  for (int64_t a = 0; a < c.anchors; ++a) {
    K.push_back((rand({c.width, c.width}, {.dtype = kType}) * 2.0 - 1.0) * (2 * bound));
    b.push_back((rand({c.width}, {.dtype = kType}) * 2.0 - 1.0) * bound);
  }
  for (int64_t n = 0; n < c.layers; ++n) {
    // Piecewise linear in depth between the anchors.
    double t = static_cast<double>(n) / static_cast<double>(std::max<int64_t>(1, c.layers - 1)) *
               static_cast<double>(c.anchors - 1);
    int64_t a = std::min<int64_t>(static_cast<int64_t>(t), c.anchors - 2);
    double f = t - static_cast<double>(a);
    nn::Linear layer(c.width, c.width, {.activation = Activation::Tanh, .dtype = kType});
    Tensor(layer.weight).copy_(K[a] * (1 - f) + K[a + 1] * f);
    Tensor(layer.bias).copy_(b[a] * (1 - f) + b[a + 1] * f);
    net.blocks.push_back(layer);
  }
  return net;
}

using Clock = std::chrono::steady_clock;
double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}
double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[v.size() / 2];
}

// The same optimizer and learning-rate schedule for the serial and the layer-parallel run.
std::unique_ptr<nn::Optimizer> make_optimizer(const LayerParallelConfig& c, TensorList params) {
  if (c.optimizer == "sgd")
    return std::make_unique<nn::SGD>(std::move(params),
                                     nn::SGDOptions{.lr = c.lr, .momentum = c.momentum});
  CTDL_CHECK(c.optimizer == "adam", "layer-parallel: optimizer must be adam or sgd, got ",
             c.optimizer);
  return std::make_unique<nn::Adam>(std::move(params), nn::AdamOptions{.lr = c.lr});
}

double lr_at(const LayerParallelConfig& c, int64_t step) {
  if (step < c.warmup_steps)
    return c.lr * static_cast<double>(step + 1) / static_cast<double>(c.warmup_steps);
  if (c.decay == "none") return c.lr;
  CTDL_CHECK(c.decay == "cosine", "layer-parallel: decay must be none or cosine, got ", c.decay);
  const double t = static_cast<double>(step - c.warmup_steps) /
                   static_cast<double>(std::max<int64_t>(1, c.steps - c.warmup_steps));
  return c.lr * 0.5 * (1 + std::cos(std::numbers::pi * t));
}

// Accuracy of the logits (on the rank that has them) on every rank.
double shared(distributed::Communicator& comm, bool mine, double value) {
  return comm.sum({mine ? value : 0.0})[0];
}

void run_layer_parallel(nn::Run& run, const LayerParallelConfig& c) {
  distributed::Communicator& comm = distributed::world();
  const int ranks = comm.size();
  CTDL_CHECK(c.anchors >= 2, "layer-parallel: anchors must be at least 2, got ", c.anchors);
  CTDL_CHECK(c.layers % (ranks * c.coarsening) == 0, "layer-parallel: ", c.layers,
             " layers do not split into ", ranks, " ranks of whole coarse intervals of ",
             c.coarsening);
  const std::vector<double> bounds = quintiles();
  Data train = make_peaks(c.train_points, static_cast<uint64_t>(c.seed) + 1, bounds);
  Data val = make_peaks(c.val_points, static_cast<uint64_t>(c.seed) + 2, bounds);
  run.note(str("peaks: ", c.train_points, " training and ", c.val_points,
               " validation points, 5 classes by quintile; ", ranks, " rank(s), ", c.layers / ranks,
               " layers each"));

  Network serial = make_network(c), parallel = make_network(c);  // the same start
  auto residual = [&parallel](int64_t n, const Tensor& u) { return parallel.residual(n, u); };
  auto layer_params = [&parallel](int64_t n) { return parallel.blocks[n].parameters(); };
  distributed::MgritOptions exact{.coarsening = c.coarsening,
                                  .levels = c.levels,
                                  .fcf = c.fcf,
                                  .max_iterations = c.max_iterations,
                                  .tolerance = c.tolerance};
  distributed::MgritOptions inexact = exact, inexact_backward;
  inexact.tolerance = 0;
  inexact.final_relax = false;
  inexact_backward = inexact;
  inexact.max_iterations = c.forward_iterations;
  inexact_backward.max_iterations = c.backward_iterations;
  distributed::LayerParallelResNet solve(
      comm, c.layers, parallel.h, residual, layer_params,
      {.forward = exact, .backward = exact, .warm_start = false});
  distributed::LayerParallelResNet trainer(
      comm, c.layers, parallel.h, residual, layer_params,
      {.forward = inexact, .backward = inexact_backward, .warm_start_backward = c.warm_backward});
  const Tensor like = zeros({c.train_points, c.width}, {.dtype = kType});

  // 1. The residual per iteration, and the result against serial propagation.
  autograd::NoGradGuard no_grad;
  Tensor u0 = parallel.opening(train.x);
  Tensor uN = solve.forward(u0);
  std::vector<double> history = solve.last_forward().residuals;
  double rel_error = 0;
  if (solve.holds_output()) {
    auto f = [&](int64_t n, const Tensor& u) { return parallel.residual(n, u); };
    Tensor ref = distributed::serial_resnet_forward(f, c.layers, parallel.h, u0);
    rel_error = ((uN - ref).norm().item<double>() / ref.norm().item<double>());
  }
  rel_error = shared(comm, solve.holds_output(), rel_error);
  std::string line = "MGRIT residual per iteration:";
  for (double r : history) line += str(" ", r);
  run.note(line);
  run.note(str("MGRIT forward after ", solve.last_forward().iterations,
               " iterations vs serial: relative difference ", rel_error));

  // 2. Forward propagation: serial on rank 0 (the others wait) against MGRIT on all ranks.
  std::vector<double> serial_ms, mgrit_ms;
  for (int64_t r = 0; r < c.timing_repeats; ++r) {
    comm.barrier();
    if (comm.rank() == 0) {
      auto t = Clock::now();
      auto f = [&](int64_t n, const Tensor& u) { return parallel.residual(n, u); };
      (void)distributed::serial_resnet_forward(f, c.layers, parallel.h, u0).sum().item<double>();
      serial_ms.push_back(ms_since(t));
    }
    comm.barrier();
    auto t = Clock::now();
    (void)solve.forward(solve.holds_input() ? u0 : like);
    comm.barrier();
    mgrit_ms.push_back(ms_since(t));
  }
  const double serial_forward = shared(comm, comm.rank() == 0, median(serial_ms));
  const double mgrit_forward = median(mgrit_ms);

  // 3. Training: serially on rank 0, then layer-parallel on every rank, from the same start.
  std::vector<double> serial_loss, serial_step_ms;
  if (comm.rank() == 0) {
    autograd::EnableGradGuard grad_on;
    TensorList params = serial.opening.parameters();
    for (const nn::Linear& b : serial.blocks)
      for (const Tensor& p : b.parameters()) params.push_back(p);
    for (const Tensor& p : serial.classifier.parameters()) params.push_back(p);
    auto opt = make_optimizer(c, params);
    for (int64_t s = 0; s < c.steps; ++s) {
      auto t = Clock::now();
      opt->set_lr(lr_at(c, s));
      Tensor loss = nn::cross_entropy(serial.logits(train.x), train.y);
      opt->zero_grad();
      loss.backward();
      opt->step();
      serial_loss.push_back(loss.item<double>());
      serial_step_ms.push_back(ms_since(t));
    }
  }
  comm.barrier();
  std::vector<double> parallel_loss, parallel_step_ms, forward_residual, backward_residual;
  std::vector<int> forward_solves;
  {
    autograd::EnableGradGuard grad_on;
    TensorList params;  // what this rank holds
    if (trainer.holds_input())
      for (const Tensor& p : parallel.opening.parameters()) params.push_back(p);
    for (int64_t n = trainer.first_layer(); n < trainer.end_layer(); ++n)
      for (const Tensor& p : parallel.blocks[n].parameters()) params.push_back(p);
    if (trainer.holds_output())
      for (const Tensor& p : parallel.classifier.parameters()) params.push_back(p);
    auto opt = make_optimizer(c, params);
    for (int64_t s = 0; s < c.steps; ++s) {
      comm.barrier();
      auto t = Clock::now();
      opt->set_lr(lr_at(c, s));
      opt->zero_grad();
      Tensor start = trainer.holds_input() ? parallel.opening(train.x) : Tensor();
      const Tensor input = start.defined() ? start.detach() : like;
      Tensor end = trainer.forward(input);
      // The warm start's residual (after the first F-relaxation): how far the previous
      // step's points are from this step's network. Summed over the ranks, so all of them
      // take the same decision.
      forward_residual.push_back(trainer.last_forward().residuals.front());
      forward_solves.push_back(1);
      if (forward_residual.back() > c.adaptive_tolerance * forward_residual.front() &&
          c.adaptive_tolerance > 0) {
        end = trainer.forward(input);
        forward_solves.back() = 2;
      }
      Tensor seed = like;
      double loss = 0;
      if (trainer.holds_output()) {
        Tensor leaf = end.detach().requires_grad_();
        Tensor l = nn::cross_entropy(parallel.classifier(leaf), train.y);
        l.backward();
        seed = leaf.grad();
        loss = l.item<double>();
      }
      Tensor back = trainer.backward(seed);
      if (start.defined()) start.backward(back);
      opt->step();
      comm.barrier();
      parallel_step_ms.push_back(ms_since(t));
      backward_residual.push_back(trainer.last_backward().residuals.front());
      parallel_loss.push_back(shared(comm, trainer.holds_output(), loss));
    }
  }

  // Validation accuracy: serial network on rank 0; the parallel one propagated to tolerance.
  double serial_accuracy = 0;
  if (comm.rank() == 0)
    serial_accuracy = static_cast<double>(nn::count_correct(serial.logits(val.x), val.y)) /
                      static_cast<double>(c.val_points);
  serial_accuracy = shared(comm, comm.rank() == 0, serial_accuracy);
  const Tensor val_like = zeros({c.val_points, c.width}, {.dtype = kType});
  Tensor val_end = solve.forward(solve.holds_input() ? parallel.opening(val.x) : val_like);
  double parallel_accuracy = 0;
  if (solve.holds_output())
    parallel_accuracy =
        static_cast<double>(nn::count_correct(parallel.classifier(val_end), val.y)) /
        static_cast<double>(c.val_points);
  parallel_accuracy = shared(comm, solve.holds_output(), parallel_accuracy);
  std::vector<double> trained_history = solve.last_forward().residuals;

  for (int64_t s = 0; s < c.steps; ++s) {
    nn::Json record = {{"epoch", s + 1},
                       {"parallel_train_loss", parallel_loss[s]},
                       {"lr", lr_at(c, s)},
                       {"forward_residual", forward_residual[s]},
                       {"forward_solves", forward_solves[s]},
                       {"backward_residual", backward_residual[s]}};
    if (comm.rank() == 0) record["serial_train_loss"] = serial_loss[s];
    run.log(record);
  }
  // The first steps include the cold start; the median is the steady state.
  const double serial_step = shared(comm, comm.rank() == 0, median(serial_step_ms));
  const double parallel_step = median(parallel_step_ms);
  const double forward_speedup = serial_forward / mgrit_forward;
  const double step_speedup = serial_step / parallel_step;
  run.note(str("forward: serial ", serial_forward, " ms, MGRIT ", mgrit_forward, " ms (",
               forward_speedup, "x); training step: serial ", serial_step, " ms, layer-parallel ",
               parallel_step, " ms (", step_speedup, "x on ", ranks, " rank(s))"));
  run.note(
      str("validation accuracy: serial ", serial_accuracy, ", layer-parallel ", parallel_accuracy));
  run.set_metric("ranks", ranks);
  run.set_metric("layers", c.layers);
  run.set_metric("residual_history", history);
  run.set_metric("residual_history_trained", trained_history);
  run.set_metric("mgrit_iterations", solve.last_forward().iterations);
  run.set_metric("forward_rel_difference", rel_error);
  run.set_metric("serial_forward_ms", serial_forward);
  run.set_metric("mgrit_forward_ms", mgrit_forward);
  run.set_metric("forward_speedup", forward_speedup);
  run.set_metric("serial_step_ms", serial_step);
  run.set_metric("parallel_step_ms", parallel_step);
  // The median hides the steps with a repeated forward solve; the mean counts them.
  auto mean = [](const std::vector<double>& v) {
    return v.empty() ? 0.0
                     : std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
  };
  run.set_metric("serial_step_mean_ms", shared(comm, comm.rank() == 0, mean(serial_step_ms)));
  run.set_metric("parallel_step_mean_ms", mean(parallel_step_ms));
  run.set_metric("repeated_forward_solves",
                 std::count(forward_solves.begin(), forward_solves.end(), 2));
  run.set_metric("step_speedup", step_speedup);
  run.set_metric("step_efficiency", step_speedup / ranks);
  run.set_metric("serial_train_loss", comm.rank() == 0 ? serial_loss.back() : 0.0);
  run.set_metric("parallel_train_loss", parallel_loss.back());
  run.set_metric("serial_val_accuracy", serial_accuracy);
  run.set_metric("parallel_val_accuracy", parallel_accuracy);
}

const nn::RegisterExample<LayerParallelConfig> registration{{
    .name = "layer-parallel",
    .description = "a 256-layer ResNet on peaks, layers over MPI ranks, MGRIT forward and "
                   "backward (Günther et al. 2020); run under mpirun",
    .quick = {{"steps", 200}, {"train_points", 2000}, {"val_points", 1000}, {"timing_repeats", 3}},
    .run = run_layer_parallel,
}};

}  // namespace
}  // namespace ctdl::examples

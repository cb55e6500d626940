// srnn: symplectic recurrent neural networks (Chen, Zhang, Arjovsky & Bottou, ICLR 2020) on
// the paper's spring chain, against a single-step Hamiltonian network and a recurrent Euler
// network without Hamiltonian structure.
//
//   build/bin/ctdl run srnn --quick                  # 5 masses; writes runs/srnn/summary.json
//   build/bin/ctdl run srnn                          # the paper's 20 masses
//   build/bin/ctdl run srnn --set 'models=["srnn","hnn"]'
//
// Top to bottom:
//   data      a chain of `masses` masses and springs between two walls (chain.h), random
//             masses and stiffnesses; trajectories observed every Δt = 0.1 with Gaussian
//             noise, ground truth by leapfrog at Δt = 0.001
//   models    models.h: srnn (H = K(p) + V(q), leapfrog, trained over whole trajectories),
//             hnn (the same H, one Euler step, trained on single steps), euler_rnn (a free
//             MLP field, Euler, trained over whole trajectories), srnn_iso (srnn with the
//             initial states optimized by L-BFGS before predicting; with iso_in_training,
//             the training trajectories' initial states too)
//   training  recurrent models roll out every window of `horizon` steps of their batch's
//             trajectories, the horizon growing from horizon_start to the whole trajectory
//   metric    from the first (noisy) observation of each test trajectory — or, with ISO, from
//             the initial state fitted to its first `iso_steps` observations — the model
//             predicts `test_steps` steps; the error is ‖q̂(t) − q(t)‖₂ over the masses
//             against the noise-free positions, averaged over the steps and trajectories
// summary.json: position_error_<model> for each model, and the paper's table beside them.
#include <chrono>
#include <cmath>
#include <iostream>

#include "chain.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "models.h"

namespace ctdl::examples::srnn {
namespace {

struct SrnnConfig {
  std::vector<std::string> models = {"srnn", "hnn", "euler_rnn", "srnn_iso"};
  int64_t masses = 20;
  int64_t train_trajectories = 512;
  int64_t train_steps = 20;  // observations after the first, per training trajectory
  int64_t test_trajectories = 32;
  int64_t test_steps = 200;
  double dt = 0.1, fine_dt = 0.001, noise = 0.2;
  int64_t hidden = 256;
  int64_t iterations = 3000;
  int64_t batch_size = 32;  // trajectories per step
  // Recurrent training rolls out every window of `horizon` steps of the batch's trajectories
  // (each from its first noisy observation), the horizon growing linearly from horizon_start
  // to train_steps over the first horizon_growth of the iterations: from scratch, whole
  // 20-step rollouts get stuck with the wrong frequencies. (Single-step training uses every
  // step throughout; iso_in_training rolls out from the fitted initial states only.)
  int64_t horizon_start = 2;
  double horizon_growth = 0.5;
  double lr = 3e-3;         // Adam, cosine-annealed to lr / 10
  // Initial state optimization: L-BFGS iterations per fit; at test time it fits the first
  // iso_steps + 1 observations; in training (iso_in_training) it refits every trajectory's
  // initial state every iso_every steps from iso_start on.
  int64_t iso_steps = 10;
  int64_t iso_iterations = 10;
  int64_t iso_every = 100;
  int64_t iso_start = 500;
  // srnn_iso: also refit the training trajectories' initial states (and train on rollouts
  // from their start only); off, srnn_iso trains as srnn does and uses ISO before predicting.
  bool iso_in_training = false;
  int64_t eval_every = 250;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SrnnConfig, models, masses, train_trajectories,
                                                train_steps, test_trajectories, test_steps, dt,
                                                fine_dt, noise, hidden, iterations, batch_size,
                                                horizon_start, horizon_growth, lr, iso_steps,
                                                iso_iterations, iso_every, iso_start,
                                                iso_in_training, eval_every, seed)

// The paper's table (spring chain, 20 masses): position error over 200 steps.
double paper_error(const std::string& model) {
  if (model == "srnn") return 2.37;
  if (model == "hnn") return 7.24;
  if (model == "euler_rnn") return 2.88;
  return 1.45;  // srnn_iso
}

struct Evaluation {
  double error = 0;               // averaged over steps 1..test_steps and trajectories
  std::vector<double> per_step;   // averaged over trajectories, steps 0..test_steps
  std::vector<double> first_mass; // q of mass 0 along test trajectory 0
  bool finite = true;
};

Evaluation evaluate(const ChainModel& model, const ChainData& test, const SrnnConfig& c) {
  const int64_t n = c.masses, S = test.clean.size(0) - 1;
  Tensor z0 = test.noisy.select(0, 0);
  if (model.spec.initial_state_optimization)
    z0 = optimize_initial_state(model, test.noisy.narrow(0, 0, std::min(c.iso_steps, S) + 1), z0,
                                c.dt, c.iso_iterations);
  autograd::NoGradGuard no_grad;
  Tensor pred = predict(model, z0, S, c.dt);
  Tensor err = norm(pred.narrow(-1, 0, n) - test.clean.narrow(-1, 0, n), 2.0, {-1});  // [S+1, B]
  Evaluation e;
  e.per_step = err.mean({1}).to(DType::Float64).to_vector<double>();
  e.error = err.narrow(0, 1, S).mean().item<double>();
  e.finite = std::isfinite(e.error);
  e.first_mass = pred.select(1, 0).select(-1, 0).to(DType::Float64).to_vector<double>();
  return e;
}

struct Trained {
  Evaluation eval;
  double seconds = 0;
};

Trained train(nn::Run& run, const SrnnConfig& c, const ModelSpec& spec, const ChainData& data,
              const ChainData& test) {
  manual_seed(static_cast<uint64_t>(c.seed) + 1);  // the same initial weights and batches
  ChainModel model(spec, c.masses, c.hidden);
  nn::Adam opt(model.parameters(), {.lr = c.lr});
  const int64_t N = data.noisy.size(1), B = std::min(c.batch_size, N);
  // The initial state each training trajectory starts from: its first noisy observation,
  // replaced by fitted states under ISO.
  Tensor z0_all = data.noisy.select(0, 0);
  auto start = std::chrono::steady_clock::now();
  double eval_seconds = 0, loss_sum = 0;
  int64_t since = 0;
  Trained out;
  for (int64_t it = 1; it <= c.iterations; ++it) {
    const double progress = static_cast<double>(it - 1) / static_cast<double>(c.iterations);
    opt.set_lr(c.lr * (0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * progress))));
    const int64_t T = data.noisy.size(0) - 1;
    const double grown = c.horizon_growth > 0 ? progress / c.horizon_growth : 1.0;
    const int64_t horizon = !spec.recurrent ? T : std::min<int64_t>(
        T, c.horizon_start + static_cast<int64_t>(grown * static_cast<double>(T - c.horizon_start)));
    Tensor idx = randint(0, N, {B});
    Tensor loss;
    if ((spec.initial_state_optimization && c.iso_in_training) || !spec.recurrent) {
      Tensor obs = data.noisy.narrow(0, 0, horizon + 1);
      if (spec.initial_state_optimization && it > c.iso_start && (it - c.iso_start) % c.iso_every == 1)
        z0_all = optimize_initial_state(model, obs, z0_all, c.dt, c.iso_iterations);
      loss = training_loss(model, index_select(obs, 1, idx), index_select(z0_all, 0, idx), c.dt);
    } else {
      // Every window of horizon + 1 observations of the batch's trajectories, each from its
      // own first (noisy) observation: short horizons still see all the data.
      Tensor obs = index_select(data.noisy, 1, idx);
      TensorList windows;
      for (int64_t o = 0; o + horizon <= T; ++o) windows.push_back(obs.narrow(0, o, horizon + 1));
      Tensor w = cat(windows, 1);
      loss = training_loss(model, w, w.select(0, 0), c.dt);
    }
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_sum += loss.item();
    ++since;
    if (it % c.eval_every == 0 || it == c.iterations) {
      auto e0 = std::chrono::steady_clock::now();
      out.eval = evaluate(model, test, c);
      eval_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - e0).count();
      nn::Json record = {{"step", it}, {spec.name + "_train_loss", loss_sum / static_cast<double>(since)}};
      if (out.eval.finite) record[spec.name + "_position_error"] = out.eval.error;
      run.log(record);
      std::cout << spec.name << " step " << it << ": train loss "
                << loss_sum / static_cast<double>(since) << ", test position error "
                << out.eval.error << "\n";
      loss_sum = 0;
      since = 0;
    }
  }
  out.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() - eval_seconds;
  return out;
}

void run_srnn(nn::Run& run, const SrnnConfig& c) {
  std::vector<ModelSpec> specs;
  for (const std::string& name : c.models) specs.push_back(model_spec(name));  // typos stop here
  manual_seed(static_cast<uint64_t>(c.seed));
  SpringChain chain = SpringChain::random(c.masses);
  ChainData data = simulate(chain, {.trajectories = c.train_trajectories,
                                    .steps = c.train_steps,
                                    .dt = c.dt,
                                    .fine_dt = c.fine_dt,
                                    .noise = c.noise});
  ChainData test = simulate(chain, {.trajectories = c.test_trajectories,
                                    .steps = c.test_steps,
                                    .dt = c.dt,
                                    .fine_dt = c.fine_dt,
                                    .noise = c.noise});
  run.note("spring chain of " + std::to_string(c.masses) + " masses; " +
           std::to_string(c.train_trajectories) + " training trajectories of " +
           std::to_string(c.train_steps) + " steps and " + std::to_string(c.test_trajectories) +
           " test trajectories of " + std::to_string(c.test_steps) + " steps, Δt = " +
           std::to_string(c.dt) + ", noise σ = " + std::to_string(c.noise) +
           "; errors against the noise-free positions");

  // A reference: the error of predicting the rest position q = 0 at every step.
  run.set_metric("position_error_rest",
                 norm(test.clean.narrow(0, 1, c.test_steps).narrow(-1, 0, c.masses), 2.0, {-1})
                     .mean()
                     .item());
  std::vector<nn::Series> errors, positions(1);
  {
    std::vector<double> q = test.clean.select(1, 0).select(-1, 0).to(DType::Float64).to_vector<double>();
    positions[0].title = "truth";
    for (size_t i = 0; i < q.size(); ++i)
      positions[0].x.push_back(static_cast<double>(i) * c.dt), positions[0].y.push_back(q[i]);
  }
  for (const ModelSpec& spec : specs) {
    Trained t = train(run, c, spec, data, test);
    if (t.eval.finite) run.set_metric("position_error_" + spec.name, t.eval.error);
    else run.set_metric("position_error_" + spec.name, "diverged");
    // Within the training horizon: the first train_steps prediction steps.
    double early = 0;
    const int64_t H = std::min<int64_t>(c.train_steps, static_cast<int64_t>(t.eval.per_step.size()) - 1);
    for (int64_t i = 1; i <= H; ++i) early += t.eval.per_step[static_cast<size_t>(i)];
    if (std::isfinite(early)) run.set_metric("position_error_first_steps_" + spec.name, early / static_cast<double>(H));
    run.set_metric("train_seconds_" + spec.name, t.seconds);
    run.set_paper("position_error_" + spec.name, paper_error(spec.name));
    nn::Series e{.title = spec.name}, p{.title = spec.name};
    for (size_t i = 1; i < t.eval.per_step.size(); ++i)
      if (std::isfinite(t.eval.per_step[i]))
        e.x.push_back(static_cast<double>(i)), e.y.push_back(t.eval.per_step[i]);
    for (size_t i = 0; i < t.eval.first_mass.size(); ++i)
      if (std::isfinite(t.eval.first_mass[i]))
        p.x.push_back(static_cast<double>(i) * c.dt), p.y.push_back(t.eval.first_mass[i]);
    errors.push_back(std::move(e));
    positions.push_back(std::move(p));
  }
  nn::plot_lines((run.dir() / "error.png").string(), errors,
                 {.title = "position error ‖q̂ − q‖ against prediction step",
                  .xlabel = "step (Δt = " + std::to_string(c.dt) + ")",
                  .ylabel = "error",
                  .log_y = true});
  nn::plot_lines((run.dir() / "positions.png").string(), positions,
                 {.title = "mass 1 of test trajectory 1", .xlabel = "t", .ylabel = "q_1"});
  run.note("paper (Chen et al. 2020, spring chain of 20 masses): SRNN 2.37, HNN 7.24, recurrent "
           "Euler network (O-NET) 2.88, SRNN with initial state optimization 1.45");
}

const nn::RegisterExample<SrnnConfig> registration{{
    .name = "srnn",
    .description = "symplectic RNN (Chen et al. 2020) on a spring chain, against a single-step "
                   "HNN and a recurrent Euler network; initial state optimization",
    .quick = {{"masses", 5},
              {"train_trajectories", 256},
              {"hidden", 64},
              {"iterations", 1000},
              {"iso_start", 300},
              {"test_trajectories", 16}},
    .run = run_srnn,
}};

}  // namespace
}  // namespace ctdl::examples::srnn

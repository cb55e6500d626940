// neural-ode: neural ODEs (Chen et al. 2018) trained with and without RNODE's regularizers
// (Finlay et al., "How to train your neural ODE", ICML 2020), on three small tasks:
//
//   build/bin/ctdl run neural-ode --quick                          # concentric circles
//   build/bin/ctdl run neural-ode --set task=spirals
//   build/bin/ctdl run neural-ode --set task=trajectory            # fit a cubic spiral
//   build/bin/ctdl run neural-ode --set grad=backsolve_adjoint --set solver=tsit5
//
// What happens, top to bottom:
//   data         concentric circles or two spirals (labels 0/1), or the trajectory of
//                dz/dt = z³A (torchdiffeq's demo), generated from the seed (data.h)
//   model        classification: x ↦ [x | 0] ↦ z(1) of dz/dt = f(z) ↦ linear logits, f an MLP
//                in an nn::ODEBlock (rnode.h); trajectory: z(t) of dz/dt = f(z³)
//   solver       any of ode/registry.h's names (default dopri5, adaptive), and the gradient
//                scheme by name (default backprop; backsolve_adjoint, symplectic_adjoint, ...)
//   training     twice from the same initial weights and batches: plain (loss only), and
//                RNODE (loss + λ_K ∫‖f‖² + λ_J ∫‖εᵀ∂f/∂z‖², both integrated as extra states)
//   measured     test accuracy (or MSE) and the number of function evaluations (NFE) the
//                adaptive solver needs for the test set, as training goes and at the end
// The paper's claim is that RNODE's dynamics are simpler to solve: fewer NFE at equal
// accuracy. summary.json holds both runs' figures and their ratio, nfe_reduction.
#include <chrono>
#include <cmath>
#include <iostream>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "ctdl/ode/registry.h"
#include "data.h"
#include "rnode.h"

namespace ctdl::examples::neural_ode {
namespace {

struct NeuralOdeConfig {
  std::string task = "circles";  // circles, spirals, or trajectory
  int64_t iterations = 2000;
  int64_t batch_size = 256;  // examples (classification) or windows (trajectory) per step
  int64_t train_size = 2048, test_size = 2048;
  double lr = 0.01;
  int64_t hidden = 32;
  int64_t augment = 1;  // zero dimensions appended to the input
  std::string solver = "dopri5";
  double rtol = 1e-5, atol = 1e-5;
  double step_size = 0;  // > 0: fixed steps (then rtol, atol are not used)
  std::string grad = "backprop";
  double kinetic = 0.05, jacobian = 0.05;  // RNODE's λ_K and λ_J
  bool plain = true;                       // also train without them, for the comparison
  int64_t eval_every = 100;
  // trajectory task: the path has `points` samples over [0, t_end]; training windows hold
  // `window` consecutive samples
  int64_t points = 1000;
  double t_end = 25.0;
  int64_t window = 10;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NeuralOdeConfig, task, iterations, batch_size,
                                                train_size, test_size, lr, hidden, augment,
                                                solver, rtol, atol, step_size, grad, kinetic,
                                                jacobian, plain, eval_every, points, t_end, window,
                                                seed)

ode::Solver make_solver(const NeuralOdeConfig& c) {
  ode::NamedOptions o("solver");
  if (c.step_size > 0) {
    o.set("step_size", c.step_size);
  } else {
    o.set("rtol", c.rtol);
    o.set("atol", c.atol);
  }
  return ode::make_solver(c.solver, o);
}

// One training run: "plain" (λ = 0) or "rnode".
struct Variant {
  std::string name;
  double kinetic = 0, jacobian = 0;
  bool regularized() const { return kinetic > 0 || jacobian > 0; }
};

struct Outcome {
  double score = 0;  // test accuracy, or test MSE for the trajectory
  double nfe = 0;    // forward NFE of the test solve
  double train_seconds = 0;
  double train_nfe = 0;  // forward NFE per training step, averaged over the last eval period
  std::vector<double> steps, nfe_curve;
  Tensor picture;  // what the plots draw: z(1) of the test set, or the fitted path
};

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// ---- classification --------------------------------------------------------------------------

Outcome train_classifier(nn::Run& run, const NeuralOdeConfig& c, const Labeled& train,
                         const Labeled& test, const Variant& v) {
  manual_seed(static_cast<uint64_t>(c.seed) + 1);  // the same weights and batches for each variant
  Classifier model({.augment = c.augment,
                    .hidden = c.hidden,
                    .solver = make_solver(c),
                    .grad = ode::make_scheme(c.grad, ode::NamedOptions("grad"))});
  nn::Adam opt(model.parameters(), {.lr = c.lr});
  auto stats = std::make_shared<ode::Stats>();
  model.block.options().stats = stats;

  auto evaluate = [&](Outcome& out) {
    autograd::NoGradGuard no_grad;
    Tensor logits = model(test.x);
    out.score = nn::accuracy(logits, test.y);
    out.nfe = static_cast<double>(stats->nfe_forward);
  };

  Outcome out;
  const int64_t n = train.x.size(0), B = std::min(c.batch_size, n);
  double loss_sum = 0, ce_sum = 0, nfe_sum = 0, reg_k = 0, reg_j = 0;
  int64_t since = 0;
  Clock::time_point start = Clock::now();
  double eval_seconds = 0;
  for (int64_t it = 1; it <= c.iterations; ++it) {
    Tensor idx = randint(0, n, {B});
    Tensor x = index_select(train.x, 0, idx), y = index_select(train.y, 0, idx);
    Tensor loss, ce;
    if (v.regularized()) {
      Tensor eps = randn({B, model.state_dim()});
      RegularizedOutput r = model.regularized(x, eps, stats);
      ce = nn::cross_entropy(r.logits, y);
      Tensor kinetic = r.kinetic.mean(), jacobian = r.jacobian.mean();
      loss = ce + kinetic * v.kinetic + jacobian * v.jacobian;
      reg_k += kinetic.item();
      reg_j += jacobian.item();
    } else {
      ce = nn::cross_entropy(model(x), y);
      loss = ce;
    }
    nfe_sum += static_cast<double>(stats->nfe_forward);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_sum += loss.item();
    ce_sum += ce.item();
    ++since;
    if (it % c.eval_every == 0 || it == c.iterations) {
      Clock::time_point e = Clock::now();
      evaluate(out);
      eval_seconds += seconds_since(e);
      const double k = static_cast<double>(since);
      out.train_nfe = nfe_sum / k;
      out.steps.push_back(static_cast<double>(it));
      out.nfe_curve.push_back(out.nfe);
      nn::Json record = {{"step", it},
                     {v.name + "_train_loss", loss_sum / k},
                     {v.name + "_cross_entropy_loss", ce_sum / k},
                     {v.name + "_test_accuracy", out.score},
                     {v.name + "_nfe", out.nfe},
                     {v.name + "_train_nfe", out.train_nfe}};
      if (v.regularized()) {
        record[v.name + "_kinetic"] = reg_k / k;
        record[v.name + "_jacobian"] = reg_j / k;
      }
      run.log(record);
      std::cout << v.name << " step " << it << ": loss " << loss_sum / k << ", test accuracy "
                << out.score << ", NFE " << out.nfe << " (training steps: " << out.train_nfe
                << ")\n";
      loss_sum = ce_sum = nfe_sum = reg_k = reg_j = 0;
      since = 0;
    }
  }
  out.train_seconds = seconds_since(start) - eval_seconds;
  {
    autograd::NoGradGuard no_grad;
    out.picture = model.block(model.lift(test.x));
  }
  return out;
}

// z(1) of the test set, first two coordinates, one series per class.
void plot_features(const std::string& path, const Tensor& z, const Tensor& y,
                   const std::string& title) {
  std::vector<nn::Series> series(2);
  std::vector<float> zv = z.contiguous().to_vector<float>();
  std::vector<int64_t> yv = y.to_vector<int64_t>();
  const int64_t d = z.size(1);
  for (size_t i = 0; i < yv.size(); ++i) {
    nn::Series& s = series[yv[i] == 0 ? 0 : 1];
    s.x.push_back(zv[i * d]);
    s.y.push_back(zv[i * d + 1]);
  }
  series[0].title = "class 0";
  series[1].title = "class 1";
  for (nn::Series& s : series) s.style = "points";
  nn::plot_lines(path, series, {.title = title, .xlabel = "z_1", .ylabel = "z_2"});
}

void run_classification(nn::Run& run, const NeuralOdeConfig& c, const std::vector<Variant>& variants) {
  manual_seed(static_cast<uint64_t>(c.seed));
  Labeled train = c.task == "circles" ? concentric_circles(c.train_size) : two_spirals(c.train_size);
  Labeled test = c.task == "circles" ? concentric_circles(c.test_size) : two_spirals(c.test_size);
  run.note(c.task + ": " + std::to_string(c.train_size) + " training and " +
           std::to_string(c.test_size) + " test points, generated from seed " +
           std::to_string(c.seed));

  std::vector<nn::Series> nfe_series;
  std::vector<Outcome> outcomes;
  for (const Variant& v : variants) {
    Outcome o = train_classifier(run, c, train, test, v);
    run.set_metric("test_accuracy_" + v.name, o.score);
    run.set_metric("nfe_" + v.name, o.nfe);
    run.set_metric("train_nfe_" + v.name, o.train_nfe);
    run.set_metric("train_seconds_" + v.name, o.train_seconds);
    nfe_series.push_back({.title = v.name, .x = o.steps, .y = o.nfe_curve, .style = "linespoints"});
    plot_features((run.dir() / ("features_" + v.name + ".png")).string(), o.picture, test.y,
                  v.name + ": z(1) of the test set (first two coordinates)");
    outcomes.push_back(std::move(o));
  }
  nn::plot_lines((run.dir() / "nfe.png").string(), nfe_series,
                 {.title = "function evaluations to solve the test set (" + c.solver + ")",
                  .xlabel = "step",
                  .ylabel = "NFE"});
  if (outcomes.size() == 2) {
    run.set_metric("nfe_reduction", outcomes[0].nfe / outcomes[1].nfe);
    run.set_metric("accuracy_difference", outcomes[1].score - outcomes[0].score);
    run.set_metric("training_speedup", outcomes[0].train_seconds / outcomes[1].train_seconds);
  }
}

// ---- trajectory fitting ------------------------------------------------------------------------

Outcome train_trajectory(nn::Run& run, const NeuralOdeConfig& c, const Tensor& truth,
                         const Variant& v) {
  manual_seed(static_cast<uint64_t>(c.seed) + 1);
  nn::ODEBlock<Dynamics> model(Dynamics(2, c.hidden, /*cube=*/true),
                               {.solver = make_solver(c),
                                .grad = ode::make_scheme(c.grad, ode::NamedOptions("grad"))});
  nn::Adam opt(model.parameters(), {.lr = c.lr});
  auto stats = std::make_shared<ode::Stats>();
  model.options().stats = stats;
  const int64_t P = truth.size(0), W = c.window;
  const double dt = c.t_end / static_cast<double>(P - 1);
  std::vector<double> window_times, all_times;
  for (int64_t k = 0; k < W; ++k) window_times.push_back(dt * static_cast<double>(k));
  for (int64_t k = 0; k < P; ++k) all_times.push_back(dt * static_cast<double>(k));
  Tensor offsets = arange(static_cast<double>(W), {.dtype = DType::Int64});

  Outcome out;
  double loss_sum = 0, nfe_sum = 0;
  int64_t since = 0;
  Clock::time_point start = Clock::now();
  double eval_seconds = 0;
  for (int64_t it = 1; it <= c.iterations; ++it) {
    Tensor s = randint(0, P - W + 1, {c.batch_size});
    Tensor z0 = index_select(truth, 0, s);  // [B, 2]
    // target[k, b] = truth[s_b + k]
    Tensor target = index_select(truth, 0, (s.unsqueeze(0) + offsets.unsqueeze(1)).reshape({-1}))
                        .reshape({W, c.batch_size, 2});
    Tensor loss;
    if (v.regularized()) {
      Tensor eps = randn({c.batch_size, 2});
      RegularizedTrajectory r =
          solve_regularized(model.f, z0, eps, window_times, model.options().solver,
                            model.options().grad, stats);
      loss = nn::mse_loss(r.zs, target) + r.kinetic.select(0, W - 1).mean() * v.kinetic +
             r.jacobian.select(0, W - 1).mean() * v.jacobian;
    } else {
      loss = nn::mse_loss(model.trajectory(z0, window_times), target);
    }
    nfe_sum += static_cast<double>(stats->nfe_forward);
    opt.zero_grad();
    loss.backward();
    opt.step();
    loss_sum += loss.item();
    ++since;
    if (it % c.eval_every == 0 || it == c.iterations) {
      Clock::time_point e = Clock::now();
      {
        autograd::NoGradGuard no_grad;
        out.picture = model.trajectory(truth.narrow(0, 0, 1), all_times).select(1, 0);
        out.score = nn::mse_loss(out.picture, truth).item();
        out.nfe = static_cast<double>(stats->nfe_forward);
      }
      eval_seconds += seconds_since(e);
      out.train_nfe = nfe_sum / static_cast<double>(since);
      out.steps.push_back(static_cast<double>(it));
      out.nfe_curve.push_back(out.nfe);
      run.log({{"step", it},
               {v.name + "_train_loss", loss_sum / static_cast<double>(since)},
               {v.name + "_test_mse_loss", out.score},
               {v.name + "_nfe", out.nfe},
               {v.name + "_train_nfe", out.train_nfe}});
      std::cout << v.name << " step " << it << ": loss " << loss_sum / static_cast<double>(since)
                << ", whole-path MSE " << out.score << ", NFE " << out.nfe << "\n";
      loss_sum = nfe_sum = 0;
      since = 0;
    }
  }
  out.train_seconds = seconds_since(start) - eval_seconds;
  return out;
}

void run_trajectory(nn::Run& run, const NeuralOdeConfig& c, const std::vector<Variant>& variants) {
  Tensor truth = cubic_spiral(c.points, c.t_end);
  run.note("trajectory: dz/dt = z³A from (2, 0), " + std::to_string(c.points) +
           " samples over [0, " + std::to_string(c.t_end) + "]; training windows of " +
           std::to_string(c.window) + " samples; the test is the whole path from z(0)");
  std::vector<float> tv = truth.contiguous().to_vector<float>();
  std::vector<nn::Series> paths(1), nfe_series;
  paths[0].title = "truth";
  for (size_t i = 0; i < tv.size(); i += 2) paths[0].x.push_back(tv[i]), paths[0].y.push_back(tv[i + 1]);
  std::vector<Outcome> outcomes;
  for (const Variant& v : variants) {
    Outcome o = train_trajectory(run, c, truth, v);
    run.set_metric("test_mse_" + v.name, o.score);
    run.set_metric("nfe_" + v.name, o.nfe);
    run.set_metric("train_nfe_" + v.name, o.train_nfe);
    run.set_metric("train_seconds_" + v.name, o.train_seconds);
    std::vector<float> pv = o.picture.contiguous().to_vector<float>();
    nn::Series s{.title = v.name};
    for (size_t i = 0; i < pv.size(); i += 2) s.x.push_back(pv[i]), s.y.push_back(pv[i + 1]);
    paths.push_back(std::move(s));
    nfe_series.push_back({.title = v.name, .x = o.steps, .y = o.nfe_curve, .style = "linespoints"});
    outcomes.push_back(std::move(o));
  }
  nn::plot_lines((run.dir() / "trajectory.png").string(), paths,
                 {.title = "the path from z(0)", .xlabel = "z_1", .ylabel = "z_2"});
  nn::plot_lines((run.dir() / "nfe.png").string(), nfe_series,
                 {.title = "function evaluations for the whole path (" + c.solver + ")",
                  .xlabel = "step",
                  .ylabel = "NFE"});
  if (outcomes.size() == 2) run.set_metric("nfe_reduction", outcomes[0].nfe / outcomes[1].nfe);
}

void run_neural_ode(nn::Run& run, const NeuralOdeConfig& c) {
  CTDL_CHECK(c.task == "circles" || c.task == "spirals" || c.task == "trajectory",
             "neural-ode: task must be circles, spirals or trajectory, got \"", c.task, "\"");
  (void)make_solver(c);  // a typo in the solver or the scheme stops the run here
  (void)ode::make_scheme(c.grad, ode::NamedOptions("grad"));
  std::vector<Variant> variants;
  if (c.plain) variants.push_back({"plain"});
  variants.push_back({"rnode", c.kinetic, c.jacobian});
  std::cout << "neural-ode: " << c.task << ", solver " << c.solver << ", gradients by " << c.grad
            << "; RNODE λ_K = " << c.kinetic << ", λ_J = " << c.jacobian << "\n";
  if (c.task == "trajectory") run_trajectory(run, c, variants);
  else run_classification(run, c, variants);
  // The paper's figures are for FFJORD density models (MNIST, CIFAR-10), not these toys: what
  // carries over is the claim, fewer function evaluations at equal accuracy.
  run.set_paper("training_speedup", 2.8);
  run.set_paper("claim", "RNODE: far fewer function evaluations at equal accuracy");
  run.note("paper (Finlay et al. 2020): FFJORD on MNIST trains about 2.8x faster (wall clock) with "
           "RNODE at the same bits/dim; nfe_reduction = NFE plain / NFE rnode, both measured on "
           "the test set with the configured adaptive solver");
}

const nn::RegisterExample<NeuralOdeConfig> registration{{
    .name = "neural-ode",
    .description = "neural ODEs on circles, spirals or a trajectory, with and without RNODE's "
                   "kinetic and Jacobian regularizers (Finlay et al. 2020): NFE and accuracy",
    .quick = {{"iterations", 600}, {"train_size", 1024}, {"test_size", 1024}, {"batch_size", 128}},
    .run = run_neural_ode,
}};

}  // namespace
}  // namespace ctdl::examples::neural_ode

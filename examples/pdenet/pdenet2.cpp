// pdenet2: PDE-Net 2.0 (J. Comput. Phys. 2019) on 2-D Burgers: SymNet right-hand sides,
// upwind first-order terms, sparsity regularization, layer-wise L-BFGS; prints the
// recovered PDE and compares its terms with u_t = −u u_x − v u_y + ν Δu (and likewise v).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <numbers>
#include <sstream>

#include "common.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "pdenet2_model.h"

namespace ctdl::examples::pdenet {
namespace {

using nn::Json;

struct PdeNet2Config {
  std::string constraint = "moment";  // moment | frozen | free
  int64_t kernel_size = 5;
  int64_t max_order = 2;
  int64_t accuracy = 1;
  int64_t hidden_layers = 3;
  bool upwind = true;
  int64_t grid = 32;
  int64_t zoom = 4;
  int64_t solver_modes = 128;
  double solver_dt = 5e-3;
  int64_t max_frequency = 4;
  double amplitude = 2.0;   // max |u0 − shift| per channel
  double shift = 2.0;       // a constant drawn from [−shift, shift] per channel
  double start_time = 1.0;  // half of every batch is observed from this time on
  double viscosity = 0.05;
  double noise = 0.001;
  double dt = 0.01;      // the time between observations
  int64_t substeps = 3;  // δt-blocks per observation (δt = dt / substeps; paper: 1)
  std::vector<int64_t> blocks = {0, 1, 2, 3, 4, 5, 6, 9, 12, 15, 18};  // 0: warm-up
  int64_t batch_size = 28;
  int64_t max_iter = 2000;  // L-BFGS iterations per stage
  int64_t history = 50;
  double sparsity = 0.005;         // weight of SymNet's smoothed L1 norm (times the steps)
  double moment_sparsity = 0.001;  // weight of the learned moments' smoothed L1 norm
  double prune = 2e-3;             // terms below this are left out of the printed PDE
  int64_t test_batch = 16;
  int64_t test_steps = 50;
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PdeNet2Config, constraint, kernel_size, max_order,
                                                accuracy, hidden_layers, upwind, grid, zoom,
                                                solver_modes, solver_dt, max_frequency, amplitude,
                                                shift, start_time, viscosity, noise, dt, substeps,
                                                blocks, batch_size, max_iter, history, sparsity,
                                                moment_sparsity, prune, test_batch, test_steps,
                                                seed)

nn::MomentConstraint constraint_from_name(const std::string& name) {
  if (name == "moment") return nn::MomentConstraint::Moment;
  if (name == "frozen") return nn::MomentConstraint::Frozen;
  if (name == "free") return nn::MomentConstraint::Free;
  throw std::invalid_argument("pdenet2: unknown constraint '" + name + "' (moment, frozen, free)");
}

// The true right-hand sides, by channel: monomial name (as SymNet expansions name them,
// e.g. "u_y*v" for v·u_y) -> coefficient.
std::vector<std::map<std::string, double>> burgers_terms(const std::vector<std::string>& features,
                                                         double nu) {
  auto name = [&](std::vector<std::string> factors) {
    Monomial m(features.size(), 0);
    for (const std::string& f : factors)
      m[std::find(features.begin(), features.end(), f) - features.begin()] += 1;
    return monomial_name(m, features);
  };
  return {{{name({"u", "u_x"}), -1.0}, {name({"v", "u_y"}), -1.0}, {"u_xx", nu}, {"u_yy", nu}},
          {{name({"u", "v_x"}), -1.0}, {name({"v", "v_y"}), -1.0}, {"v_xx", nu}, {"v_yy", nu}}};
}

void run_pdenet2(nn::Run& run, const PdeNet2Config& config) {
  const int64_t n = config.grid;
  const double dx = 2.0 * std::numbers::pi / static_cast<double>(n);
  const std::vector<std::string> channels = {"u", "v"};
  DataOptions data{.pde = {.equation = Equation::Burgers, .viscosity = config.viscosity},
                   .solver = {.modes = config.solver_modes, .max_dt = config.solver_dt},
                   .initial = {.max_frequency = config.max_frequency,
                               .amplitude = config.amplitude,
                               .shift = config.shift},
                   .grid = n,
                   .zoom = config.zoom,
                   .noise = config.noise,
                   .start_time = config.start_time,
                   .evolved = 0.5};
  std::ostringstream note;
  note << "data: 2-D Burgers, nu = " << config.viscosity << ", pseudo-spectral solve on "
       << config.solver_modes << "^2 modes (IF-RK4, 2/3 dealiasing), observed on " << n << "x" << n
       << " (every " << config.zoom << "th point of " << n * config.zoom
       << "^2, random shift), half of each batch from t = " << config.start_time << ", noise "
       << config.noise << " std(u0)";
  run.note(note.str());

  manual_seed(static_cast<uint64_t>(config.seed));
  PdeNet2 net({.kernel_size = config.kernel_size,
               .max_order = config.max_order,
               .accuracy = config.accuracy,
               .dx = dx,
               .dt = config.dt,
               .substeps = config.substeps,
               .constraint = constraint_from_name(config.constraint),
               .hidden_layers = config.hidden_layers,
               .upwind = config.upwind});
  const auto truth = burgers_terms(net.feature_names(), config.viscosity);

  for (size_t i = 0; i < config.blocks.size(); ++i) {
    const int64_t block = config.blocks[i], steps = std::max<int64_t>(block, 1);
    Trajectories d = generate(data, config.batch_size, steps, config.dt,
                              static_cast<uint64_t>(config.seed) * 7919 + 100 + i);
    TensorList params = net.symnet_parameters();
    const bool train_filters = block > 0 && config.constraint != "frozen";
    if (train_filters) params.push_back(net.filters.moments);
    auto data_loss = [&] {
      Tensor u = d.observed.select(1, 0), total;
      for (int64_t s = 1; s <= steps; ++s) {
        u = net.step(u);
        Tensor l = ((u - d.observed.select(1, s)) / config.dt).square().mean();
        total = total.defined() ? total + l : l;
      }
      return total;
    };
    auto loss = [&] {
      Tensor l = data_loss();
      if (block == 0) return l;  // the warm-up is not regularized
      l = l + net.symnet_sparsity() * (config.sparsity * steps);
      if (train_filters) l = l + net.moment_sparsity() * (config.moment_sparsity * steps);
      return l;
    };
    StageResult r = lbfgs_stage(params, loss, config.max_iter, config.history);
    double fit;
    {
      autograd::NoGradGuard no_grad;
      fit = data_loss().item<double>();
    }
    run.log({{"epoch", i + 1},
             {"block", block},
             {"loss", r.loss_after},
             {"data_loss", fit},
             {"evaluations", r.evaluations}});
    std::cout << "pdenet2: stage " << i + 1 << "/" << config.blocks.size() << " (block " << block
              << "): loss " << r.loss_before << " -> " << r.loss_after << " (data " << fit
              << ") in " << r.evaluations << " evaluations, " << run.elapsed_seconds() << " s\n"
              << net.equations(0.01) << "\n";
  }

  // The recovered PDE, its true terms and the largest term that should not be there.
  std::vector<Polynomial> p = net.expansions();
  Json errors = Json::object(), coefficients = Json::object();
  double spurious = 0;
  std::string spurious_term = "none";
  for (size_t c = 0; c < p.size(); ++c) {
    for (const auto& [m, value] : p[c]) {
      std::string name = monomial_name(m, net.feature_names());
      auto it = truth[c].find(name);
      if (it == truth[c].end() && std::abs(value) > spurious)
        spurious = std::abs(value), spurious_term = channels[c] + "_t: " + name;
      if (it != truth[c].end()) coefficients[channels[c] + "_t: " + name] = value;
    }
    for (const auto& [name, want] : truth[c]) {
      std::string key = channels[c] + "_t: " + name;
      double got = coefficients.contains(key) ? coefficients[key].get<double>() : 0.0;
      coefficients[key] = got;
      errors[key] = std::abs(got - want) / std::abs(want);
    }
  }
  std::string recovered = net.equations(config.prune);
  run.set_metric("recovered_pde", recovered);
  run.set_metric("coefficients", coefficients);
  run.set_metric("coefficient_errors", errors);
  run.set_metric("max_spurious_coefficient", spurious);
  run.set_metric("max_spurious_term", spurious_term);
  std::cout << "recovered PDE (terms >= " << config.prune << "):\n" << recovered << "\n";

  // Prediction on fresh samples, against the clean solution.
  autograd::NoGradGuard no_grad;
  Trajectories test = generate(data, config.test_batch, config.test_steps, config.dt,
                               static_cast<uint64_t>(config.seed) * 7919 + 99);
  std::vector<double> median_error, q75, times;
  Tensor u = test.observed.select(1, 0);
  for (int64_t t = 0; t <= config.test_steps; ++t) {
    if (t > 0) u = net.step(u);
    std::vector<double> e = relative_l2_per_sample(u, test.clean.select(1, t));
    median_error.push_back(median(e));
    q75.push_back(quantile(e, 0.75));
    times.push_back(t * config.dt);
  }
  for (int64_t c = 0; c < 2; ++c) {
    Tensor truth_field = test.clean.select(1, config.test_steps).select(0, 0).select(0, c);
    Tensor pred = u.select(0, 0).select(0, c);
    plot_side_by_side(run.dir() / ("prediction_" + channels[c] + ".png"),
                      {truth_field, pred, pred - truth_field},
                      channels[c] + ": true | predicted | error at t = " +
                          format_number(config.test_steps * config.dt) + " after the start");
  }
  nn::plot_lines(
      (run.dir() / "prediction_error.png").string(),
      {{.title = "median", .x = times, .y = median_error}, {.title = "75%", .x = times, .y = q75}},
      {.title =
           "relative L2 prediction error on " + std::to_string(config.test_batch) + " test samples",
       .xlabel = "t",
       .log_y = true});
  run.set_metric("prediction_error", median_error.back());
  run.set_metric("prediction_error_q75", q75.back());
  run.set_metric("horizon", config.test_steps * config.dt);
  run.set_paper("recovered_pde",
                "u_t = -u*u_x - v*u_y + 0.05 u_xx + 0.05 u_yy (truth; the "
                "paper recovers it closely with moment filters, see README)");
}

const nn::RegisterExample<PdeNet2Config> registration{{
    .name = "pdenet2",
    .description = "PDE-Net 2.0 (2019): SymNet, upwind filters and sparsity recover 2-D "
                   "Burgers' equation and print it",
    .quick = {{"solver_modes", 64},
              {"blocks", {0, 1, 2, 4, 6}},
              {"batch_size", 12},
              {"max_iter", 250},
              {"test_batch", 8},
              {"test_steps", 30}},
    .run = run_pdenet2,
}};

}  // namespace
}  // namespace ctdl::examples::pdenet

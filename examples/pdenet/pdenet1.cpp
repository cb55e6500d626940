// pdenet: PDE-Net (ICML 2018) on its linear convection–diffusion example (or, with
// equation=nonlinear_diffusion, on u_t = 0.3Δu + 15 sin u), trained layer-wise with L-BFGS
// once per filter constraint (moment, frozen) on the same data, and compared.
#include <cmath>
#include <iostream>
#include <numbers>
#include <sstream>

#include "common.h"
#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "pdenet1_model.h"

namespace ctdl::examples::pdenet {
namespace {

using nn::Json;

struct PdeNetConfig {
  std::string equation = "convection_diffusion";                // or nonlinear_diffusion
  std::vector<std::string> constraints = {"moment", "frozen"};  // each trained, then compared
  int64_t kernel_size = 5;
  int64_t max_order = 4;
  int64_t accuracy = 1;  // moments of order < |α| + accuracy are fixed
  int64_t grid = 50;     // observations on grid×grid...
  int64_t zoom = 4;      // ...taken from a grid·zoom fine grid with a random shift
  int64_t solver_modes = 64;
  double solver_dt = 5e-3;
  int64_t max_frequency = 7;  // initial values: Fourier modes |kx|, |ky| <= this
  double amplitude = 1.0;     // max |u0|
  double noise = 0.015;       // Gaussian, relative to std(u0)
  double dt = 0.015;          // the time between observations
  int64_t substeps = 6;       // δt-blocks per observation (δt = dt / substeps; paper: 1)
  int64_t coefficient_mesh = 20;
  std::vector<int64_t> blocks = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10,
                                 11, 12, 13, 14, 15, 16, 17, 18, 19, 20};  // 0: warm-up
  int64_t batch_size = 24;  // fresh samples per stage
  int64_t max_iter = 500;   // L-BFGS iterations per stage
  int64_t history = 50;
  int64_t test_batch = 24;
  int64_t test_steps = 80;
  int64_t nonlinear_degree = 12;
  double nonlinear_range = 4.0;
  bool start_from_truth = false;  // a diagnostic: coefficients start at the true fields
  int64_t seed = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PdeNetConfig, equation, constraints, kernel_size,
                                                max_order, accuracy, grid, zoom, solver_modes,
                                                solver_dt, max_frequency, amplitude, noise, dt,
                                                substeps, coefficient_mesh, blocks, batch_size,
                                                max_iter, history, test_batch, test_steps,
                                                nonlinear_degree, nonlinear_range, start_from_truth,
                                                seed)

nn::MomentConstraint constraint_from_name(const std::string& name) {
  if (name == "moment") return nn::MomentConstraint::Moment;
  if (name == "frozen") return nn::MomentConstraint::Frozen;
  if (name == "free") return nn::MomentConstraint::Free;
  throw std::invalid_argument("pdenet: unknown constraint '" + name + "' (moment, frozen, free)");
}

// The true coefficient of a term on the grid of origin (0, 0), [n, n].
Tensor true_field(const PdeNetConfig& config, const std::string& term, int64_t n) {
  std::vector<double> xs = grid_coordinates(n, 0.0), v(n * n);
  for (int64_t i = 0; i < n; ++i)
    for (int64_t j = 0; j < n; ++j) {
      if (config.equation == "nonlinear_diffusion")
        v[i * n + j] = (term == "u_xx" || term == "u_yy") ? 0.3 : 0.0;
      else
        v[i * n + j] = convection_diffusion_coefficient(term, xs[i], xs[j]);
    }
  return tensor(v, {n, n}, {.dtype = DType::Float64});
}

struct Stage {
  int64_t block, steps;
  Tensor u0, ut;
  GridInterpolation grid;
};

struct Outcome {
  std::vector<double> error_median, error_q25, error_q75;  // per test step (index 0: t = 0)
  Json coefficient_errors = Json::object();
  double absent_rms = 0;
  double response_error = -1;  // nonlinear only
};

void run_pdenet(nn::Run& run, const PdeNetConfig& config) {
  const Equation equation = equation_from_name(config.equation);
  CTDL_CHECK(equation != Equation::Burgers, "pdenet: Burgers is PDE-Net 2.0's example (pdenet2)");
  const bool nonlinear = equation == Equation::NonlinearDiffusion;
  const int64_t n = config.grid;
  const double dx = 2.0 * std::numbers::pi / static_cast<double>(n);
  DataOptions data{
      .pde = {.equation = equation},
      .solver = {.modes = config.solver_modes, .max_dt = config.solver_dt},
      .initial = {.max_frequency = config.max_frequency, .amplitude = config.amplitude},
      .grid = n,
      .zoom = config.zoom,
      .noise = config.noise};
  std::ostringstream note;
  note << "data: " << config.equation << ", pseudo-spectral solve on " << config.solver_modes
       << "^2 modes (IF-RK4, dt <= " << config.solver_dt << "), observed on " << n << "x" << n
       << " (every " << config.zoom << "th point of " << n * config.zoom
       << "^2, random shift), noise " << config.noise << " std(u0)";
  run.note(note.str());

  // Fresh data per stage, the same for every constraint.
  std::vector<Stage> stages;
  for (size_t i = 0; i < config.blocks.size(); ++i) {
    int64_t block = config.blocks[i], steps = std::max<int64_t>(block, 1);
    Trajectories d = generate(data, config.batch_size, steps, config.dt,
                              static_cast<uint64_t>(config.seed) * 7919 + 100 + i);
    // Copies: the stages keep only the two snapshots they fit, not whole trajectories.
    stages.push_back({block, steps, d.observed.select(1, 0).contiguous(),
                      d.observed.select(1, steps).contiguous(),
                      grid_interpolation(d.offsets, n, config.coefficient_mesh, DType::Float64)});
  }
  Trajectories test = generate(data, config.test_batch, config.test_steps, config.dt,
                               static_cast<uint64_t>(config.seed) * 7919 + 99);
  GridInterpolation test_grid =
      grid_interpolation(test.offsets, n, config.coefficient_mesh, DType::Float64);
  GridInterpolation origin_grid =
      grid_interpolation({{0.0, 0.0}}, n, config.coefficient_mesh, DType::Float64);
  run.note("data generated in " + std::to_string(run.elapsed_seconds()) + " s");
  {
    // The floor the coefficient mesh sets: the true fields sampled on its nodes, interpolated.
    std::ostringstream floor;
    floor << "interpolating the true coefficients from the " << config.coefficient_mesh
          << "^2 mesh:";
    for (std::string term : {"u_x", "u_y", "u_xx", "u_yy"}) {
      Tensor nodes = true_field(config, term, config.coefficient_mesh).unsqueeze(0);
      if (nodes.abs().max().item<double>() == 0) continue;
      Tensor field = interpolate(nodes, origin_grid).select(0, 0).select(0, 0);
      floor << " " << term << " " << relative_l2(field, true_field(config, term, n));
    }
    run.note(floor.str() + " (relative L2)");
  }

  std::map<std::string, Outcome> outcomes;
  for (const std::string& name : config.constraints) {
    manual_seed(static_cast<uint64_t>(config.seed));
    PdeNet1 net({.kernel_size = config.kernel_size,
                 .max_order = config.max_order,
                 .accuracy = config.accuracy,
                 .dx = dx,
                 .dt = config.dt,
                 .substeps = config.substeps,
                 .constraint = constraint_from_name(name),
                 .coefficient_mesh = config.coefficient_mesh,
                 .nonlinear = nonlinear,
                 .nonlinear_degree = config.nonlinear_degree,
                 .nonlinear_range = config.nonlinear_range});
    net.set_term_scales(stages.at(0).u0);
    if (config.start_from_truth) {
      autograd::NoGradGuard no_grad;
      std::vector<std::string> names = net.term_names();
      for (size_t t = 0; t < names.size(); ++t)
        net.coefficients.select(0, t).copy_(true_field(config, names[t], config.coefficient_mesh) /
                                            net.term_scale.select(0, t));
    }
    for (size_t i = 0; i < stages.size(); ++i) {
      const Stage& s = stages[i];
      // The warm-up (block 0) keeps every filter at its start, as do frozen filters.
      TensorList params = net.response_parameters();
      if (s.block > 0 && name != "frozen")
        for (const Tensor& p : net.filter_parameters()) params.push_back(p);
      Tensor var = (s.u0 - s.u0.mean()).square().mean();
      auto loss = [&] {
        Tensor pred = net.predict(s.u0, net.fields(s.grid), s.steps);
        return (pred - s.ut).square().mean() / var;
      };
      StageResult r = lbfgs_stage(params, loss, config.max_iter, config.history);
      Json record = {{"epoch", i + 1},
                     {"block", s.block},
                     {name + "_loss", r.loss_after},
                     {name + "_evaluations", r.evaluations}};
      autograd::NoGradGuard no_grad;
      Tensor learned = net.fields(origin_grid).select(0, 0);
      std::vector<std::string> names = net.term_names();
      for (size_t t = 0; t < names.size(); ++t) {
        Tensor truth = true_field(config, names[t], n);
        if (truth.abs().max().item<double>() > 0)
          record[name + "_error_" + names[t]] = relative_l2(learned.select(0, t), truth);
      }
      run.log(record);
      std::cout << "pdenet: " << name << " stage " << i + 1 << "/" << stages.size() << " (block "
                << s.block << "): loss " << r.loss_before << " -> " << r.loss_after << " in "
                << r.evaluations << " evaluations, " << run.elapsed_seconds() << " s\n";
    }

    // Evaluation: prediction error against the clean trajectories, per step.
    autograd::NoGradGuard no_grad;
    Outcome out;
    Tensor c = net.fields(test_grid);
    Tensor u = test.observed.select(1, 0);
    for (int64_t t = 0; t <= config.test_steps; ++t) {
      if (t > 0) u = net.step(u, c);
      std::vector<double> e = relative_l2_per_sample(u, test.clean.select(1, t));
      out.error_median.push_back(median(e));
      out.error_q25.push_back(quantile(e, 0.25));
      out.error_q75.push_back(quantile(e, 0.75));
      if (t == config.test_steps) {
        Tensor truth = test.clean.select(1, t).select(0, 0).select(0, 0);
        Tensor pred = u.select(0, 0).select(0, 0);
        plot_side_by_side(
            run.dir() / ("prediction_" + name + ".png"), {truth, pred, pred - truth},
            name + ": true | predicted | error at t = " + format_number(t * config.dt));
      }
    }
    Tensor learned = net.fields(origin_grid).select(0, 0);
    std::vector<std::string> names = net.term_names();
    double absent = 0;
    int64_t absent_count = 0;
    for (size_t t = 0; t < names.size(); ++t) {
      Tensor truth = true_field(config, names[t], n), field = learned.select(0, t);
      if (truth.abs().max().item<double>() > 0) {
        out.coefficient_errors[names[t]] = relative_l2(field, truth);
        plot_side_by_side(run.dir() / ("coefficient_" + name + "_" + names[t] + ".png"),
                          {field, truth}, name + ": learned | true coefficient of " + names[t]);
      } else {
        absent += field.square().mean().item<double>();
        ++absent_count;
      }
    }
    out.absent_rms = std::sqrt(absent / std::max<int64_t>(absent_count, 1));
    if (nonlinear) {
      Tensor us = linspace(-M_PI, M_PI, 201, {.dtype = DType::Float64});
      Tensor truth = sin(us) * 15.0;
      out.response_error = relative_l2(net.response(us), truth);
      std::vector<double> x = us.to_vector<double>();
      nn::plot_lines((run.dir() / ("response_" + name + ".png")).string(),
                     {{.title = "learned f(u)", .x = x, .y = net.response(us).to_vector<double>()},
                      {.title = "15 sin u", .x = x, .y = truth.to_vector<double>()}},
                     {.title = name + ": the response f", .xlabel = "u"});
    }
    outcomes[name] = out;
  }

  // Summary: the first constraint is the headline (moment), the others get a suffix.
  std::vector<nn::Series> curves;
  std::vector<double> times;
  for (int64_t t = 0; t <= config.test_steps; ++t) times.push_back(t * config.dt);
  for (size_t k = 0; k < config.constraints.size(); ++k) {
    const std::string& name = config.constraints[k];
    const Outcome& o = outcomes[name];
    std::string suffix = k == 0 ? "" : "_" + name;
    run.set_metric("prediction_error" + suffix, o.error_median.back());
    run.set_metric("prediction_error_q75" + suffix, o.error_q75.back());
    run.set_metric("coefficient_errors" + suffix, o.coefficient_errors);
    run.set_metric("absent_terms_rms" + suffix, o.absent_rms);
    if (nonlinear) run.set_metric("response_error" + suffix, o.response_error);
    curves.push_back({.title = name + " (median)", .x = times, .y = o.error_median});
    curves.push_back({.title = name + " (75%)", .x = times, .y = o.error_q75});
  }
  if (outcomes.count("moment") && outcomes.count("frozen"))
    run.set_metric("moment_beats_frozen",
                   outcomes["moment"].error_median.back() < outcomes["frozen"].error_median.back());
  run.set_metric("horizon", config.test_steps * config.dt);
  nn::plot_lines((run.dir() / "prediction_error.png").string(), curves,
                 {.title = "relative L2 prediction error on " + std::to_string(config.test_batch) +
                           " test samples",
                  .xlabel = "t",
                  .log_y = true});
  run.note(
      "paper (ICML 2018, Fig. 3-5): moment filters predict longer than frozen ones and "
      "recover the coefficient fields; see examples/pdenet/README.md");
}

const nn::RegisterExample<PdeNetConfig> registration{{
    .name = "pdenet",
    .description = "PDE-Net (2018): moment-constrained filters and coefficient fields of a "
                   "convection-diffusion equation, moment vs frozen filters",
    .quick = {{"max_order", 2},
              {"blocks", {0, 1, 2, 4}},
              {"batch_size", 12},
              {"max_iter", 250},
              {"test_batch", 12},
              {"test_steps", 40}},
    .run = run_pdenet,
}};

}  // namespace
}  // namespace ctdl::examples::pdenet

// Running a lab problem: the reference gradient, then each run timed and measured.
#include "ctdl/ode/lab/lab.h"

#include <chrono>
#include <cmath>
#include <fstream>
#include <iomanip>
#include <nlohmann/json.hpp>
#include <sstream>

#include "ctdl/autograd/engine.h"
#include "ctdl/ode/lab/exact.h"
#include "ctdl/ode/lab/report.h"
#include "ctdl/ode/lab/spec.h"

namespace ctdl::ode::lab {
namespace {

Outcome execute(const ProblemSpec& spec, const RunSpec& run, DType dtype) {
  Solver solver = make_solver(run.solver, run.solver_options);
  Grad grad = make_scheme(run.grad, run.grad_options);
  System system = make_system(spec, dtype);
  Tensor z0 = spec.z0.to(dtype).detach().requires_grad_();
  TensorList inputs = {z0};
  inputs.insert(inputs.end(), system.params.begin(), system.params.end());
  auto stats = std::make_shared<Stats>();

  const int64_t base = memory_stats().live_bytes;
  reset_peak_memory();
  auto start = std::chrono::steady_clock::now();
  Tensor trajectory =
      odeint(system.f, z0, spec.t,
             {.solver = solver, .grad = grad, .params = system.params, .stats = stats});
  Tensor loss = lab_loss(spec, trajectory);
  TensorList grads = autograd::grad({loss}, inputs, {}, {.allow_unused = true});
  double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  const int64_t peak = memory_stats().peak_bytes - base;

  Outcome o;
  o.loss = loss.item<double>();
  for (size_t i = 0; i < grads.size(); ++i)
    o.grads.push_back(grads[i].defined() ? grads[i] : zeros_like(inputs[i]));
  o.names = {"z0"};
  o.names.insert(o.names.end(), system.names.begin(), system.names.end());
  o.fields = {{"nfe_forward", stats->nfe_forward},
              {"nfe_backward", stats->nfe_backward()},
              {"steps", stats->steps_forward},
              {"steps_backward", stats->steps_backward()},
              {"peak_bytes", peak},
              {"wall_ms", wall_ms}};
  return o;
}

Outcome reference(const ProblemSpec& spec, json& description) {
  if (spec.reference) {
    description = {{"name", spec.reference->name},
                   {"solver", spec.reference->solver},
                   {"grad", spec.reference->grad},
                   {"dtype", "float64"}};
    return execute(spec, *spec.reference, DType::Float64);
  }
  if (spec.system == "linear") {
    description = {{"name", "exact (matrix exponential)"}, {"dtype", "float64"}};
    auto loss = [&](const TensorList& states) { return lab_loss(spec, stack(states)); };
    LinearReference r = linear_exact(spec.A, spec.z0, spec.t, loss);
    return {r.loss, {r.grad_z0, r.grad_A}, {"z0", "A"}, json::object()};
  }
  description = {{"name", "dopri5 backprop, rtol = atol = 1e-12"},
                 {"solver", "dopri5"},
                 {"grad", "backprop"},
                 {"dtype", "float64"}};
  RunSpec r{.path = "reference",
            .name = "reference",
            .solver = "dopri5",
            .grad = "backprop",
            .solver_options = NamedOptions("reference"),
            .grad_options = NamedOptions("reference.grad_options")};
  r.solver_options.set("rtol", 1e-12);
  r.solver_options.set("atol", 1e-12);
  r.solver_options.set("max_steps", 1e7);
  return execute(spec, r, DType::Float64);
}

}  // namespace

std::string run(const std::string& problem_json) {
  if (is_sde_problem(problem_json)) return run_sde(problem_json);
  ProblemSpec spec = parse_problem(problem_json);
  // Configuration errors in any run are the file's: report them before running anything.
  for (const RunSpec& r : spec.runs) {
    make_solver(r.solver, r.solver_options);
    make_scheme(r.grad, r.grad_options);
  }
  json out;
  json ref_description;
  Outcome ref = reference(spec, ref_description);
  out["reference"] = ref_description;
  out["reference"]["loss"] = ref.loss;
  out["reference"]["grads"] = grads_json(ref);
  out["runs"] = json::array();
  for (const RunSpec& r : spec.runs) {
    json entry = {{"name", r.name}, {"solver", r.solver}, {"grad", r.grad}};
    out["runs"].push_back(
        report_run(entry, [&spec, &r] { return execute(spec, r, spec.dtype); }, ref));
  }
  return out.dump(2);
}

std::string run_file(const std::string& path) {
  std::ifstream in(path);
  CTDL_CHECK(in.good(), "lab: cannot read the problem file '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  return run(text.str());
}

std::string markdown_table(const std::string& result_json) {
  json r = json::parse(result_json);
  std::ostringstream out;
  out << "| run | solver | gradient | grad rel. error | NFE fwd | NFE bwd | steps | peak memory | "
         "time |\n"
      << "|---|---|---|---|---|---|---|---|---|\n";
  for (const json& run : r["runs"]) {
    out << "| " << run["name"].get<std::string>() << " | " << run["solver"].get<std::string>()
        << " | " << run["grad"].get<std::string>() << " | ";
    if (run.contains("error")) {
      out << "error: " << run["error"].get<std::string>() << " | | | | | |\n";
      continue;
    }
    std::ostringstream err;
    err << std::scientific << std::setprecision(1) << run["grad_rel_error"].get<double>();
    out << err.str() << " | " << run["nfe_forward"] << " | " << run["nfe_backward"] << " | "
        << run["steps"] << " | " << std::fixed << std::setprecision(1)
        << run["peak_bytes"].get<double>() / 1024.0 << " KiB | " << std::setprecision(1)
        << run["wall_ms"].get<double>() << " ms |\n";
  }
  return out.str();
}

}  // namespace ctdl::ode::lab

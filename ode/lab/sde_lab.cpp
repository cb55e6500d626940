// The lab's SDE problems ("kind": "sde"): every run solves the same Brownian path (a
// VirtualBrownianTree from the problem's seed, rebuilt in each run's dtype: the tree gives the
// same path whatever asks), and is compared with the exact pathwise gradient where the system
// has a closed form, else with a fine-step run.
#include <chrono>
#include <cmath>
#include <nlohmann/json.hpp>

#include "ctdl/autograd/engine.h"
#include "ctdl/ode/lab/lab.h"
#include "ctdl/ode/lab/report.h"
#include "ctdl/ode/lab/sde_systems.h"
#include "ctdl/ode/sde/brownian/virtual_tree.h"
#include "ctdl/ode/sde/registry.h"
#include "ctdl/ode/sde/sdeint.h"

namespace ctdl::ode::lab {
namespace {

// Nested lists of numbers at `path` as a float64 tensor.
Tensor array(const json& j, const std::string& path) {
  Dims shape;
  for (const json* p = &j; p->is_array(); p = &p->at(0)) {
    shape.push_back(static_cast<int64_t>(p->size()));
    if (p->empty()) break;
  }
  std::vector<double> values;
  std::function<void(const json&, size_t, const std::string&)> collect =
      [&](const json& n, size_t depth, const std::string& at) {
        if (depth == static_cast<size_t>(shape.size())) {
          CTDL_CHECK(n.is_number(), at, ": expected a number, got ", n.type_name());
          values.push_back(n.get<double>());
          return;
        }
        CTDL_CHECK(n.is_array() && static_cast<int64_t>(n.size()) == shape[depth], at,
                   ": expected a list of ", shape[depth],
                   " entries (the array is not rectangular)");
        for (size_t i = 0; i < n.size(); ++i)
          collect(n[i], depth + 1, at + "[" + std::to_string(i) + "]");
      };
  collect(j, 0, path);
  return tensor(values, shape, {.dtype = DType::Float64});
}

void check_keys(const json& j, const std::string& path, std::initializer_list<const char*> known) {
  CTDL_CHECK(j.is_object(), path.empty() ? "problem" : path, ": expected an object, got ",
             j.type_name());
  for (const auto& [key, value] : j.items()) {
    bool ok = false;
    std::string list;
    for (const char* k : known)
      ok = ok || key == k, list += (list.empty() ? "" : ", ") + std::string(k);
    CTDL_CHECK(ok, path.empty() ? key : path + "." + key, ": unknown key (known here: ", list, ")");
  }
}

const json& at(const json& j, const std::string& key, const std::string& path) {
  CTDL_CHECK(j.contains(key), path.empty() ? key : path + "." + key, ": missing");
  return j.at(key);
}

double number(const json& j, const std::string& path) {
  CTDL_CHECK(j.is_number(), path, ": expected a number, got ", j.type_name());
  return j.get<double>();
}

std::string text(const json& j, const std::string& path) {
  CTDL_CHECK(j.is_string(), path, ": expected a string, got ", j.type_name());
  return j.get<std::string>();
}

struct SdeRun {
  std::string path, name, solver, grad;
  double dt = 0;
  NamedOptions grad_options;
};

struct SdeProblem {
  DType dtype = DType::Float64;
  json system;
  std::string type;  // gbm, ou, sine_cosine, linear_inhomogeneous, mlp
  sde::Noise noise = sde::Noise::Diagonal;
  sde::SdeType sde_type = sde::SdeType::Ito;
  uint64_t seed = 0;
  Tensor z0;  // [batch, d]
  std::vector<double> t;
  std::string loss = "sum_squares";
  Tensor targets;
  std::vector<SdeRun> runs;
  std::optional<SdeRun> reference;
};

// A constant per dimension: a number (every dimension) or a list of d numbers.
Tensor per_dimension(const json& system, const char* key, double fallback, int64_t d, DType dtype) {
  const std::string path = std::string("system.") + key;
  if (!system.contains(key)) return full({d}, fallback, {.dtype = dtype});
  const json& v = system.at(key);
  if (v.is_number()) return full({d}, v.get<double>(), {.dtype = dtype});
  Tensor t = array(v, path);
  CTDL_CHECK(t.dim() == 1 && t.size(0) == d, path, ": expected a number or a list of ", d,
             " numbers (one per dimension), got shape ", t.shape());
  return t.to(dtype);
}

MlpSpec mlp_spec(const json& j, const std::string& path, bool diffusion) {
  if (diffusion)
    check_keys(j, path, {"dims", "activation", "weights", "output"});
  else
    check_keys(j, path, {"dims", "activation", "weights"});
  MlpSpec s;
  for (double d : array(at(j, "dims", path), path + ".dims").to_vector<double>())
    s.dims.push_back(static_cast<int64_t>(d));
  if (j.contains("activation")) s.activation = text(j.at("activation"), path + ".activation");
  const json& w = at(j, "weights", path);
  CTDL_CHECK(w.is_object(), path, ".weights: expected an object of named arrays");
  for (const auto& [key, value] : w.items())
    s.weights[key] = array(value, path + ".weights." + key);
  return s;
}

SdeSystem make_system(const SdeProblem& p, DType dtype) {
  const json& s = p.system;
  const int64_t d = p.z0.size(1);
  if (p.type == "gbm")
    return gbm(per_dimension(s, "mu", 0.5, d, dtype), per_dimension(s, "sigma", 0.5, d, dtype),
               p.sde_type);
  if (p.type == "ou")
    return ou(per_dimension(s, "theta", 1.0, d, dtype), per_dimension(s, "mu", 0.0, d, dtype),
              per_dimension(s, "sigma", 0.5, d, dtype));
  if (p.type == "sine_cosine") return sine_cosine(per_dimension(s, "p", 1.0, d, dtype));
  if (p.type == "linear_inhomogeneous")
    return linear_inhomogeneous(per_dimension(s, "alpha", 0.5, d, dtype),
                                per_dimension(s, "beta", 1.0, d, dtype));
  std::string output = s.contains("diffusion") && s["diffusion"].contains("output")
                           ? text(s["diffusion"]["output"], "system.diffusion.output")
                           : "none";
  return mlp_sde(mlp_spec(at(s, "drift", "system"), "system.drift", false),
                 mlp_spec(at(s, "diffusion", "system"), "system.diffusion", true), output, p.noise,
                 p.sde_type, dtype);
}

SdeRun parse_run(const json& j, const std::string& path, const std::string& name, double dt) {
  check_keys(j, path, {"name", "solver", "dt", "grad", "grad_options"});
  SdeRun r{.path = path,
           .name = name,
           .solver = "",
           .grad = "backprop",
           .dt = dt,
           .grad_options = NamedOptions(path + ".grad_options")};
  if (j.contains("name")) r.name = text(j["name"], path + ".name");
  r.solver = text(at(j, "solver", path), path + ".solver");
  if (j.contains("grad")) r.grad = text(j["grad"], path + ".grad");
  if (j.contains("dt")) r.dt = number(j["dt"], path + ".dt");
  CTDL_CHECK(r.dt > 0, path, ".dt: give a positive step (here or the problem's \"dt\")");
  if (j.contains("grad_options")) {
    const json& o = j["grad_options"];
    CTDL_CHECK(o.is_object(), path, ".grad_options: expected an object");
    for (const auto& [key, value] : o.items()) {
      if (value.is_boolean())
        r.grad_options.set(key, value.get<bool>());
      else if (value.is_number())
        r.grad_options.set(key, value.get<double>());
      else
        r.grad_options.set(key, text(value, path + ".grad_options." + key));
    }
  }
  try {
    sde::make_solver(r.solver);
  } catch (const Error& e) {
    fail(path, ".solver: ", e.what());
  }
  return r;
}

SdeProblem parse(const json& doc) {
  check_keys(doc, "",
             {"kind", "dtype", "system", "noise", "sde_type", "seed", "dt", "z0", "t", "loss",
              "runs", "reference", "comment"});
  SdeProblem p;
  std::string dtype = doc.contains("dtype") ? text(doc["dtype"], "dtype") : "float64";
  CTDL_CHECK(dtype == "float32" || dtype == "float64",
             "dtype: expected \"float32\" or \"float64\"");
  p.dtype = dtype == "float32" ? DType::Float32 : DType::Float64;
  p.system = at(doc, "system", "");
  p.type = text(at(p.system, "type", "system"), "system.type");
  if (p.type == "gbm")
    check_keys(p.system, "system", {"type", "mu", "sigma"});
  else if (p.type == "ou")
    check_keys(p.system, "system", {"type", "theta", "mu", "sigma"});
  else if (p.type == "sine_cosine")
    check_keys(p.system, "system", {"type", "p"});
  else if (p.type == "linear_inhomogeneous")
    check_keys(p.system, "system", {"type", "alpha", "beta"});
  else if (p.type == "mlp")
    check_keys(p.system, "system", {"type", "drift", "diffusion"});
  else
    fail("system.type: unknown SDE system \"", p.type,
         "\" (known: gbm, ou, sine_cosine, linear_inhomogeneous, mlp)");
  const bool additive = p.type == "ou" || p.type == "linear_inhomogeneous";
  p.noise = additive ? sde::Noise::Additive : sde::Noise::Diagonal;
  if (doc.contains("noise")) {
    sde::Noise given = sde::parse_noise(text(doc["noise"], "noise"));
    CTDL_CHECK(p.type == "mlp" || given == p.noise, "noise: the ", p.type, " system has ",
               sde::name(p.noise), " noise, not ", sde::name(given));
    p.noise = given;
  }
  if (doc.contains("sde_type")) p.sde_type = sde::parse_sde_type(text(doc["sde_type"], "sde_type"));
  CTDL_CHECK(p.type != "sine_cosine" || p.sde_type == sde::SdeType::Ito,
             "sde_type: the sine_cosine problem is an Itô SDE (its closed form is Itô's)");
  if (doc.contains("seed")) p.seed = static_cast<uint64_t>(number(doc["seed"], "seed"));
  double dt = doc.contains("dt") ? number(doc["dt"], "dt") : 0;
  p.z0 = array(at(doc, "z0", ""), "z0");
  CTDL_CHECK(p.z0.dim() == 2 && p.z0.size(0) > 0,
             "z0: expected a batch of states [[...], ...], got shape ", p.z0.shape());
  p.t = array(at(doc, "t", ""), "t").to_vector<double>();
  CTDL_CHECK(p.t.size() >= 2, "t: expected [t0, t1] or a longer list of times");
  for (size_t i = 1; i < p.t.size(); ++i)
    CTDL_CHECK(p.t[i] > p.t[i - 1], "t[", i, "]: times must increase");
  CTDL_CHECK(p.type != "linear_inhomogeneous" || p.t[0] == 0,
             "t[0]: the linear_inhomogeneous problem starts at t = 0 (its closed form does)");
  const json& loss = at(doc, "loss", "");
  check_keys(loss, "loss", {"type", "targets"});
  p.loss = text(at(loss, "type", "loss"), "loss.type");
  if (p.loss == "mse") {
    p.targets = array(at(loss, "targets", "loss"), "loss.targets");
    Dims expected{static_cast<int64_t>(p.t.size() - 1), p.z0.size(0), p.z0.size(1)};
    CTDL_CHECK(p.targets.shape() == expected, "loss.targets: expected shape ", expected, ", got ",
               p.targets.shape());
  } else {
    CTDL_CHECK(p.loss == "sum_squares", "loss.type: expected \"sum_squares\" or \"mse\", got \"",
               p.loss, "\"");
  }
  const json& runs = at(doc, "runs", "");
  CTDL_CHECK(runs.is_array(), "runs: expected a list");
  for (size_t i = 0; i < runs.size(); ++i)
    p.runs.push_back(
        parse_run(runs[i], "runs[" + std::to_string(i) + "]", "run " + std::to_string(i), dt));
  if (doc.contains("reference"))
    p.reference = parse_run(doc["reference"], "reference", "reference", dt);
  make_system(p, p.dtype);  // weight and shape errors now
  return p;
}

std::shared_ptr<sde::BrownianMotion> brownian(const SdeProblem& p, const SdeSystem& s,
                                              DType dtype) {
  return std::make_shared<sde::VirtualBrownianTree>(sde::BrownianOptions{
      .t0 = p.t.front(),
      .t1 = p.t.back(),
      .shape = {p.z0.size(0), sde::brownian_size(s.sde, p.t.front(), p.z0.to(dtype))},
      .dtype = dtype,
      .seed = p.seed,
      .levy_area = true,
      .tol = (p.t.back() - p.t.front()) * 1e-9});
}

Tensor loss_of(const SdeProblem& p, const Tensor& trajectory) {
  const int64_t T = trajectory.size(0);
  if (p.loss == "mse")
    return square(trajectory.narrow(0, 1, T - 1) - p.targets.to(trajectory.dtype())).mean();
  return square(trajectory.select(0, T - 1)).sum();
}

Outcome finish(const Tensor& loss, const TensorList& inputs, const SdeSystem& s) {
  Outcome o;
  o.loss = loss.item<double>();
  TensorList g = autograd::grad({loss}, inputs, {}, {.allow_unused = true});
  for (size_t i = 0; i < g.size(); ++i)
    o.grads.push_back(g[i].defined() ? g[i] : zeros_like(inputs[i]));
  o.names = {"z0"};
  o.names.insert(o.names.end(), s.names.begin(), s.names.end());
  return o;
}

Outcome execute(const SdeProblem& p, const SdeRun& r, DType dtype) {
  sde::Solver solver = sde::make_solver(r.solver);
  Grad grad = sde::make_scheme(r.grad, r.grad_options);
  SdeSystem s = make_system(p, dtype);
  Tensor z0 = p.z0.to(dtype).detach().requires_grad_();
  TensorList inputs = {z0};
  inputs.insert(inputs.end(), s.params.begin(), s.params.end());
  auto bm = brownian(p, s, dtype);
  auto stats = std::make_shared<Stats>();
  const int64_t base = memory_stats().live_bytes;
  reset_peak_memory();
  auto start = std::chrono::steady_clock::now();
  Tensor trajectory = sdeint(s.sde, z0, p.t,
                             {.solver = solver,
                              .dt = r.dt,
                              .grad = grad,
                              .params = s.params,
                              .brownian = bm,
                              .stats = stats});
  Outcome o = finish(loss_of(p, trajectory), inputs, s);
  double wall_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  o.fields = {
      {"nfe_forward", stats->nfe_forward},
      {"nfe_backward", stats->nfe_backward()},
      {"steps", stats->steps_forward},
      {"steps_backward", stats->steps_backward()},
      {"peak_bytes", memory_stats().peak_bytes - base},
      {"wall_ms", wall_ms},
      {"brownian_final", to_json(bm->increment(p.t.front(), p.t.back()).to(DType::Float64))}};
  return o;
}

Outcome reference(const SdeProblem& p, json& description) {
  if (p.reference) {
    description = {{"name", p.reference->name},
                   {"solver", p.reference->solver},
                   {"grad", p.reference->grad},
                   {"dt", p.reference->dt},
                   {"dtype", "float64"}};
    return execute(p, *p.reference, DType::Float64);
  }
  SdeSystem s = make_system(p, DType::Float64);
  if (s.exact) {
    description = {{"name", "exact pathwise gradient (closed form on the same Brownian path)"},
                   {"dtype", "float64"}};
    Tensor z0 = p.z0.detach().requires_grad_();
    TensorList inputs = {z0};
    inputs.insert(inputs.end(), s.params.begin(), s.params.end());
    auto bm = brownian(p, s, DType::Float64);
    TensorList states = {z0};
    for (size_t k = 1; k < p.t.size(); ++k)
      states.push_back(s.exact(z0, p.t[k] - p.t[0], bm->increment(p.t[0], p.t[k])));
    return finish(loss_of(p, stack(states)), inputs, s);
  }
  double dt = p.runs.empty() ? (p.t.back() - p.t.front()) / 100 : p.runs[0].dt;
  for (const SdeRun& r : p.runs) dt = std::min(dt, r.dt);
  SdeRun r{.path = "reference",
           .name = "reference",
           .solver = "",
           .grad = "backprop",
           .dt = dt / 64,
           .grad_options = NamedOptions("reference.grad_options")};
  r.solver = p.noise == sde::Noise::Additive            ? "sra1"
             : p.sde_type == sde::SdeType::Stratonovich ? "midpoint"
                                                        : "euler_maruyama";
  description = {{"name", r.solver + " backprop at dt/64 (the smallest run's dt)"},
                 {"solver", r.solver},
                 {"grad", "backprop"},
                 {"dt", r.dt},
                 {"dtype", "float64"}};
  return execute(p, r, DType::Float64);
}

}  // namespace

bool is_sde_problem(const std::string& problem_json) {
  json doc = json::parse(problem_json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object() || !doc.contains("kind")) return false;
  CTDL_CHECK(doc["kind"].is_string() && (doc["kind"] == "sde" || doc["kind"] == "ode"),
             "kind: expected \"ode\" or \"sde\"");
  return doc["kind"] == "sde";
}

std::string run_sde(const std::string& problem_json) {
  json doc;
  try {
    doc = json::parse(problem_json);
  } catch (const json::parse_error& e) {
    fail("lab: the problem is not valid JSON: ", e.what());
  }
  SdeProblem p = parse(doc);
  for (const SdeRun& r : p.runs) sde::make_scheme(r.grad, r.grad_options);
  json out;
  json description;
  Outcome ref = reference(p, description);
  out["reference"] = description;
  out["reference"]["loss"] = ref.loss;
  out["reference"]["grads"] = grads_json(ref);
  out["runs"] = json::array();
  for (const SdeRun& r : p.runs) {
    json entry = {{"name", r.name}, {"solver", r.solver}, {"grad", r.grad}, {"dt", r.dt}};
    out["runs"].push_back(report_run(entry, [&p, &r] { return execute(p, r, p.dtype); }, ref));
  }
  return out.dump(2);
}

}  // namespace ctdl::ode::lab

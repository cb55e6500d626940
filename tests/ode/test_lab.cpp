// The adjoint lab: its output format, its reference gradients, PyTorch's Linear convention
// for MLP weights, and errors that name the key path at fault.
#include <nlohmann/json.hpp>

#include "ctdl/ode/lab/lab.h"
#include "ctdl/ode/registry.h"
#include "ode_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;
using json = nlohmann::json;

namespace {

json linear_problem() {
  return json::parse(R"({
    "dtype": "float64",
    "system": {"type": "linear", "A": [[-0.1, 1.0], [-1.0, -0.1]]},
    "z0": [[1.0, 0.0], [0.5, -0.5]],
    "t": [0.0, 0.5, 1.0],
    "loss": {"type": "mse", "targets": [[[0.8, -0.4], [0.2, -0.6]], [[0.5, -0.8], [-0.1, -0.6]]]},
    "runs": [
      {"name": "rk4", "solver": "rk4", "step_size": 0.01, "grad": "backprop"},
      {"name": "dopri5 backsolve", "solver": "dopri5", "rtol": 1e-10, "atol": 1e-10, "grad": "backsolve_adjoint",
       "grad_options": {"seminorm": true}},
      {"name": "binomial", "solver": "rk4", "step_size": 0.01, "grad": "checkpoint_adjoint",
       "grad_options": {"checkpoints": 4, "placement": "binomial"}},
      {"name": "too few steps", "solver": "dopri5", "rtol": 1e-10, "solver_options": {"max_steps": 3}}
    ]})");
}

std::string run(const json& problem) { return ode::lab::run(problem.dump()); }

}  // namespace

TEST_CASE("the lab reports each run against the exact gradient of a linear system", "[ode][lab]") {
  json out = json::parse(run(linear_problem()));
  CHECK(out["reference"]["name"] == "exact (matrix exponential)");
  CHECK(out["reference"]["grads"]["A"].size() == 2);
  REQUIRE(out["runs"].size() == 4);
  const json& rk4 = out["runs"][0];
  for (const char* key : {"name", "loss", "grads", "grad_rel_error", "nfe_forward", "nfe_backward",
                          "steps", "peak_bytes", "wall_ms"})
    CHECK(rk4.contains(key));
  CHECK(rk4["steps"] == 100);
  CHECK(rk4["nfe_forward"] == 400);
  CHECK(rk4["nfe_backward"] == 0);
  CHECK(rk4["grad_rel_error"].get<double>() < 1e-7);
  CHECK(std::abs(rk4["loss"].get<double>() - out["reference"]["loss"].get<double>()) < 1e-8);
  CHECK(rk4["grads"]["z0"].size() == 2);
  CHECK(rk4["peak_bytes"].get<int64_t>() > 0);
  CHECK(out["runs"][1]["grad_rel_error"].get<double>() < 1e-7);
  CHECK(out["runs"][1]["nfe_backward"].get<int64_t>() > 0);
  // Binomial checkpointing is the exact gradient of rk4's discretization: the same as backprop.
  CHECK(std::abs(out["runs"][2]["grad_rel_error"].get<double>() -
                 rk4["grad_rel_error"].get<double>()) < 1e-12);
  CHECK(out["runs"][2]["peak_bytes"].get<int64_t>() < rk4["peak_bytes"].get<int64_t>());
  // A run that fails reports its error; the others went on.
  CHECK(out["runs"][3]["error"].get<std::string>().find("max_steps=3") != std::string::npos);

  std::string table = ode::lab::markdown_table(out.dump());
  CHECK(table.find("| rk4 | rk4 | backprop |") != std::string::npos);
}

TEST_CASE("the lab reads MLP weights with PyTorch's Linear convention", "[ode][lab]") {
  // One Euler step of size 1: z1 = z0 + fc2(act(fc1(z0))), fc(x) = x·Wᵀ + b, W of shape [out, in].
  for (const char* activation : {"tanh", "relu", "softplus"}) {
    INFO(activation);
    json problem = json::parse(R"({
    "system": {"type": "mlp", "dims": [2, 3, 2],
               "weights": {"fc1.weight": [[0.1, 0.2], [0.3, -0.4], [0.5, 0.6]], "fc1.bias": [0.1, 0.0, -0.1],
                           "fc2.weight": [[0.7, -0.8, 0.9], [0.1, 0.2, 0.3]], "fc2.bias": [0.05, -0.05]}},
    "z0": [[1.0, 2.0]], "t": [0.0, 1.0], "loss": {"type": "sum_squares"},
    "runs": [{"name": "one euler step", "solver": "euler", "step_size": 1.0}]})");
    problem["system"]["activation"] = activation;
    json out = json::parse(run(problem));
    const TensorOptions leaf{.dtype = DType::Float64, .requires_grad = true};
    Tensor w1 = tensor({{0.1, 0.2}, {0.3, -0.4}, {0.5, 0.6}}, leaf);
    Tensor b1 = tensor({0.1, 0.0, -0.1}, leaf);
    Tensor w2 = tensor({{0.7, -0.8, 0.9}, {0.1, 0.2, 0.3}}, leaf);
    Tensor b2 = tensor({0.05, -0.05}, leaf);
    Tensor z0 = tensor({{1.0, 2.0}}, leaf);
    Tensor h = matmul(z0, w1.t()) + b1;  // [0.6, -0.5, 1.6]: relu cuts the middle unit
    Tensor a = std::string(activation) == "tanh"   ? tanh(h)
               : std::string(activation) == "relu" ? h * gt(h, zeros_like(h)).to(DType::Float64)
                                                   : log(exp(h) + 1.0);
    Tensor z1 = z0 + matmul(a, w2.t()) + b2;
    Tensor loss = square(z1).sum();
    TensorList g = autograd::grad({loss}, {z0, w1, b1, w2, b2});
    const json& run0 = out["runs"][0];
    CHECK(std::abs(run0["loss"].get<double>() - loss.item()) < 1e-14);
    auto as_tensor = [](const json& j, const Dims& shape) {
      std::vector<double> v;
      if (j.is_array() && !j.empty() && j[0].is_array())
        for (const json& row : j)
          for (const json& x : row) v.push_back(x.get<double>());
      else
        for (const json& x : j) v.push_back(x.get<double>());
      return tensor(v, shape, kF64);
    };
    CHECK(max_abs_diff(as_tensor(run0["grads"]["z0"], {1, 2}), g[0]) < 1e-14);
    CHECK(max_abs_diff(as_tensor(run0["grads"]["fc1.weight"], {3, 2}), g[1]) < 1e-14);
    CHECK(max_abs_diff(as_tensor(run0["grads"]["fc1.bias"], {3}), g[2]) < 1e-14);
    CHECK(max_abs_diff(as_tensor(run0["grads"]["fc2.weight"], {2, 3}), g[3]) < 1e-14);
    CHECK(max_abs_diff(as_tensor(run0["grads"]["fc2.bias"], {2}), g[4]) < 1e-14);
    // Without a linear system the reference is float64 dopri5 at rtol = atol = 1e-12.
    CHECK(out["reference"]["solver"] == "dopri5");
  }
}

TEST_CASE("errors in a problem file name the key path", "[ode][lab][errors]") {
  auto with = [](const std::function<void(json&)>& edit) {
    json p = linear_problem();
    edit(p);
    return p;
  };
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p.erase("z0"); })), "z0: missing");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["z0"] = json::parse("[[1, 2], [3]]"); })), "z0[1]",
                        "not rectangular");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["z0"] = json::parse("[[1, 2, 3]]"); })), "z0",
                        "3 entries", "needs 2");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["runs"][1]["solver"] = "rk5"; })),
                        "runs[1].solver", "unknown solver \"rk5\"", "dopri5");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["runs"][0]["grad"] = "adjoint"; })),
                        "runs[0].grad", "unknown gradient scheme");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["runs"][2]["grad_options"]["checkpoint"] = 4; })),
                        "runs[2].grad_options.checkpoint",
                        "not an option of gradient scheme checkpoint_adjoint");
  CHECK_THROWS_WITH_ALL(
      run(with([](json& p) { p["runs"][2]["grad_options"]["placement"] = "random"; })),
      "runs[2].grad_options.placement", "\"uniform\" or \"binomial\"");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["runs"][0].erase("step_size"); })), "runs[0]",
                        "rk4", "step_size");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["runs"][0]["stepsize"] = 0.1; })),
                        "runs[0].stepsize", "unknown key");
  CHECK_THROWS_WITH_ALL(
      run(with([](json& p) { p["loss"]["targets"] = json::parse("[[[1, 2]]]"); })), "loss.targets",
      "shape [2, 2, 2]");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["system"]["type"] = "pendulum"; })), "system.type",
                        "unknown system \"pendulum\"");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["t"] = json::parse("[0, 1, 0.5]"); })), "t[2]",
                        "increase");
  CHECK_THROWS_WITH_ALL(run(with([](json& p) { p["dtype"] = "float16"; })), "dtype", "float16");
  json mlp = json::parse(
      R"({"type": "mlp", "dims": [2, 4, 2], "weights": {"fc1.weight": [[1, 2, 3, 4], [5, 6, 7, 8]],
                            "fc2.weight": [[1, 2, 3, 4], [5, 6, 7, 8]]}})");
  CHECK_THROWS_WITH_ALL(run(with([&](json& p) { p["system"] = mlp; })), "system.weights.fc1.weight",
                        "expected shape [4, 2]", "got [2, 4]");
  CHECK_THROWS_WITH_ALL(ode::lab::run("{\"dtype\": "), "not valid JSON");
  CHECK_THROWS_WITH_ALL(ode::lab::run_file("/nonexistent/problem.json"), "cannot read",
                        "/nonexistent/problem.json");
}

TEST_CASE("schemes registered by name are usable in the lab", "[ode][lab]") {
  ode::register_scheme("test_checkpoint_every_other", [](const ode::NamedOptions& o) {
    return ode::Grad(
        ode::CheckpointAdjoint{.checkpoints = static_cast<int64_t>(o.number("count", 2))});
  });
  json p = linear_problem();
  p["runs"] =
      json::parse(R"([{"solver": "rk4", "step_size": 0.01, "grad": "test_checkpoint_every_other",
                               "grad_options": {"count": 5}}])");
  json out = json::parse(run(p));
  CHECK(out["runs"][0]["name"] == "run 0");
  CHECK(out["runs"][0]["grad_rel_error"].get<double>() < 1e-7);
}

TEST_CASE("the lab runs in float32 against a float64 reference, or against a given reference run",
          "[ode][lab]") {
  json p = linear_problem();
  p["runs"] = json::parse(R"([{"name": "rk4", "solver": "rk4", "step_size": 0.01}])");
  json f64 = json::parse(run(p));
  p["dtype"] = "float32";
  json f32 = json::parse(run(p));
  CHECK(f32["reference"]["dtype"] == "float64");
  CHECK(f32["reference"]["loss"] == f64["reference"]["loss"]);
  double err32 = f32["runs"][0]["grad_rel_error"].get<double>(),
         err64 = f64["runs"][0]["grad_rel_error"].get<double>();
  INFO("grad_rel_error: float32 " << err32 << ", float64 " << err64);
  CHECK(err32 < 5e-5);
  CHECK(err32 > 10 * err64);  // float32 rounding, well above rk4's float64 error

  // A reference given in the file is run in float64; the same run then agrees with it exactly.
  p["dtype"] = "float64";
  p["reference"] = json::parse(R"({"name": "rk4 ref", "solver": "rk4", "step_size": 0.01})");
  json given = json::parse(run(p));
  CHECK(given["reference"]["name"] == "rk4 ref");
  CHECK(given["reference"]["solver"] == "rk4");
  CHECK(given["runs"][0]["grad_rel_error"].get<double>() < 1e-15);
  p["reference"] = json::parse(R"({"solver": "rk4"})");
  CHECK_THROWS_WITH_ALL(run(p), "reference", "step_size");
}

namespace {

// The named systems' right-hand sides written out in doubles, for one state [x, y] or [q, p].
std::vector<double> field(const std::string& system, const std::vector<double>& z,
                          const std::map<std::string, double>& c) {
  if (system == "vanderpol") return {z[1], c.at("mu") * (1 - z[0] * z[0]) * z[1] - z[0]};
  if (system == "lotka_volterra")
    return {c.at("alpha") * z[0] - c.at("beta") * z[0] * z[1],
            c.at("delta") * z[0] * z[1] - c.at("gamma") * z[1]};
  if (system == "harmonic") return {z[1] / c.at("m"), -c.at("k") * z[0]};
  double r3 = std::pow(z[0] * z[0] + z[1] * z[1], 1.5);  // kepler
  return {z[2], z[3], -z[0] / r3, -z[1] / r3};
}

}  // namespace

TEST_CASE("the lab's named systems: one Euler step against the equations written out",
          "[ode][lab]") {
  // Loss |z0 + h·f(z0)|²; its gradients by central differences of the written-out formula.
  const double h = 0.1;
  struct Case {
    std::string system;
    std::map<std::string, double> constants;
    std::vector<double> z0;
  };
  std::vector<Case> cases = {
      {"vanderpol", {{"mu", 1.3}}, {1.5, -0.5}},
      {"lotka_volterra", {{"alpha", 1.1}, {"beta", 0.4}, {"gamma", 0.9}, {"delta", 0.3}}, {2, 1.5}},
      {"harmonic", {{"k", 2.0}, {"m", 0.5}}, {0.7, -0.2}},
      {"kepler", {}, {0.6, 0.2, -0.3, 1.1}},
  };
  for (const Case& c : cases) {
    INFO(c.system);
    auto loss = [&](const std::vector<double>& z, const std::map<std::string, double>& k) {
      std::vector<double> f = field(c.system, z, k);
      double s = 0;
      for (size_t i = 0; i < z.size(); ++i) s += std::pow(z[i] + h * f[i], 2);
      return s;
    };
    json system = {{"type", c.system}};
    for (const auto& [k, v] : c.constants) system[k] = v;
    json p = {{"system", system},
              {"z0", {c.z0}},
              {"t", {0.0, h}},
              {"loss", {{"type", "sum_squares"}}},
              {"runs", json::parse(R"([{"solver": "euler", "step_size": 0.1}])")}};
    json r = json::parse(run(p))["runs"][0];
    CHECK(r["loss"].get<double>() == Approx(loss(c.z0, c.constants)).epsilon(1e-14));
    const double eps = 1e-6;
    for (size_t i = 0; i < c.z0.size(); ++i) {
      std::vector<double> up = c.z0, down = c.z0;
      up[i] += eps, down[i] -= eps;
      double fd = (loss(up, c.constants) - loss(down, c.constants)) / (2 * eps);
      CHECK(r["grads"]["z0"][0][i].get<double>() == Approx(fd).epsilon(1e-8).margin(1e-9));
    }
    for (const auto& [k, v] : c.constants) {
      auto up = c.constants, down = c.constants;
      up[k] += eps, down[k] -= eps;
      double fd = (loss(c.z0, up) - loss(c.z0, down)) / (2 * eps);
      INFO(k);
      CHECK(r["grads"][k].get<double>() == Approx(fd).epsilon(1e-8).margin(1e-9));
    }
    CHECK(r["grads"].size() == 1 + c.constants.size());
  }
}

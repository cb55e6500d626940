// The lab's SDE problems: runs share one Brownian path, the GBM reference is the exact
// pathwise gradient (checked here against dX_T/dμ = T·X_T and dX_T/dσ = X_T·(W_T - σT)),
// and problem-file mistakes name their key path.
#include <nlohmann/json.hpp>

#include "ctdl/ode/lab/lab.h"
#include "sde_helpers.h"

using namespace ctdl;
using namespace ctdl::testing;
using json = nlohmann::json;

namespace {

json gbm_problem() {
  return json::parse(R"({
    "kind": "sde",
    "system": {"type": "gbm", "mu": [0.5, -0.2], "sigma": [0.4, 0.8]},
    "sde_type": "ito", "seed": 7, "dt": 0.002,
    "z0": [[1.0, 0.5], [0.8, 1.2], [1.5, 0.3]],
    "t": [0, 1],
    "loss": {"type": "sum_squares"},
    "runs": [
      {"name": "milstein", "solver": "milstein", "grad": "backprop"},
      {"name": "adjoint", "solver": "milstein", "grad": "stochastic_adjoint"},
      {"name": "adjoint, float32", "solver": "milstein", "grad": "stochastic_adjoint", "dt": 0.01},
      {"name": "wrong type", "solver": "heun"}
    ]})");
}

json run(const json& problem) { return json::parse(ode::lab::run(problem.dump())); }

}  // namespace

TEST_CASE("the lab's GBM reference is the exact pathwise gradient, and runs share the path",
          "[sde][lab]") {
  json out = run(gbm_problem());
  CHECK(out["reference"]["name"].get<std::string>().find("exact pathwise") != std::string::npos);
  REQUIRE(out["runs"].size() == 4);
  const json& first = out["runs"][0];
  for (const char* key : {"loss", "grads", "grad_rel_error", "nfe_forward", "nfe_backward", "steps",
                          "peak_bytes", "wall_ms", "brownian_final"})
    CHECK(first.contains(key));
  CHECK(first["steps"] == 500);
  // W_T per sample and noise dimension, the same for every run.
  Tensor w = tensor(first["brownian_final"].get<std::vector<std::vector<double>>>()[0], {2}, kF64);
  CHECK(first["brownian_final"].size() == 3);
  CHECK(first["brownian_final"] == out["runs"][1]["brownian_final"]);
  // L = Σ X_T²: dL/dμ_j = Σ_b 2 X_T² T and dL/dσ_j = Σ_b 2 X_T² (W_T - σ_j T), T = 1.
  std::vector<std::vector<double>> W = first["brownian_final"], z0 = gbm_problem()["z0"];
  double mu[2] = {0.5, -0.2}, sigma[2] = {0.4, 0.8};
  for (int j = 0; j < 2; ++j) {
    double dmu = 0, dsigma = 0;
    for (size_t b = 0; b < 3; ++b) {
      double x = z0[b][j] * std::exp(mu[j] - sigma[j] * sigma[j] / 2 + sigma[j] * W[b][j]);
      dmu += 2 * x * x, dsigma += 2 * x * x * (W[b][j] - sigma[j]);
    }
    CHECK(out["reference"]["grads"]["mu"][j].get<double>() == Approx(dmu).epsilon(1e-12));
    CHECK(out["reference"]["grads"]["sigma"][j].get<double>() == Approx(dsigma).epsilon(1e-12));
  }
  CHECK(first["grad_rel_error"].get<double>() < 0.01);
  CHECK(out["runs"][1]["grad_rel_error"].get<double>() < 0.01);
  CHECK(out["runs"][1]["nfe_backward"].get<int64_t>() > 0);
  CHECK(out["runs"][1]["peak_bytes"].get<int64_t>() < first["peak_bytes"].get<int64_t>());
  CHECK(out["runs"][3]["error"].get<std::string>().find("heun") != std::string::npos);
  // A float32 run sees the same path (the tree is rebuilt in float32 from the same seed).
  json f32 = gbm_problem();
  f32["dtype"] = "float32";
  json out32 = run(f32);
  CHECK(out32["runs"][2]["grad_rel_error"].get<double>() < 0.05);
  auto w32 = out32["runs"][2]["brownian_final"].get<std::vector<std::vector<double>>>();
  CHECK(std::abs(w32[0][0] - W[0][0]) < 1e-6);
}

TEST_CASE("lab SDE problems: OU against a fine run, MLP drift and diffusion, the paper's problems",
          "[sde][lab]") {
  json ou = json::parse(R"({
    "kind": "sde", "system": {"type": "ou", "theta": 1.5, "mu": 0.2, "sigma": 0.5},
    "seed": 1, "dt": 0.05, "z0": [[1.0], [0.0]], "t": [0, 1], "loss": {"type": "sum_squares"},
    "runs": [{"solver": "sra1"}, {"solver": "euler_maruyama", "grad": "stochastic_adjoint"}]})");
  json out = run(ou);
  CHECK(out["reference"]["solver"] == "sra1");
  CHECK(out["reference"]["dt"].get<double>() == Approx(0.05 / 64));
  CHECK(out["runs"][0]["grad_rel_error"].get<double>() < 0.01);
  CHECK(out["runs"][1]["grad_rel_error"].get<double>() < 0.2);

  json mlp = json::parse(R"({
    "kind": "sde", "sde_type": "stratonovich", "noise": "diagonal", "seed": 2, "dt": 0.01,
    "system": {"type": "mlp",
      "drift": {"dims": [2, 3, 2], "activation": "tanh", "weights": {
        "fc1.weight": [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]], "fc1.bias": [0.1, 0.0, -0.1],
        "fc2.weight": [[0.3, -0.5, 0.2], [0.7, 0.1, -0.4]]}},
      "diffusion": {"dims": [2, 2], "output": "sigmoid", "weights": {
        "fc1.weight": [[0.4, 0.0], [0.0, -0.3]], "fc1.bias": [-0.5, -0.2]}}},
    "z0": [[0.5, -0.5], [1.0, 0.2]], "t": [0, 0.5, 1], "loss": {"type": "sum_squares"},
    "runs": [{"solver": "midpoint"}, {"solver": "midpoint", "grad": "stochastic_adjoint"},
             {"solver": "reversible_heun", "grad": "reversible_adjoint"}]})");
  out = run(mlp);
  CHECK(out["reference"]["solver"] == "midpoint");
  for (const json& r : out["runs"]) {
    INFO(r.dump());
    CHECK(r["grad_rel_error"].get<double>() < 0.05);
    CHECK(r["grads"].contains("diffusion.fc1.weight"));
  }

  for (const char* system :
       {R"({"type": "sine_cosine", "p": [0.8, 1.2]})",
        R"({"type": "linear_inhomogeneous", "alpha": 0.5, "beta": [1.0, 0.7]})"}) {
    json p = json::parse(R"({"kind": "sde", "seed": 4, "dt": 0.005, "z0": [[0.3, 0.6]], "t": [0, 1],
      "loss": {"type": "sum_squares"}, "runs": [{"solver": "milstein", "grad": "stochastic_adjoint"}]})");
    p["system"] = json::parse(system);
    out = run(p);
    INFO(out.dump());
    CHECK(out["reference"]["name"].get<std::string>().find("exact") != std::string::npos);
    CHECK(out["runs"][0]["grad_rel_error"].get<double>() < 0.05);
  }
}

TEST_CASE("SDE problem-file mistakes name their key path", "[sde][lab]") {
  auto with = [](const char* key, json value) {
    json p = gbm_problem();
    p[key] = value;
    return p.dump();
  };
  CHECK_THROWS_WITH_ALL(ode::lab::run(with("system", {{"type", "lorenz"}})), "system.type",
                        "lorenz");
  CHECK_THROWS_WITH_ALL(ode::lab::run(with("noise", "general")), "noise", "diagonal");
  CHECK_THROWS_WITH_ALL(ode::lab::run(with("runs", json::parse(R"([{"solver": "rk4"}])"))),
                        "runs[0].solver", "rk4");
  CHECK_THROWS_WITH_ALL(
      ode::lab::run(with("runs", json::parse(R"([{"solver": "heun", "steps": 3}])"))),
      "runs[0].steps", "unknown key");
  CHECK_THROWS_WITH_ALL(ode::lab::run(with("kind", "pde")), "kind");
  CHECK_THROWS_WITH_ALL(
      ode::lab::run(with("system", json::parse(R"({"type": "gbm", "mu": [1, 2, 3]})"))),
      "system.mu", "2 numbers");
  json bad = gbm_problem();
  bad["runs"][0]["grad_options"] = {{"checkpoints", 2}};
  CHECK_THROWS_WITH_ALL(ode::lab::run(bad.dump()), "grad_options.checkpoints",
                        "not an option of gradient scheme backprop");
}

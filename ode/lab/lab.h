// The adjoint lab: run one ODE problem under several solvers and gradient schemes and
// compare their gradients, cost and memory. `ctdl lab PROBLEM.json` is run_file.
//
//   std::string result = ode::lab::run(R"({
//     "dtype": "float64",
//     "system": {"type": "linear", "A": [[0, 1], [-1, -0.1]]},
//     "z0": [[1, 0]], "t": [0, 1], "loss": {"type": "sum_squares"},
//     "runs": [{"name": "rk4", "solver": "rk4", "step_size": 0.01, "grad": "backprop"}]})");
//
// The format is documented in README.md ("The adjoint lab") and examples/lab/. Problem-file
// errors (missing keys, wrong shapes, unknown names) throw ctdl::Error naming the key path;
// a run that fails while solving reports its error in its "error" field and the others go on.
// Solvers and schemes are looked up in ode/registry.h, so ones you register are usable here.
#pragma once

#include <string>

namespace ctdl::ode::lab {

// JSON in, JSON out (two-space indented). A problem with "kind": "sde" is an SDE problem
// (run_sde); "kind" "ode" or none, an ODE problem.
std::string run(const std::string& problem_json);
// SDE problems (lab/sde_lab.cpp): "system" {"type": "gbm" (mu, sigma), "ou" (theta, mu,
// sigma), "sine_cosine" (p), "linear_inhomogeneous" (alpha, beta), each a number or one per
// dimension; or "mlp" with "drift" and "diffusion" MLPs in the ODE lab's weight layout},
// "noise", "sde_type", "seed", "dt"; runs {"name", "solver", "dt", "grad", "grad_options"}
// with the SDE solvers' names (ode/sde/registry.h). Every run reports what an ODE run reports
// plus "brownian_final", W(t_end) - W(t0) per sample and noise dimension: all runs share one
// Brownian path. The reference is the exact pathwise gradient where the system has a closed
// form (gbm, sine_cosine, linear_inhomogeneous), else a run at 1/64 of the smallest dt.
std::string run_sde(const std::string& problem_json);
bool is_sde_problem(const std::string& problem_json);
std::string run_file(const std::string& path);
// A result's runs as a Markdown table: name, solver, scheme, error, NFEs, steps, memory, time.
std::string markdown_table(const std::string& result_json);

}  // namespace ctdl::ode::lab

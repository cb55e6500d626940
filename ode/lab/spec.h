// A lab problem as read from its JSON file (lab/parse.cpp), before anything runs.
//
//   ode::lab::ProblemSpec spec = ode::lab::parse_problem(text);
//   ode::lab::System s = ode::lab::make_system(spec, DType::Float64);
#pragma once

#include <optional>

#include "ctdl/ode/lab/systems.h"
#include "ctdl/ode/registry.h"

namespace ctdl::ode::lab {

struct RunSpec {
  std::string path;  // "runs[2]", for error messages
  std::string name, solver, grad;
  NamedOptions solver_options, grad_options;
};

struct ProblemSpec {
  DType dtype = DType::Float64;
  std::string system;  // mlp, linear, vanderpol, lotka_volterra, harmonic, kepler
  std::vector<int64_t> dims;
  std::string activation;
  std::map<std::string, Tensor> weights;  // mlp, float64
  Tensor A;                               // linear, float64
  std::map<std::string, double> constants;
  Tensor z0;  // [batch, d], float64
  std::vector<double> t;
  std::string loss;  // sum_squares, mse
  Tensor targets;    // mse: [len(t) - 1, batch, d], float64
  std::vector<RunSpec> runs;
  std::optional<RunSpec> reference;
};

ProblemSpec parse_problem(const std::string& json_text);
// Fresh parameter leaves each call, so runs do not share gradients.
System make_system(const ProblemSpec& spec, DType dtype);
// The loss of a trajectory [len(t), batch, d].
Tensor lab_loss(const ProblemSpec& spec, const Tensor& trajectory);

}  // namespace ctdl::ode::lab

// What the ODE lab (lab.cpp) and the SDE lab (sde_lab.cpp) share: the outcome of one run and
// how a run is reported. Internal to the lab: it speaks nlohmann-json, which no installed
// header may depend on, so cmake/install.cmake leaves it out.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ctdl/tensor/tensor.h"

namespace ctdl::ode::lab {

using json = nlohmann::ordered_json;  // keys in the order written, as documented

// A tensor as nested lists of numbers (a number when it has no dimensions).
json to_json(const Tensor& t);

struct Outcome {
  double loss = 0;
  TensorList grads;  // z0, then the system's params
  std::vector<std::string> names;
  json fields = json::object();  // everything reported besides grads
};

// {name: gradient as nested lists} for each gradient of the outcome.
json grads_json(const Outcome& o);
// ‖g − ref‖ / ‖ref‖ over all the tensors together (the absolute norm when ref is zero).
double relative_error(const TensorList& g, const TensorList& ref);
// A run's entry: `entry`, then its loss, gradients, their error against `ref` and its own
// fields; or, when `execute` throws ctdl::Error, that error's message as "error", so the
// other runs go on.
json report_run(json entry, const std::function<Outcome()>& execute, const Outcome& ref);

}  // namespace ctdl::ode::lab

// The op database: one entry per op, with sample inputs and a naive reference. The generic
// suites in test_op_db.cpp run every entry through forward-value checks (float32 and
// float64, against the reference), gradcheck (float64) and gradgradcheck. Adding an op to
// the tests means adding one entry to op_db.cpp.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ctdl/ctdl.h"

namespace ctdl::testing {

using Ops = std::function<TensorList(const TensorList&)>;

struct Sample {
  std::string description;
  // The leaves: floating ones get requires_grad in the gradient suites.
  TensorList inputs;
  // Turns the leaves into the op's arguments (a transposed view, an expansion, ...), so
  // that ops are tested, forward and backward, on non-contiguous and broadcast inputs.
  Ops layout;
  TensorList args(const TensorList& leaves) const { return layout ? layout(leaves) : leaves; }
};

struct OpInfo {
  std::string name;
  Ops op;                    // the ctdl op, applied to a sample's args
  Ops reference;             // expected values (any floating dtype), from the same args
  std::function<std::vector<Sample>(DType)> samples;
  bool differentiable = true;
  bool twice_differentiable = true;
  double rtol_float32 = 2e-5, atol_float32 = 2e-5;
  autograd::GradcheckOptions grad_options = {};
};

const std::vector<OpInfo>& op_database();

}  // namespace ctdl::testing

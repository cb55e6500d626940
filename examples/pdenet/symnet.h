// SymNet (PDE-Net 2.0, Long, Lu & Dong 2019): a network whose hidden layers each append the
// product of two learned affine combinations of everything before them, so that its output
// is a polynomial of its inputs that can be expanded and read.
//
//   SymNet net({"u", "u_x", "u_xx"}, /*hidden_layers=*/2);
//   Tensor y = net(x);                       // x [P, 3] -> y [P]
//   Polynomial p = net.expand();             // e.g. -1.0 u*u_x + 0.05 u_xx
//   std::cout << to_string(p, net.input_names(), 1e-3);
#pragma once

#include <map>
#include <string>
#include <vector>

#include "ctdl/nn/module.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::examples::pdenet {

// A polynomial: exponents of each input -> coefficient.
using Monomial = std::vector<int>;
using Polynomial = std::map<Monomial, double>;

Polynomial polynomial_product(const Polynomial& a, const Polynomial& b, double drop = 0.0);
// "u*u_x", "u^2*v_y", "1" for the constant.
std::string monomial_name(const Monomial& m, const std::vector<std::string>& names);
// Terms with |c| >= prune, largest first: "-0.9987 u*u_x + 0.0501 u_xx".
std::string to_string(const Polynomial& p, const std::vector<std::string>& names, double prune);

class SymNet : public nn::Module {
 public:
  SymNet(std::vector<std::string> input_names, int64_t hidden_layers);

  // x [P, inputs] -> [P].
  Tensor operator()(const Tensor& x) const;
  // The exact expansion of the network as a polynomial (coefficients below `drop` are
  // dropped while expanding, to keep intermediate products small).
  Polynomial expand(double drop = 1e-7) const;
  const std::vector<std::string>& input_names() const { return names_; }

  TensorList weights,
      biases;  // hidden layer k: [2, inputs + k], [2]; then the output [inputs + H], [1]

 private:
  std::vector<std::string> names_;
  int64_t hidden_;
};

}  // namespace ctdl::examples::pdenet

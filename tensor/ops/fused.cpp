// Fused primitives: what users (and ctdl's own solvers) write often, done in one pass over
// memory. Each is also expressible as a composite; the fused form saves the temporaries.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {

Tensor linear_combination(const TensorList& terms, const std::vector<double>& coeffs) {
  Tensor y = dispatch::linear_combination(terms, coeffs);
  if (!autograd::needs_grad_list(terms)) return y;
  // d/dterm_k = coeff_k · g; the engine sums it back to term k's (broadcast) shape.
  return autograd::record("linear_combination", y, terms, {}, autograd::SaveOutput::No,
                          [coeffs](const Tensor& g, const autograd::Saved&) {
                            TensorList grads;
                            for (double c : coeffs) grads.push_back(c == 1.0 ? g : g * c);
                            return grads;
                          });
}

Tensor axpby(double a, const Tensor& x, double b, const Tensor& y) {
  return linear_combination({x, y}, {a, b});
}

Tensor bias_activation(const Tensor& x, const Tensor& bias, Activation act) {
  Tensor y = dispatch::bias_activation(x, bias, act);
  if (!autograd::needs_grad(x, bias)) return y;
  // The derivative of each activation from its output y, as in relu/tanh/sigmoid.
  return autograd::record("bias_activation", y, {x, bias}, {}, autograd::SaveOutput::Yes,
                          [act](const Tensor& g, const autograd::Saved& s) {
                            const Tensor& y = s.output();
                            Tensor d;
                            switch (act) {
                              case Activation::Relu:
                                d = where(y > 0.0, g, 0.0);
                                break;
                              case Activation::Tanh:
                                d = g * (1.0 - y * y);
                                break;
                              case Activation::Sigmoid:
                                d = g * y * (1.0 - y);
                                break;
                              default:
                                d = g;
                                break;
                            }
                            return TensorList{d, d};
                          });
}

}  // namespace ctdl

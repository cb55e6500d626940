#include "ctdl/examples/yopo/yopo.h"

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::yopo {

Costate full_pass(const LayerOneSplit& net, const LossOfOutput& loss, const Tensor& x) {
  autograd::EnableGradGuard enable;
  Tensor z = net.layer_one(x.detach());
  // A first layer without trainable parameters gives a z outside the graph: make it a leaf.
  if (!z.requires_grad()) z = z.detach().requires_grad_();
  z.retain_grad();
  Tensor output = net.rest(z);
  Tensor value = loss(output);
  CTDL_CHECK(value.numel() == 1, "yopo: the loss must be a one-element tensor, got shape ",
             value.shape());
  value.backward();
  CTDL_CHECK(z.grad().defined(), "yopo: the loss does not depend on the first layer's output");
  return {value.detach(), output.detach(), -z.grad()};
}

Tensor layer_one_input_gradient(const LayerOneSplit& net, const Tensor& p, const Tensor& x) {
  autograd::EnableGradGuard enable;
  nn::FrozenParameters frozen(net.layer_one_parameters);
  Tensor leaf = x.detach().requires_grad_();
  Tensor z = net.layer_one(leaf);
  CTDL_CHECK(z.shape() == p.shape(), "yopo: costate shape ", p.shape(),
             " differs from the first layer's output ", z.shape());
  // The gradient of −p·z with respect to the input is the vector-Jacobian product with −p.
  return autograd::grad({z}, {leaf}, {-p})[0];
}

YopoRounds yopo_rounds(const LayerOneSplit& net, const LossOfOutput& loss, const Tensor& x,
                       const Tensor& eta, const YopoOptions& o) {
  CTDL_CHECK(o.m >= 1 && o.n >= 0, "yopo: need m >= 1 and n >= 0, got m = ", o.m, ", n = ", o.n);
  YopoRounds r;
  Tensor x0 = x.detach();
  Tensor x_adv = nn::project_linf(x0 + eta, x0, o.epsilon, o.lower, o.upper);
  for (int64_t j = 0; j < o.m; ++j) {
    r.inputs.push_back(x_adv);
    Costate c = full_pass(net, loss, x_adv);
    r.outputs.push_back(c.output);
    r.loss += c.loss.item<double>() / static_cast<double>(o.m);
    ++r.full_passes;
    for (int64_t s = 0; s < o.n; ++s) {
      Tensor g = layer_one_input_gradient(net, c.p, x_adv);
      autograd::NoGradGuard no_grad;
      x_adv = nn::project_linf(x_adv + sign(g) * o.step, x0, o.epsilon, o.lower, o.upper);
      ++r.layer_one_passes;
    }
  }
  r.adversarial = x_adv;
  return r;
}

Tensor random_perturbation(const Tensor& x, double epsilon, Generator* generator) {
  autograd::NoGradGuard no_grad;
  Tensor u = rand(x.shape(), {.dtype = x.dtype(), .device = x.device()}, generator);
  return (u * 2.0 - 1.0) * epsilon;
}

}  // namespace ctdl::examples::yopo

// Fused primitives: what users (and ctdl's own solvers) write often, done in one pass over
// memory. Each is also expressible as a composite; the fused form saves the temporaries.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {

Tensor linear_combination(const TensorList& terms, const std::vector<double>& coeffs) {
  Tensor y = dispatch::linear_combination(terms, coeffs);
  if (!autograd::needs_grad_list(terms)) return y;
  // d/dterm_k = coeff_k · g; the engine sums it back to term k's (broadcast) shape. Each
  // distinct coefficient scales g once, as a one-term combination (no scalar tensor to
  // build): RK4's last stage, z + h/6·k1 + h/3·k2 + h/3·k3 + h/6·k4, takes two products.
  auto backward = [coeffs](const Tensor& g, const autograd::Saved&) {
    TensorList grads(coeffs.size());
    for (size_t k = 0; k < coeffs.size(); ++k) {
      // The first term with this coefficient (none before k for a NaN).
      size_t same = 0;
      while (same < k && coeffs[same] != coeffs[k]) ++same;
      if (same < k)
        grads[k] = grads[same];
      else
        grads[k] = coeffs[k] == 1.0 ? g : linear_combination({g}, {coeffs[k]});
    }
    return grads;
  };
  return autograd::record("linear_combination", y, terms, {}, autograd::SaveOutput::No,
                          std::move(backward));
}

Tensor axpby(double a, const Tensor& x, double b, const Tensor& y) {
  return linear_combination({x, y}, {a, b});
}

Tensor activation_backward(const Tensor& grad, const Tensor& y, Activation act) {
  if (act == Activation::None) return grad;
  const BinaryOp op = act == Activation::Tanh      ? BinaryOp::TanhBackward
                      : act == Activation::Sigmoid ? BinaryOp::SigmoidBackward
                                                   : BinaryOp::ReluBackward;
  Tensor out = dispatch::binary(op, grad, y, "activation_backward");
  if (!autograd::needs_grad(grad, y)) return out;
  // out = g·(1 − y²), g·y·(1 − y) or g·[y > 0]: linear in g (the same op again), and in y
  // the derivative −2y·g, (1 − 2y)·g or 0.
  const bool is_tanh = act == Activation::Tanh;
  if (act == Activation::Relu)
    return autograd::record(
        "activation_backward", out, {grad, y}, {y}, autograd::SaveOutput::No,
        [](const Tensor& gg, const autograd::Saved& s) {
          return TensorList{activation_backward(gg, s[0], Activation::Relu), Tensor()};
        });
  return autograd::record("activation_backward", out, {grad, y}, {grad, y},
                          autograd::SaveOutput::No,
                          [act, is_tanh](const Tensor& gg, const autograd::Saved& s) {
                            const Tensor &g = s[0], &y = s[1];
                            Tensor dy = is_tanh ? gg * g * (y * -2.0) : gg * g * (1.0 - y * 2.0);
                            return TensorList{activation_backward(gg, y, act), dy};
                          });
}

Tensor bias_activation(const Tensor& x, const Tensor& bias, Activation act) {
  Tensor y = dispatch::bias_activation(x, bias, act);
  if (!autograd::needs_grad(x, bias)) return y;
  // The gradient through the activation, from its output; the engine sums the bias's share
  // over the broadcast dims.
  return autograd::record("bias_activation", y, {x, bias}, {}, autograd::SaveOutput::Yes,
                          [act](const Tensor& g, const autograd::Saved& s) {
                            Tensor d = activation_backward(g, s.output(), act);
                            return TensorList{d, d};
                          });
}

namespace {

Tensor activate(const Tensor& x, Activation act) {
  switch (act) {
    case Activation::Relu:
      return relu(x);
    case Activation::Tanh:
      return tanh(x);
    case Activation::Sigmoid:
      return sigmoid(x);
    default:
      return x;
  }
}

}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias, Activation act) {
  CTDL_CHECK(weight.dim() == 2, "linear: weight must be [out, in], got ", weight.shape());
  CTDL_CHECK(x.dim() >= 1 && x.shape().back() == weight.shape()[1],
             "linear: expected input [..., ", weight.shape()[1], "] for weight ", weight.shape(),
             ", got ", x.shape());
  CTDL_CHECK(!bias.defined() || (bias.dim() == 1 && bias.shape()[0] == weight.shape()[0]),
             "linear: expected bias [", weight.shape()[0], "] for weight ", weight.shape(),
             ", got ", bias.shape());
  Tensor y;
  {
    autograd::NoGradGuard no_grad;
    Tensor pre = matmul(x, weight.t());
    y = bias.defined() ? bias_activation(pre, bias, act) : activate(pre, act);
  }
  if (!autograd::needs_grad(x, weight, bias)) return y;
  TensorList inputs = {x, weight};
  if (bias.defined()) inputs.push_back(bias);
  // With d = the gradient through act: dx = d·W, dW = dᵀ·x and db = Σ d over the rows, the
  // leading dims of x joined into one.
  return autograd::record(
      "linear", y, inputs, {x, weight}, autograd::SaveOutput::Yes,
      [act, has_bias = bias.defined()](const Tensor& g, const autograd::Saved& s) {
        const Tensor &x = s[0], &w = s[1];
        const int64_t out = w.shape()[0], in = w.shape()[1];
        Tensor d = activation_backward(g, s.output(), act);
        Tensor rows = d.reshape({-1, out});
        TensorList grads = {x.requires_grad() ? matmul(d, w) : Tensor(),
                            w.requires_grad() ? matmul(rows.t(), x.reshape({-1, in})) : Tensor()};
        if (has_bias) grads.push_back(rows.sum({0}));
        return grads;
      });
}

namespace {

void check_mlp(const Tensor& x, const TensorList& weights, const TensorList& biases) {
  CTDL_CHECK(!weights.empty(), "mlp: needs at least one layer (no weights given)");
  CTDL_CHECK(biases.empty() || biases.size() == weights.size(), "mlp: ", weights.size(),
             " weights but ", biases.size(), " biases (give one per layer, or none)");
  CTDL_CHECK(x.dim() >= 1, "mlp: expected an input [..., features], got a 0-d tensor");
  int64_t features = x.shape().back();
  for (size_t k = 0; k < weights.size(); ++k) {
    const Tensor& w = weights[k];
    CTDL_CHECK(w.dim() == 2 && w.shape()[1] == features, "mlp: layer ", k, " gets ", features,
               " features, so its weight must be [out, ", features, "], got ", w.shape());
    features = w.shape()[0];
    if (!biases.empty() && biases[k].defined())
      CTDL_CHECK(biases[k].dim() == 1 && biases[k].shape()[0] == features, "mlp: layer ", k,
                 " has ", features, " outputs, so its bias must be [", features, "], got ",
                 biases[k].shape());
  }
}

// The chain of linear layers: the forward pass where no fused kernel applies, and every
// hidden value (each layer's input) for the backward rule's composite form.
TensorList mlp_layer_inputs(const Tensor& x, const TensorList& weights, const TensorList& biases,
                            Activation act, Tensor* out) {
  TensorList inputs = {x};
  for (size_t k = 0; k < weights.size(); ++k) {
    const bool last = k + 1 == weights.size();
    Tensor y = linear(inputs.back(), weights[k], biases[k], last ? Activation::None : act);
    if (last && out) *out = y;
    if (!last) inputs.push_back(y);
  }
  return inputs;
}

}  // namespace

Tensor mlp(const Tensor& x, const TensorList& weights, const TensorList& given_biases,
           Activation act) {
  check_mlp(x, weights, given_biases);
  TensorList biases = given_biases;
  biases.resize(weights.size());
  const int64_t d_in = x.shape().back(), d_out = weights.back().shape()[0];
  Dims out_shape = x.shape();
  out_shape[out_shape.size() - 1] = d_out;
  // (Lists reserved whole: a neural ODE calls this hundreds of times per solve.)
  TensorList inputs;
  inputs.reserve(1 + 2 * weights.size());
  inputs.push_back(x);
  inputs.insert(inputs.end(), weights.begin(), weights.end());
  for (const Tensor& b : biases)
    if (b.defined()) inputs.push_back(b);
  const bool recording = autograd::needs_grad_list(inputs);
  Tensor y, kept;  // kept: the hidden values, when the backward pass follows at once
  {
    autograd::NoGradGuard no_grad;
    Tensor rows = x.reshape({-1, d_in});
    const bool keep = recording && autograd::keep_intermediates();
    y = dispatch::mlp(rows, weights, biases, act, keep ? &kept : nullptr);
    if (!y.defined()) mlp_layer_inputs(rows, weights, biases, act, &y);
    y = y.reshape(out_shape);
  }
  if (!recording) return y;
  TensorList saved;
  saved.reserve(2 + 2 * weights.size());
  saved.push_back(x);
  saved.insert(saved.end(), weights.begin(), weights.end());
  saved.insert(saved.end(), biases.begin(), biases.end());
  saved.push_back(kept);
  // Saved: x, the weights, the biases (undefined ones too, to keep the positions), and what
  // the kernel kept (undefined: the backward pass recomputes it). Keeping it through a whole
  // backprop solve would cost more than recomputing it: a neural ODE's RK4 backprop solve
  // (2 → 64 → 2, 512 rows) took 24.9 ms keeping, 18.1 ms recomputing, its 57 MB of hidden
  // values going to memory and back.
  return autograd::record(
      "mlp", y, inputs, saved, autograd::SaveOutput::No,
      [act, layers = weights.size(), d_in, d_out](const Tensor& g, const autograd::Saved& s) {
        const Tensor& x = s[0];
        TensorList weights, biases;
        weights.reserve(layers);
        biases.reserve(layers);
        for (size_t k = 0; k < layers; ++k) {
          weights.push_back(s[1 + k]);
          biases.push_back(s[1 + layers + k]);
        }
        Tensor rows = x.reshape({-1, d_in}), grad = g.reshape({-1, d_out});
        // Without create_graph the fused kernel, when the backend has one.
        if (!autograd::grad_enabled()) {
          TensorList fused = dispatch::mlp_backward(grad, rows, weights, biases, act,
                                                    x.requires_grad(), s[1 + 2 * layers]);
          if (!fused.empty()) {
            if (fused[0].defined()) fused[0] = fused[0].reshape(x.shape());
            return fused;
          }
        }
        // Otherwise in tensor ops, differentiable again: recompute each layer's input,
        // then back through the layers, d being the gradient at a layer's pre-activation.
        TensorList h = mlp_layer_inputs(rows, weights, biases, act, nullptr);
        TensorList grad_weights(layers), grad_biases;
        Tensor d = grad, grad_x;
        for (size_t k = layers; k-- > 0;) {
          grad_weights[k] = matmul(d.t(), h[k]);
          if (biases[k].defined()) grad_biases.insert(grad_biases.begin(), d.sum({0}));
          if (k == 0) {
            if (x.requires_grad()) grad_x = matmul(d, weights[0]).reshape(x.shape());
            break;
          }
          d = activation_backward(matmul(d, weights[k]), h[k], act);
        }
        TensorList grads = {grad_x};
        grads.insert(grads.end(), grad_weights.begin(), grad_weights.end());
        grads.insert(grads.end(), grad_biases.begin(), grad_biases.end());
        return grads;
      });
}

}  // namespace ctdl

#include "ctdl/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::autograd {
namespace {

// Outputs of f flattened into one float64 vector.
std::vector<double> evaluate(const TensorFunction& f, const TensorList& inputs) {
  NoGradGuard no_grad;
  std::vector<double> values;
  for (const Tensor& y : f(inputs)) {
    if (!y.defined() || !y.is_floating_point()) continue;
    std::vector<double> v = y.to_vector<double>();
    values.insert(values.end(), v.begin(), v.end());
  }
  return values;
}

// Copies of the inputs with fresh storage, so perturbing one cannot touch a caller's data.
TensorList fresh_inputs(const TensorList& inputs) {
  TensorList out;
  for (const Tensor& x : inputs) {
    if (!x.defined()) { out.push_back(x); continue; }
    Tensor c;
    {
      NoGradGuard no_grad;
      c = x.detach().clone();
    }
    if (x.requires_grad()) c.requires_grad_();
    out.push_back(c);
  }
  return out;
}

}  // namespace

GradcheckResult gradcheck(const TensorFunction& f, const TensorList& given, GradcheckOptions options) {
  GradcheckResult result;
  TensorList inputs = fresh_inputs(given);
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) checked.push_back(i);
  if (checked.empty()) {
    result.ok = false;
    result.message = "gradcheck: no input requires grad";
    return result;
  }

  // Analytical Jacobian, one backward pass per output element.
  TensorList outputs;
  {
    EnableGradGuard grad_on;
    outputs = f(inputs);
  }
  std::vector<size_t> out_sizes;
  size_t total_out = 0;
  for (const Tensor& y : outputs) {
    size_t n = (y.defined() && y.is_floating_point()) ? y.numel() : 0;
    out_sizes.push_back(n);
    total_out += n;
  }
  TensorList checked_inputs;
  for (size_t i : checked) checked_inputs.push_back(inputs[i]);
  std::vector<std::vector<std::vector<double>>> analytical(checked.size());  // [input][out][elem]
  for (auto& a : analytical) a.resize(total_out);
  size_t row = 0;
  for (size_t o = 0; o < outputs.size(); ++o) {
    for (size_t e = 0; e < out_sizes[o]; ++e, ++row) {
      if (!outputs[o].requires_grad()) {
        for (size_t c = 0; c < checked.size(); ++c) analytical[c][row].assign(inputs[checked[c]].numel(), 0.0);
        continue;
      }
      std::vector<double> seed_values(out_sizes[o], 0.0);
      seed_values[e] = 1.0;
      Tensor seed = tensor(seed_values, outputs[o].shape(), {.dtype = outputs[o].dtype(), .device = outputs[o].device()});
      TensorList g = grad({outputs[o]}, checked_inputs, {seed}, {.retain_graph = true, .allow_unused = true});
      for (size_t c = 0; c < checked.size(); ++c) {
        const Tensor& x = checked_inputs[c];
        if (g[c].defined()) {
          if (g[c].shape() != x.shape() || g[c].dtype() != x.dtype()) {
            result.ok = false;
            result.message = str("gradcheck: the gradient of input ", checked[c], " has shape ",
                                 g[c].shape(), " and dtype ", g[c].dtype(), ", expected ", x.shape(),
                                 " and ", x.dtype());
            return result;
          }
          analytical[c][row] = g[c].to_vector<double>();
        } else {
          analytical[c][row].assign(x.numel(), 0.0);
        }
      }
    }
  }

  // Numerical Jacobian, one pair of evaluations per input element, compared as we go.
  for (size_t c = 0; c < checked.size(); ++c) {
    Tensor x = inputs[checked[c]];
    Tensor flat;
    {
      NoGradGuard no_grad;
      flat = x.contiguous().detach();
    }
    TensorList perturbed = inputs;
    std::vector<double> base = flat.to_vector<double>();
    for (size_t k = 0; k < base.size(); ++k) {
      auto with_value = [&](double v) {
        std::vector<double> values = base;
        values[k] = v;
        perturbed[checked[c]] = tensor(values, x.shape(), {.dtype = x.dtype(), .device = x.device(), .requires_grad = true});
        return evaluate(f, perturbed);
      };
      std::vector<double> plus = with_value(base[k] + options.eps);
      std::vector<double> minus = with_value(base[k] - options.eps);
      for (size_t r = 0; r < total_out; ++r) {
        double numerical = (plus[r] - minus[r]) / (2 * options.eps);
        double a = analytical[c][r][k];
        double err = std::abs(a - numerical);
        result.max_abs_error = std::max(result.max_abs_error, err);
        if (!(err <= options.atol + options.rtol * std::abs(numerical)) && result.ok) {
          result.ok = false;
          result.message = str("gradcheck: mismatch for input ", checked[c], " element ", k,
                               " and output element ", r, ": analytical ", a, ", numerical ",
                               numerical, " (|difference| ", err, ")");
        }
      }
    }
  }
  return result;
}

GradcheckResult gradgradcheck(const TensorFunction& f, const TensorList& given, GradcheckOptions options) {
  TensorList inputs = fresh_inputs(given);
  TensorList outputs;
  {
    NoGradGuard no_grad;
    outputs = f(inputs);
  }
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i)
    if (inputs[i].defined() && inputs[i].requires_grad()) checked.push_back(i);
  // The cotangents become extra inputs, so the check covers the rules' dependence on them too.
  Generator gen(1234);
  TensorList all_inputs = inputs;
  std::vector<size_t> seed_positions;
  for (const Tensor& y : outputs) {
    if (!y.defined() || !y.is_floating_point()) continue;
    seed_positions.push_back(all_inputs.size());
    all_inputs.push_back(randn(y.shape(), {.dtype = y.dtype(), .device = y.device(), .requires_grad = true}, &gen));
  }
  size_t n_inputs = inputs.size();
  TensorFunction backward_of_f = [&, n_inputs](const TensorList& args) {
    EnableGradGuard grad_on;
    TensorList x(args.begin(), args.begin() + n_inputs);
    for (size_t i : checked)
      if (!x[i].requires_grad()) x[i] = x[i].detach().requires_grad_();
    TensorList ys = f(x);
    TensorList roots, seeds, wrt;
    size_t s = 0;
    for (const Tensor& y : ys) {
      if (!y.defined() || !y.is_floating_point()) continue;
      if (y.requires_grad()) roots.push_back(y), seeds.push_back(args[seed_positions[s]]);
      ++s;
    }
    for (size_t i : checked) wrt.push_back(x[i]);
    TensorList g = roots.empty() ? TensorList(wrt.size())
                                 : grad(roots, wrt, seeds, {.create_graph = true, .allow_unused = true});
    for (size_t i = 0; i < g.size(); ++i)
      if (!g[i].defined()) g[i] = zeros_like(wrt[i]);
    return g;
  };
  GradcheckResult r = gradcheck(backward_of_f, all_inputs, options);
  if (!r.ok) r.message = "gradgradcheck: " + r.message;
  return r;
}

}  // namespace ctdl::autograd

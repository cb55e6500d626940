// Primitive elementwise ops and their backward rules, one line each, micrograd-style: the
// rule reads the gradient `g`, the input `x` and the output `y` (for binary ops `a`, `b`).
#include <cmath>
#include <limits>

#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

using autograd::record;
using autograd::Saved;
using autograd::SaveOutput;

// ---- unary --------------------------------------------------------------------------------

using UnaryRule = TensorList (*)(const Tensor& g, const Tensor& x, const Tensor& y,
                                 const UnaryParams& p);

// What a backward rule reads besides the gradient; only that is kept alive for backward.
enum Uses { kNothing = 0, kInput = 1, kOutput = 2, kBoth = 3 };

// Applies a unary kernel and records `rule` as its backward.
Tensor unary_op(const char* name, UnaryOp op, const Tensor& x, Uses uses, UnaryRule rule,
                UnaryParams params = {}) {
  Tensor y = dispatch::unary(op, x, params);
  if (!rule || !y.is_floating_point() || !autograd::needs_grad(x)) return y;
  TensorList saved = (uses & kInput) ? TensorList{x} : TensorList{Tensor()};
  return record(name, y, {x}, saved, (uses & kOutput) ? SaveOutput::Yes : SaveOutput::No,
                [rule, params](const Tensor& g, const Saved& s) { return rule(g, s[0], s.output(), params); });
}

Tensor in_range_mask(const Tensor& x, const UnaryParams& p) {
  Tensor mask = ones_like(x, DType::Bool);
  if (!std::isnan(p.a)) mask = logical_and(mask, x >= p.a);
  if (!std::isnan(p.b)) mask = logical_and(mask, x <= p.b);
  return mask;
}

}  // namespace

Tensor neg(const Tensor& x) {
  return unary_op("neg", UnaryOp::Neg, x, kNothing, [](auto& g, auto&, auto&, auto&) { return TensorList{-g}; });
}
Tensor abs(const Tensor& x) {
  return unary_op("abs", UnaryOp::Abs, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{g * sign(x)}; });
}
Tensor sign(const Tensor& x) { return unary_op("sign", UnaryOp::Sign, x, kInput, nullptr); }
Tensor exp(const Tensor& x) {
  return unary_op("exp", UnaryOp::Exp, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{g * y}; });
}
Tensor log(const Tensor& x) {
  return unary_op("log", UnaryOp::Log, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{g / x}; });
}
Tensor log1p(const Tensor& x) {
  return unary_op("log1p", UnaryOp::Log1p, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{g / (x + 1.0)}; });
}
Tensor sqrt(const Tensor& x) {
  return unary_op("sqrt", UnaryOp::Sqrt, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{g * 0.5 / y}; });
}
Tensor rsqrt(const Tensor& x) {
  return unary_op("rsqrt", UnaryOp::Rsqrt, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{g * -0.5 * y * y * y}; });
}
Tensor sin(const Tensor& x) {
  return unary_op("sin", UnaryOp::Sin, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{g * cos(x)}; });
}
Tensor cos(const Tensor& x) {
  return unary_op("cos", UnaryOp::Cos, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{-g * sin(x)}; });
}
Tensor tanh(const Tensor& x) {
  return unary_op("tanh", UnaryOp::Tanh, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{activation_backward(g, y, Activation::Tanh)}; });
}
Tensor sigmoid(const Tensor& x) {
  return unary_op("sigmoid", UnaryOp::Sigmoid, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{activation_backward(g, y, Activation::Sigmoid)}; });
}
Tensor relu(const Tensor& x) {
  // relu(x) > 0 exactly where x > 0, so the rule reads the output.
  return unary_op("relu", UnaryOp::Relu, x, kOutput, [](auto& g, auto&, auto& y, auto&) { return TensorList{activation_backward(g, y, Activation::Relu)}; });
}
Tensor softplus(const Tensor& x) {
  return unary_op("softplus", UnaryOp::Softplus, x, kInput, [](auto& g, auto& x, auto&, auto&) { return TensorList{g * sigmoid(x)}; });
}
Tensor pow(const Tensor& x, double exponent) {
  return unary_op("pow", UnaryOp::Pow, x, kInput, [](auto& g, auto& x, auto&, auto& p) {
    return TensorList{p.a == 0.0 ? zeros_like(g) : g * p.a * pow(x, p.a - 1.0)};
  }, {exponent, 0.0});
}
Tensor clamp(const Tensor& x, std::optional<double> lo, std::optional<double> hi) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  return unary_op("clamp", UnaryOp::Clamp, x, kInput, [](auto& g, auto& x, auto&, auto& p) {
    return TensorList{where(in_range_mask(x, p), g, 0.0)};
  }, {lo.value_or(nan), hi.value_or(nan)});
}
Tensor isnan(const Tensor& x) { return dispatch::unary(UnaryOp::IsNan, x); }
Tensor isinf(const Tensor& x) { return dispatch::unary(UnaryOp::IsInf, x); }
Tensor isfinite(const Tensor& x) { return dispatch::unary(UnaryOp::IsFinite, x); }
Tensor logical_not(const Tensor& x) { return dispatch::unary(UnaryOp::LogicalNot, x); }

// ---- binary -------------------------------------------------------------------------------

namespace {

using BinaryRule = TensorList (*)(const Tensor& g, const Tensor& a, const Tensor& b, const Tensor& y);

Tensor binary_op(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, Uses uses,
                 BinaryRule rule) {
  Tensor y = dispatch::binary(op, a, b, name);
  if (!rule || !y.is_floating_point() || !autograd::needs_grad(a, b)) return y;
  TensorList saved = (uses & kInput) ? TensorList{a, b} : TensorList{Tensor(), Tensor()};
  return record(name, y, {a, b}, saved, (uses & kOutput) ? SaveOutput::Yes : SaveOutput::No,
                [rule](const Tensor& g, const Saved& s) { return rule(g, s[0], s[1], s.output()); });
}

// Where a and b tie, each gets half the gradient (as in PyTorch).
Tensor share_of_max(const Tensor& g, const Tensor& winner, const Tensor& loser) {
  return where(gt(winner, loser), g, where(eq(winner, loser), g * 0.5, 0.0));
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) {
  return binary_op("add", BinaryOp::Add, a, b, kNothing, [](auto& g, auto&, auto&, auto&) { return TensorList{g, g}; });
}
Tensor sub(const Tensor& a, const Tensor& b) {
  return binary_op("sub", BinaryOp::Sub, a, b, kNothing, [](auto& g, auto&, auto&, auto&) { return TensorList{g, -g}; });
}
Tensor mul(const Tensor& a, const Tensor& b) {
  return binary_op("mul", BinaryOp::Mul, a, b, kInput, [](auto& g, auto& a, auto& b, auto&) { return TensorList{g * b, g * a}; });
}
Tensor div(const Tensor& a, const Tensor& b) {
  return binary_op("div", BinaryOp::Div, a, b, kInput, [](auto& g, auto& a, auto& b, auto&) {
    return TensorList{g / b, -g * a / (b * b)};
  });
}
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_op("pow", BinaryOp::Pow, a, b, kBoth, [](auto& g, auto& a, auto& b, auto& y) {
    // d/db a^b = a^b log a, taken as 0 where a <= 0 (no real derivative there).
    return TensorList{g * b * pow(a, b - 1.0), where(a > 0.0, g * y * log(where(a > 0.0, a, 1.0)), 0.0)};
  });
}
Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_op("maximum", BinaryOp::Maximum, a, b, kInput, [](auto& g, auto& a, auto& b, auto&) {
    return TensorList{share_of_max(g, a, b), share_of_max(g, b, a)};
  });
}
Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_op("minimum", BinaryOp::Minimum, a, b, kInput, [](auto& g, auto& a, auto& b, auto&) {
    return TensorList{share_of_max(g, b, a), share_of_max(g, a, b)};
  });
}
Tensor eq(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Eq, a, b, "eq"); }
Tensor ne(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Ne, a, b, "ne"); }
Tensor lt(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Lt, a, b, "lt"); }
Tensor le(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Le, a, b, "le"); }
Tensor gt(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Gt, a, b, "gt"); }
Tensor ge(const Tensor& a, const Tensor& b) { return dispatch::binary(BinaryOp::Ge, a, b, "ge"); }
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return dispatch::binary(BinaryOp::LogicalAnd, a, b, "logical_and");
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return dispatch::binary(BinaryOp::LogicalOr, a, b, "logical_or");
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::where(condition, a, b);
  if (!y.is_floating_point() || !autograd::needs_grad(a, b)) return y;
  return record("where", y, {a, b}, {condition}, SaveOutput::No, [](const Tensor& g, const Saved& s) {
    return TensorList{where(s[0], g, 0.0), where(s[0], 0.0, g)};
  });
}

}  // namespace ctdl

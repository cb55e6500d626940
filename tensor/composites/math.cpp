// Composite math: operators, scalar forms and the derived reductions. Nothing here has a
// backward rule of its own; gradients come from the primitives these are built from.
#include <algorithm>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {

Tensor square(const Tensor& x) { return x * x; }
Tensor reciprocal(const Tensor& x) { return 1.0 / x; }

Tensor where(const Tensor& condition, const Tensor& a, double b) {
  return where(condition, a, scalar_like(b, a));
}
Tensor where(const Tensor& condition, double a, const Tensor& b) {
  return where(condition, scalar_like(a, b), b);
}

// ---- operators -----------------------------------------------------------------------------

Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, double b) { return add(a, scalar_like(b, a)); }
Tensor operator-(const Tensor& a, double b) { return sub(a, scalar_like(b, a)); }
Tensor operator*(const Tensor& a, double b) { return mul(a, scalar_like(b, a)); }
Tensor operator/(const Tensor& a, double b) { return div(a, scalar_like(b, a)); }
Tensor operator+(double a, const Tensor& b) { return add(scalar_like(a, b), b); }
Tensor operator-(double a, const Tensor& b) { return sub(scalar_like(a, b), b); }
Tensor operator*(double a, const Tensor& b) { return mul(scalar_like(a, b), b); }
Tensor operator/(double a, const Tensor& b) { return div(scalar_like(a, b), b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator<(const Tensor& a, double b) { return lt(a, scalar_like(b, a)); }
Tensor operator<=(const Tensor& a, double b) { return le(a, scalar_like(b, a)); }
Tensor operator>(const Tensor& a, double b) { return gt(a, scalar_like(b, a)); }
Tensor operator>=(const Tensor& a, double b) { return ge(a, scalar_like(b, a)); }
Tensor operator&&(const Tensor& a, const Tensor& b) { return logical_and(a, b); }
Tensor operator||(const Tensor& a, const Tensor& b) { return logical_or(a, b); }
Tensor operator!(const Tensor& a) { return logical_not(a); }

// ---- derived reductions ----------------------------------------------------------------------

namespace {

int64_t reduced_count(const Tensor& x, const Dims& dims, const char* op) {
  int64_t n = 1;
  for (int64_t d : wrap_dims(dims, x.dim(), op)) n *= x.shape()[d];
  return n;
}

}  // namespace

Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor xf = x.to(to_floating(x.dtype()));
  return sum(xf, dims, keepdim) / static_cast<double>(reduced_count(x, dims, "mean"));
}

Tensor var(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  Tensor xf = x.to(to_floating(x.dtype()));
  int64_t n = reduced_count(x, dims, "var");
  Tensor centered = xf - mean(xf, dims, true);
  return sum(centered * centered, dims, keepdim) / static_cast<double>(std::max<int64_t>(n - correction, 0));
}

Tensor std(const Tensor& x, const Dims& dims, int64_t correction, bool keepdim) {
  return sqrt(var(x, dims, correction, keepdim));
}

// log(sum(exp(x))) computed as m + log(sum(exp(x - m))) with m the (detached) maximum, so
// that large inputs do not overflow; rows that are all -inf give -inf.
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
  Tensor xf = x.to(to_floating(x.dtype()));
  Tensor m = amax(xf.detach(), dims, true);
  m = where(isfinite(m), m, 0.0);
  Tensor result = log(sum(exp(xf - m), dims, true)) + m;
  if (keepdim) return result;
  Dims shape;
  Dims wrapped = wrap_dims(dims, x.dim(), "logsumexp");
  for (int i = 0; i < x.dim(); ++i)
    if (std::find(wrapped.begin(), wrapped.end(), i) == wrapped.end()) shape.push_back(x.shape()[i]);
  return result.reshape(shape);
}

namespace {

// s^(1/p) for sums s >= 0, whose derivative is infinite at s = 0: there the result is 0 and
// its gradient 0 rather than 0·∞ = NaN (a norm of zeros has gradient 0, as in PyTorch: the
// subgradient of least norm). The root is taken of 1 where s = 0, so that no infinity
// enters the graph at all, and second derivatives stay finite too.
Tensor root_of_sum(const Tensor& s, double p) {
  Tensor zero = s <= 0.0;
  Tensor safe = masked_fill(s, zero, 1.0);
  return masked_fill(p == 2.0 ? sqrt(safe) : pow(safe, 1.0 / p), zero, 0.0);
}

}  // namespace

Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
  CTDL_CHECK(p > 0, "norm: p must be positive (or INFINITY), got ", p);
  Tensor xf = x.to(to_floating(x.dtype()));
  if (std::isinf(p)) return amax(abs(xf), dims, keepdim);
  if (p == 1.0) return sum(abs(xf), dims, keepdim);
  if (p == 2.0) return root_of_sum(sum(xf * xf, dims, keepdim), 2.0);
  return root_of_sum(sum(pow(abs(xf), p), dims, keepdim), p);
}

// ---- indexing composites ---------------------------------------------------------------------

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
  return where(mask, scalar_like(value, x), x);
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  CTDL_CHECK(labels.dtype() == DType::Int64, "one_hot: labels must be int64, got ", labels.dtype());
  if (num_classes < 0) num_classes = labels.numel() ? amax(labels).item<int64_t>() + 1 : 0;
  if (labels.numel()) {
    int64_t lo = amin(labels).item<int64_t>(), hi = amax(labels).item<int64_t>();
    CTDL_CHECK(lo >= 0 && hi < num_classes, "one_hot: labels must lie in [0, ", num_classes,
               "), got values from ", lo, " to ", hi);
  }
  Tensor classes = arange(0.0, static_cast<double>(num_classes), 1.0,
                          {.dtype = DType::Int64, .device = labels.device()});
  return eq(labels.unsqueeze(-1), classes).to(DType::Int64);
}

}  // namespace ctdl

// operator<< for tensors, in the style NumPy and PyTorch users know:
//
//   tensor([[ 1.0000, -2.5000],
//           [ 0.0000,  3.1416]], shape=[2, 2], dtype=float32, device=cpu, grad_fn=<mul>)
//
// Large tensors are summarized with "..." (three items at each end of every dimension).
#include <cmath>
#include <cstdio>
#include <string>

#include "ctdl/autograd/node.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

std::string format_value(double v, DType dtype, bool scientific) {
  char buf[64];
  if (dtype == DType::Bool) return v != 0 ? "true" : "false";
  if (dtype == DType::Int64) {
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
  } else if (std::isnan(v)) {
    return "nan";
  } else if (std::isinf(v)) {
    return v > 0 ? "inf" : "-inf";
  } else {
    std::snprintf(buf, sizeof buf, scientific ? "%.4e" : "%.4f", v);
  }
  return buf;
}

struct Printer {
  const std::vector<double>& values;
  const Dims& shape;
  DType dtype;
  bool summarize;
  bool scientific;
  size_t width = 0;

  // Element strides of the row-major data.
  Dims strides = contiguous_strides(shape);

  void print(std::ostream& out, int dim, int64_t base, int indent) const {
    if (dim == shape.size()) {
      std::string s = format_value(values[base], dtype, scientific);
      out << std::string(width - s.size(), ' ') << s;
      return;
    }
    out << '[';
    int64_t n = shape[dim];
    bool cut = summarize && n > 2 * kEdgeItems;
    for (int64_t i = 0; i < n; ++i) {
      if (cut && i == kEdgeItems) {
        out << (dim + 1 == shape.size() ? "..., " : "...,\n" + std::string(indent + 1, ' '));
        i = n - kEdgeItems;
      }
      print(out, dim + 1, base + i * strides[dim], indent + 1);
      if (i + 1 < n) {
        out << ',';
        if (dim + 1 == shape.size()) out << ' ';
        else out << std::string(shape.size() - dim - 1, '\n') << std::string(indent + 1, ' ');
      }
    }
    out << ']';
  }
};

}  // namespace

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
  if (!t.defined()) return out << "tensor(undefined)";
  std::vector<double> values = t.detach().to_vector<double>();
  bool summarize = t.numel() > kSummarizeAbove;
  double largest = 0, smallest = INFINITY;
  for (double v : values)
    if (std::isfinite(v) && v != 0) {
      largest = std::max(largest, std::abs(v));
      smallest = std::min(smallest, std::abs(v));
    }
  bool scientific = is_floating(t.dtype()) && (largest >= 1e8 || (smallest < 1e-4 && largest > 0));
  Printer printer{values, t.shape(), t.dtype(), summarize, scientific};
  for (double v : values) printer.width = std::max(printer.width, format_value(v, t.dtype(), scientific).size());
  out << "tensor(";
  printer.print(out, 0, 0, 7);
  out << ", shape=" << t.shape() << ", dtype=" << t.dtype() << ", device=" << t.device();
  if (t.grad_fn()) out << ", grad_fn=<" << t.grad_fn()->name() << ">";
  else if (t.requires_grad()) out << ", requires_grad=true";
  return out << ')';
}

}  // namespace ctdl

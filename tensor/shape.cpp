#include "ctdl/tensor/shape.h"

#include <array>
#include <utility>

namespace ctdl {

std::ostream& operator<<(std::ostream& out, const Dims& d) {
  out << '[';
  for (int i = 0; i < d.size(); ++i) out << (i ? ", " : "") << d[i];
  return out << ']';
}

int64_t numel(const Dims& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

Dims contiguous_strides(const Dims& shape) {
  Dims strides = Dims::filled(shape.size(), 1);
  for (int i = shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * std::max<int64_t>(shape[i + 1], 1);
  return strides;
}

bool elements_distinct(const Dims& shape, const Dims& strides) {
  // The dimensions of size > 1 as (|stride|, size), sorted by stride (insertion sort: at
  // most kMaxDims of them, and no heap for an op the autograd engine runs per gradient).
  std::array<std::pair<int64_t, int64_t>, Dims::kMaxDims> dims;
  int n = 0;
  for (int i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0) return true;
    if (shape[i] == 1) continue;
    std::pair<int64_t, int64_t> d{strides[i] < 0 ? -strides[i] : strides[i], shape[i]};
    int k = n++;
    for (; k > 0 && dims[k - 1].first > d.first; --k) dims[k] = dims[k - 1];
    dims[k] = d;
  }
  int64_t reach = 0;  // the largest offset the dimensions so far reach from the first element
  for (int k = 0; k < n; ++k) {
    if (dims[k].first <= reach) return false;
    reach += dims[k].first * (dims[k].second - 1);
  }
  return true;
}

int wrap_dim(int64_t dim, int ndim, const char* op) {
  int64_t lo = -std::max(ndim, 1), hi = std::max(ndim, 1) - 1;
  CTDL_CHECK(dim >= lo && dim <= hi, op, ": dimension ", dim, " out of range for a tensor of ",
             ndim, " dimensions (expected ", lo, " to ", hi, ")");
  return static_cast<int>(dim < 0 ? dim + std::max(ndim, 1) : dim);
}

Dims wrap_dims(const Dims& dims, int ndim, const char* op) {
  Dims out;
  if (dims.empty()) {
    for (int i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t d : dims) out.push_back(wrap_dim(d, ndim, op));
  std::sort(out.begin(), out.end());
  for (int i = 1; i < out.size(); ++i)
    CTDL_CHECK(out[i] != out[i - 1], op, ": dimension ", out[i], " appears twice in ", dims);
  return out;
}

Dims broadcast_shapes(const Dims& a, const Dims& b, const char* op) {
  int n = std::max(a.size(), b.size());
  Dims out = Dims::filled(n, 1);
  for (int i = 0; i < n; ++i) {
    int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    CTDL_CHECK(da == db || da == 1 || db == 1, op, ": shapes ", a, " and ", b,
               " cannot be broadcast together (dimension ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

Dims broadcast_strides(const Dims& shape, const Dims& strides, const Dims& target) {
  int n = target.size(), lead = target.size() - shape.size();
  Dims out = Dims::filled(n, 0);
  for (int i = lead; i < n; ++i)
    out[i] = (shape[i - lead] == 1 && target[i] != 1) ? 0 : strides[i - lead];
  return out;
}

}  // namespace ctdl

// Naive reference implementations for the op database: plain loops over host doubles, no
// strides, no cleverness, so that they are easy to trust.
#pragma once

#include <functional>
#include <vector>

#include "ctdl/ctdl.h"

namespace ctdl::reference {

using Index = std::vector<int64_t>;

// A dense row-major host array of doubles.
struct Host {
  Dims shape;
  std::vector<double> v;

  static Host of(const Tensor& t) { return {t.shape(), t.detach().to_vector<double>()}; }
  static Host zeros(const Dims& shape) { return {shape, std::vector<double>(numel(shape), 0.0)}; }
  int64_t flat(const Index& idx) const;
  double& at(const Index& idx) { return v[flat(idx)]; }
  double at(const Index& idx) const { return v[flat(idx)]; }
  Tensor to_tensor(DType dtype) const { return tensor(v, shape, {.dtype = dtype}); }
};

// Calls fn(index) for every index of `shape` in row-major order.
void for_each_index(const Dims& shape, const std::function<void(const Index&)>& fn);
// The index into an operand of `shape` that broadcasting maps `idx` (of the result) to.
Index broadcast_index(const Index& idx, const Dims& shape);

Host map(const Host& x, const std::function<double(double)>& f);
Host zip(const Host& a, const Host& b, const std::function<double(double, double)>& f);
Host where(const Host& c, const Host& a, const Host& b);
// Generic reduction over `dims` (empty = all): fold with `combine` from `init`, then `finish`.
Host reduce(const Host& x, const Dims& dims, bool keepdim, double init,
            const std::function<double(double, double)>& combine,
            const std::function<double(double, int64_t)>& finish = nullptr);
Host var(const Host& x, const Dims& dims, int64_t correction, bool keepdim);
Host arg_extreme(const Host& x, int dim, bool keepdim, bool max);
Host matmul(const Host& a, const Host& b);
Host permute(const Host& x, const Dims& order);
Host slice(const Host& x, int dim, int64_t start, int64_t end, int64_t step);
Host cat(const std::vector<Host>& xs, int dim);
Host index_select(const Host& x, int dim, const std::vector<int64_t>& index);
Host gather(const Host& x, int dim, const Host& index);
Host scatter_add(const Host& x, int dim, const Host& index, const Host& src);
Host pad(const Host& x, const std::vector<int64_t>& pads, PadMode mode, double value);
Host conv2d(const Host& x, const Host& w, const Host* bias, const Conv2dOptions& o);
Host pool2d(const Host& x, const Pool2dOptions& o, bool max);
Host softmax(const Host& x, int dim, bool log);

}  // namespace ctdl::reference

// Primitive index ops and cat. Each pair is the other's adjoint: index_select <->
// index_add, gather <-> scatter_add, cat <-> slices.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {

using autograd::record;
using autograd::Saved;
using autograd::SaveOutput;

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
  int d = wrap_dim(dim, x.dim(), "index_select");
  Tensor y = dispatch::index_select(x.dim() == 0 ? x.reshape({1}) : x, d, index);
  if (x.dim() == 0) y = y.reshape({});
  if (!autograd::needs_grad(x)) return y;
  Dims shape = x.shape();
  return record("index_select", y, {x}, {index}, SaveOutput::No, [=](const Tensor& g, const Saved& s) {
    return TensorList{index_add_zeros(shape, d, s[0], g)};
  });
}

Tensor index_add_zeros(const Dims& shape, int64_t dim, const Tensor& index, const Tensor& src) {
  int d = wrap_dim(dim, shape.size(), "index_add");
  Tensor y = dispatch::index_add_zeros(shape, d, index, src);
  if (!autograd::needs_grad(src)) return y;
  return record("index_add", y, {src}, {index}, SaveOutput::No, [=](const Tensor& g, const Saved& s) {
    return TensorList{index_select(g, d, s[0])};
  });
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
  int d = wrap_dim(dim, x.dim(), "gather");
  Tensor y = dispatch::gather(x, d, index);
  if (!autograd::needs_grad(x)) return y;
  return record("gather", y, {x}, {x, index}, SaveOutput::No, [=](const Tensor& g, const Saved& s) {
    return TensorList{scatter_add(zeros_like(s[0], g.dtype()), d, s[1], g)};
  });
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  int d = wrap_dim(dim, x.dim(), "scatter_add");
  CTDL_CHECK(index.shape() == src.shape(), "scatter_add: index shape ", index.shape(),
             " must equal src shape ", src.shape());
  Tensor y = dispatch::scatter_add(x, d, index, src);
  if (!autograd::needs_grad(x, src)) return y;
  return record("scatter_add", y, {x, src}, {index}, SaveOutput::No, [=](const Tensor& g, const Saved& s) {
    return TensorList{g, gather(g, d, s[0])};
  });
}

Tensor cat(const TensorList& tensors, int64_t dim) {
  CTDL_CHECK(!tensors.empty(), "cat: expected at least one tensor");
  const Tensor& first = tensors[0];
  int d = wrap_dim(dim, first.dim(), "cat");
  CTDL_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated");
  DType type = first.dtype();
  Dims shape = first.shape();
  int64_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    CTDL_CHECK(t.dim() == first.dim(), "cat: tensor ", i, " has shape ", t.shape(),
               " but tensor 0 has shape ", first.shape());
    CTDL_CHECK(t.device() == first.device(), "cat: tensor ", i, " is on ", t.device(),
               " but tensor 0 is on ", first.device());
    for (int k = 0; k < t.dim(); ++k)
      CTDL_CHECK(k == d || t.shape()[k] == shape[k], "cat: tensor ", i, " has shape ", t.shape(),
                 " but tensor 0 has shape ", first.shape(), " (they may differ only in dimension ", d, ")");
    type = promote_types(type, t.dtype());
    total += t.shape()[d];
  }
  shape[d] = total;
  Tensor y = dispatch::empty(shape, type, first.device());
  std::vector<int64_t> sizes;
  int64_t start = 0;
  for (const Tensor& t : tensors) {
    if (t.shape()[d]) dispatch::copy_into(y.narrow(d, start, t.shape()[d]), t);
    sizes.push_back(t.shape()[d]);
    start += t.shape()[d];
  }
  if (!autograd::needs_grad_list(tensors)) return y;
  return record("cat", y, tensors, {}, SaveOutput::No, [=](const Tensor& g, const Saved&) {
    return split(g, sizes, d);
  });
}

}  // namespace ctdl

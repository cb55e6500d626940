// Shape composites: stack, split, chunk, flip.
#include "ctdl/tensor/ops.h"

namespace ctdl {

Tensor stack(const TensorList& tensors, int64_t dim) {
  CTDL_CHECK(!tensors.empty(), "stack: expected at least one tensor");
  int d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
  TensorList expanded;
  for (size_t i = 0; i < tensors.size(); ++i) {
    CTDL_CHECK(tensors[i].shape() == tensors[0].shape(), "stack: tensor ", i, " has shape ",
               tensors[i].shape(), " but tensor 0 has shape ", tensors[0].shape());
    expanded.push_back(tensors[i].unsqueeze(d));
  }
  return cat(expanded, d);
}

TensorList split(const Tensor& x, int64_t size, int64_t dim) {
  CTDL_CHECK(size > 0, "split: size must be positive, got ", size);
  int d = wrap_dim(dim, x.dim(), "split");
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < x.shape()[d]; start += size)
    sizes.push_back(std::min(size, x.shape()[d] - start));
  if (sizes.empty()) sizes.push_back(0);
  return split(x, sizes, d);
}

TensorList split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
  int d = wrap_dim(dim, x.dim(), "split");
  int64_t total = 0;
  for (int64_t s : sizes) total += s;
  CTDL_CHECK(total == x.shape()[d], "split: sizes add up to ", total, " but dimension ", d,
             " has size ", x.shape()[d]);
  TensorList pieces;
  int64_t start = 0;
  for (int64_t s : sizes) {
    pieces.push_back(x.narrow(d, start, s));
    start += s;
  }
  return pieces;
}

TensorList chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  CTDL_CHECK(chunks > 0, "chunk: number of chunks must be positive, got ", chunks);
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "chunk")];
  return split(x, std::max<int64_t>((n + chunks - 1) / chunks, 1), dim);
}

Tensor flip(const Tensor& x, const Dims& dims) {
  Tensor out = x;
  for (int64_t d : wrap_dims(dims, x.dim(), "flip")) {
    int64_t n = x.shape()[d];
    Tensor reversed = arange(static_cast<double>(n - 1), -1.0, -1.0,
                             {.dtype = DType::Int64, .device = x.device()});
    out = index_select(out, d, reversed);
  }
  return out;
}

}  // namespace ctdl

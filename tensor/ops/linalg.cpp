// matmul: one primitive for batched products of matrices, and the NumPy rules for 1-D
// operands on top.
#include "ctdl/autograd/record.h"
#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

using autograd::record;
using autograd::Saved;
using autograd::SaveOutput;

Tensor batched_matmul(const Tensor& a, const Tensor& b);

// True when x is a transposed view of a row-major matrix (its last two dims swapped), as
// the weight of a Linear layer is in x · Wᵀ.
bool transposed_layout(const Tensor& x) {
  return x.dim() >= 2 && x.strides()[x.dim() - 2] == 1 && x.shape()[x.dim() - 1] > 1;
}

// p · q, laid out like `like`: for an operand stored transposed, the product is computed
// as (qᵀ · pᵀ)ᵀ, so that its gradient reaches the stored matrix contiguous (the optimizer's
// updates then run on contiguous memory instead of a strided walk).
Tensor product_like(const Tensor& p, const Tensor& q, const Tensor& like) {
  return transposed_layout(like) ? batched_matmul(q.mT(), p.mT()).mT() : batched_matmul(p, q);
}

// a [..., M, K] · b [..., K, N]; the engine sums broadcast batch dims out of the gradients.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::matmul(a, b);
  if (!autograd::needs_grad(a, b)) return y;
  return record("matmul", y, {a, b}, {a, b}, SaveOutput::No, [](const Tensor& g, const Saved& s) {
    const Tensor& a = s[0];
    const Tensor& b = s[1];
    return TensorList{a.requires_grad() ? product_like(g, b.mT(), a) : Tensor(),
                      b.requires_grad() ? product_like(a.mT(), g, b) : Tensor()};
  });
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  CTDL_CHECK(a.dim() >= 1 && b.dim() >= 1,
             "matmul: both operands need at least one dimension, got ", a.shape(), " and ",
             b.shape());
  bool vector_a = a.dim() == 1, vector_b = b.dim() == 1;
  Tensor a2 = vector_a ? a.unsqueeze(0) : a;
  Tensor b2 = vector_b ? b.unsqueeze(1) : b;
  Tensor y = batched_matmul(a2, b2);
  if (vector_b) y = y.squeeze(-1);
  if (vector_a) y = y.squeeze(vector_b ? -1 : -2);
  return y;
}

}  // namespace ctdl

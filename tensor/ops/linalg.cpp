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

int64_t batch_count(const Tensor& x) {
  int64_t count = 1;
  for (int d = 0; d + 2 < x.dim(); ++d) count *= x.shape()[d];
  return count;
}

// The matrices of a batch x [..., R, C] side by side, [R, B·C] (a copy whose inner runs are
// whole rows), or stacked, [B·R, C] (a view when x is contiguous).
Tensor side_by_side(const Tensor& x) {
  const int64_t b = batch_count(x), r = x.shape()[x.dim() - 2], c = x.shape()[x.dim() - 1];
  return x.reshape({b, r, c}).transpose(0, 1).reshape({r, b * c});
}
Tensor stacked(const Tensor& x) {
  return x.reshape({batch_count(x) * x.shape()[x.dim() - 2], x.shape()[x.dim() - 1]});
}
// The inverse of side_by_side: x [R, B·C] as a batch of `shape` [..., R, C], a view.
Tensor unside(const Tensor& x, const Dims& shape) {
  const int64_t r = x.shape()[0], c = shape.back(), b = x.shape()[1] / c;
  return x.reshape({r, b, c}).transpose(0, 1).reshape(shape);
}

// The gradients of an operand shared by every entry of the batch (a convolution's weight
// against its image columns, a Linear weight applied to 3-D input) are sums over the batch:
// Σ g_i · b_iᵀ and Σ a_iᵀ · g_i. Each is one product with the batch joined to the
// contraction, [M, B·N] · [B·N, K] and [K, B·M] · [B·M, N], instead of B small products and
// a sum over their results. Both factors are built from whole rows, never transposed copies.
// The other operand's gradient, aᵀ · g_i for each i, is one product too, with the batch
// joined to the columns: aᵀ · [g_1 ... g_B] (a convolution's [288, 64] · [64, 64·196]
// instead of 64 products of 196 columns, whose B came from memory afresh each time).
bool shared_operand(const Tensor& operand, const Tensor& g) {
  return batch_count(operand) == 1 && batch_count(g) > 1;
}

// a [..., M, K] · b [..., K, N]; the engine sums broadcast batch dims out of the gradients.
Tensor batched_matmul(const Tensor& a, const Tensor& b) {
  Tensor y = dispatch::matmul(a, b);
  if (!autograd::needs_grad(a, b)) return y;
  return record("matmul", y, {a, b}, {a, b}, SaveOutput::No, [](const Tensor& g, const Saved& s) {
    const Tensor& a = s[0];
    const Tensor& b = s[1];
    // The operands broadcast to the batch of g, so that both factors of a gradient have it.
    Dims batch(g.shape().begin(), g.shape().end() - 2);
    auto widened = [&batch](const Tensor& x) {
      Dims shape = batch;
      shape.push_back(x.shape()[x.dim() - 2]);
      shape.push_back(x.shape()[x.dim() - 1]);
      return x.dim() == static_cast<int>(shape.size()) && x.shape() == shape ? x : x.expand(shape);
    };
    Tensor grad_a, grad_b;
    Tensor g_side = shared_operand(a, g) ? side_by_side(g) : Tensor();
    if (a.requires_grad())
      grad_a = g_side.defined()
                   ? product_like(g_side, side_by_side(widened(b)).mT(), a).reshape(a.shape())
                   : product_like(g, b.mT(), a);
    if (b.requires_grad())
      grad_b = shared_operand(b, g)
                   ? product_like(stacked(widened(a)).mT(), stacked(g), b).reshape(b.shape())
               : g_side.defined()
                   ? unside(product_like(stacked(a).mT(), g_side, b), widened(b).shape())
                   : product_like(a.mT(), g, b);
    return TensorList{grad_a, grad_b};
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

#include "ctdl/nn/losses.h"

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace {

Tensor reduce(const Tensor& loss, Reduction reduction) {
  switch (reduction) {
    case Reduction::Mean:
      return loss.mean();
    case Reduction::Sum:
      return loss.sum();
    case Reduction::None:
      return loss;
  }
  return loss;
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op) {
  CTDL_CHECK(a.shape() == b.shape(), op, ": input ", a.shape(), " and target ", b.shape(),
             " must have the same shape");
}

// Checks class targets against [N, C, d...] scores and returns them as [N, 1, d...] indices.
Tensor class_index(const Tensor& scores, const Tensor& target, const char* op) {
  CTDL_CHECK(scores.dim() >= 2, op, ": expected scores [N, C, ...], got ", scores.shape());
  CTDL_CHECK(target.dtype() == DType::Int64, op, ": targets must be int64 class indices, got ",
             target.dtype());
  Dims expected = scores.shape();
  expected.erase(1);
  CTDL_CHECK(target.shape() == expected, op, ": targets of shape ", target.shape(),
             " do not match "
             "scores ",
             scores.shape(), " (expected ", expected, ")");
  const int64_t classes = scores.shape()[1];
  if (target.numel() > 0) {
    int64_t lo = target.min().item<int64_t>(), hi = target.max().item<int64_t>();
    CTDL_CHECK(lo >= 0 && hi < classes, op, ": class indices must be in [0, ", classes,
               "), got values "
               "from ",
               lo, " to ", hi);
  }
  return target.unsqueeze(1);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
  check_same_shape(input, target, "mse_loss");
  return reduce(square(input - target), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, double delta, Reduction reduction) {
  check_same_shape(input, target, "huber_loss");
  CTDL_CHECK(delta > 0, "huber_loss: delta must be positive, got ", delta);
  Tensor d = input - target, a = abs(d);
  return reduce(where(a < delta, square(d) * 0.5, (a - 0.5 * delta) * delta), reduction);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, Reduction reduction) {
  Tensor index = class_index(log_probs, target, "nll_loss");
  return reduce(-gather(log_probs, 1, index).squeeze(1), reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions o) {
  CTDL_CHECK(o.label_smoothing >= 0.0 && o.label_smoothing <= 1.0,
             "cross_entropy: label_smoothing "
             "must be in [0, 1], got ",
             o.label_smoothing);
  Tensor index = class_index(logits, target, "cross_entropy");
  Tensor log_p = log_softmax(logits, 1);
  Tensor loss = -gather(log_p, 1, index).squeeze(1);
  if (o.label_smoothing > 0.0)
    loss = loss * (1.0 - o.label_smoothing) - log_p.mean({1}) * o.label_smoothing;
  return reduce(loss, o.reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction, const Tensor& pos_weight) {
  check_same_shape(logits, target, "binary_cross_entropy_with_logits");
  // -log σ(x) = softplus(-x) and -log(1 - σ(x)) = softplus(x).
  Tensor positive = softplus(-logits), negative = softplus(logits);
  if (pos_weight.defined()) positive = positive * pos_weight;
  return reduce(target * positive + (1.0 - target) * negative, reduction);
}

int64_t count_correct(const Tensor& logits, const Tensor& target) {
  autograd::NoGradGuard no_grad;
  class_index(logits, target, "accuracy");
  return eq(argmax(logits, 1), target).to(DType::Int64).sum().item<int64_t>();
}

double accuracy(const Tensor& logits, const Tensor& target) {
  return target.numel() ? static_cast<double>(count_correct(logits, target)) / target.numel() : 0.0;
}

}  // namespace ctdl::nn

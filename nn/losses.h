// Loss functions. Each reduces to a mean over the batch unless told otherwise.
//
//   Tensor logits = net(x);                                  // [N, C]
//   Tensor loss = nn::cross_entropy(logits, labels);         // labels: int64 [N]
//   Tensor smooth = nn::cross_entropy(logits, labels, {.label_smoothing = 0.1});
//   Tensor l2 = nn::mse_loss(prediction, target);
//   Tensor bce = nn::binary_cross_entropy_with_logits(scores, targets01);
//   double acc = nn::accuracy(logits, labels);               // fraction of argmax hits
//
// cross_entropy is computed from log_softmax (never log(softmax)), and the BCE from
// softplus, so large logits neither overflow nor lose precision.
#pragma once

#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

enum class Reduction { Mean, Sum, None };

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::Mean);

// Quadratic below delta, linear above: 0.5·d² if |d| < delta, else delta·(|d| - delta/2).
Tensor huber_loss(const Tensor& input, const Tensor& target, double delta = 1.0,
                  Reduction reduction = Reduction::Mean);

// Negative log-likelihood of class `target` under log-probabilities `log_probs` [N, C] (or
// [N, C, d...] with targets [N, d...]).
Tensor nll_loss(const Tensor& log_probs, const Tensor& target,
                Reduction reduction = Reduction::Mean);

struct CrossEntropyOptions {
  // With smoothing ε the target is (1 - ε)·one_hot + ε/C: loss = (1 - ε)·nll + ε·mean_c(-log p_c).
  double label_smoothing = 0.0;
  Reduction reduction = Reduction::Mean;
};
// logits [N, C] (or [N, C, d...]); target: int64 class indices [N] (or [N, d...]).
Tensor cross_entropy(const Tensor& logits, const Tensor& target, CrossEntropyOptions options = {});

// -[y·log σ(x) + (1 - y)·log(1 - σ(x))], computed as softplus(x) - y·x; pos_weight (optional,
// broadcast against the input) weighs the positive term.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target,
                                        Reduction reduction = Reduction::Mean,
                                        const Tensor& pos_weight = {});

// Fraction of rows whose argmax over dim 1 equals the target (no gradient).
double accuracy(const Tensor& logits, const Tensor& target);
// The number of such rows.
int64_t count_correct(const Tensor& logits, const Tensor& target);

}  // namespace ctdl::nn

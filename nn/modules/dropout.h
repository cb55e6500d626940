// Dropout: zeroes each element with probability p while training, scaling the others by
// 1/(1 - p); the identity in evaluation mode.
//
//   nn::Dropout drop(0.2);
//   Tensor y = drop(x);      // random mask from default_generator() (seeded by manual_seed)
//   drop.eval();
//   Tensor z = drop(x);      // z is x
#pragma once

#include "ctdl/nn/functional.h"
#include "ctdl/nn/module.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

class Dropout : public Module {
 public:
  explicit Dropout(double p = 0.5, Generator* generator = nullptr)
      : Module("Dropout"), p_(p), generator_(generator) {
    CTDL_CHECK(p >= 0.0 && p < 1.0, "Dropout: the probability must be in [0, 1), got ", p);
  }
  Tensor operator()(const Tensor& x) const {
    return functional::dropout(x, p_, is_training(), generator_);
  }
  double p() const { return p_; }

 private:
  double p_;
  Generator* generator_;  // null: default_generator()
};

}  // namespace ctdl::nn

// The paper's MNIST network (TRADES' SmallCNN, as in the YOPO code): conv 1→32, conv 32→32,
// max-pool, conv 32→64, conv 64→64, max-pool (all 3×3, no padding, ReLU), then fc 1024→200,
// dropout, fc 200→200, fc 200→10.
//
//   SmallCnn net;                       // 28×28 inputs in [0, 1]
//   Tensor logits = net(images);        // [N, 10]
//   LayerOneSplit split = split_at_layer_one(net);   // layer one: conv1 + ReLU
//
// Initialization as in the paper's code: Kaiming-normal convolutions with zero biases, the
// default for fc1 and fc2, and a zero last layer.
#pragma once

#include "ctdl/nn/nn.h"

namespace ctdl::examples::yopo {

class SmallCnn : public nn::Module {
 public:
  explicit SmallCnn(double dropout = 0.5);

  // YOPO's marked first layer, and everything after it.
  Tensor layer_one(const Tensor& x) const { return relu(conv1(x)); }
  Tensor rest(const Tensor& z) const;
  TensorList layer_one_parameters() const { return conv1.parameters(); }

  Tensor operator()(const Tensor& x) const { return rest(layer_one(x)); }

  nn::Conv2d conv1, conv2, conv3, conv4;
  nn::Linear fc1, fc2, fc3;
  nn::Dropout drop;
  nn::MaxPool2d pool{2};
};

}  // namespace ctdl::examples::yopo

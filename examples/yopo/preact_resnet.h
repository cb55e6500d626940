// PreAct-ResNet18 (He, Zhang, Ren & Sun, "Identity Mappings in Deep Residual Networks", 2016),
// the network of the YOPO paper's CIFAR-10 experiments, as in the authors' code: a 3×3
// convolution (no bias), four stages of two pre-activation basic blocks (width, 2·width,
// 4·width, 8·width channels; the first block of stages 2–4 halves H and W), global average
// pooling and a linear layer.
//
//   PreActResNet18 net;                           // [N, 3, 32, 32] in [0, 1] -> [N, 10]
//   Tensor logits = net(images);
//   LayerOneSplit split = split_at_layer_one(net);   // layer one: the first convolution
//   PreActResNet18 narrow({.width = 16});         // a quarter of the channels (CPU smoke tests)
//
// A block is BN-ReLU-conv3×3-BN-ReLU-conv3×3 plus a shortcut: the identity, or a 1×1
// convolution of the block's first BN-ReLU output where the shape changes. As in the
// authors' network (and unlike He et al.'s, which ends in BN-ReLU), the last block's output
// goes to the pooling directly. No input normalization: the attacks' [0, 1] box is the
// pixels' own. Initialization is PyTorch's default, as in the authors' code.
//
// YOPO's layer one is the first convolution alone (linear: its input gradient through a
// frozen costate does not depend on the point, so YOPO's n cheap steps share one direction
// up to the projection).
#pragma once

#include "ctdl/nn/nn.h"

namespace ctdl::examples::yopo {

struct PreActResNetOptions {
  int64_t width = 64;  // channels of the first stage (the paper's: 64)
  int64_t classes = 10;
  int64_t in_channels = 3;
};

class PreActBlock : public nn::Module {
 public:
  PreActBlock(int64_t in, int64_t out, int64_t stride);
  Tensor operator()(const Tensor& x) const;

  nn::BatchNorm2d bn1, bn2;
  nn::Conv2d conv1, conv2;
  nn::ModuleList<nn::Conv2d> shortcut;  // empty (identity) or one 1×1 convolution
};

class PreActResNet18 : public nn::Module {
 public:
  explicit PreActResNet18(PreActResNetOptions options = {});

  // YOPO's marked first layer, and everything after it.
  Tensor layer_one(const Tensor& x) const { return conv1(x); }
  Tensor rest(const Tensor& z) const;
  TensorList layer_one_parameters() const { return conv1.parameters(); }

  Tensor operator()(const Tensor& x) const { return rest(layer_one(x)); }

  nn::Conv2d conv1;
  nn::ModuleList<PreActBlock> layer1, layer2, layer3, layer4;
  nn::Linear fc;
};

}  // namespace ctdl::examples::yopo

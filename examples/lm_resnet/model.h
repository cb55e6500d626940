// LM-ResNet (Lu, Zhong, Li & Dong, "Beyond Finite Layer Neural Networks: Bridging Deep
// Architectures and Numerical Differential Equations", ICML 2018) and the ResNet it is
// compared with.
//
// A ResNet step x_{n+1} = x_n + f_n(x_n) is forward Euler for dx/dt = f(x). The paper's
// LM-architecture is a linear two-step method instead, with a learned coefficient k_n:
//
//   x_{n+1} = (1 − k_n)·x_{n−1} + k_n·x_n + f_n(x_n)
//
// (k_n = 1 is the ResNet step; the paper writes the same family with k_n ↦ 1 − k_n). Here k_n
// is one number per channel, started uniformly in [−0.1, 0] as in the authors' public code.
// The first block of the network, and every block that changes the resolution, is a
// ResNet step (there is no x_{n−1} of the right shape for it); after a downsampling block the
// "previous state" is the downsampled shortcut.
//
// Stochastic depth (Huang et al. 2016, the paper's LM-ResNet with stochastic depth): in
// training, block n's f_n is dropped with probability d_n (rising linearly from 0 to
// 1 − survival_last over the blocks) and scaled by 1/(1 − d_n) when kept; at test time every
// f_n is used as is.
//
//   LmResNet net({.in_channels = 1, .stages = {4}, .channels = {16}, .stem_stride = 2});
//   Tensor logits = net(randn({8, 1, 28, 28}));        // [8, 10]
//   LmResNet resnet({..., .lm = false});                // the same network with ResNet steps
//
// Blocks are pre-activation basic blocks (BN, ReLU, 3×3 conv, BN, ReLU, 3×3 conv) as in the
// authors' code; downsampling shortcuts are BN, ReLU, 1×1 conv with stride 2.
#pragma once

#include <optional>
#include <vector>

#include "ctdl/nn/nn.h"

namespace ctdl::examples::lm_resnet {

// One LM step: f + k·x + (1 − k)·x_prev (k broadcast over x).
Tensor lm_step(const Tensor& x, const Tensor& x_prev, const Tensor& f, const Tensor& k);

struct LmResNetOptions {
  int64_t in_channels = 1;
  int64_t classes = 10;
  std::vector<int64_t> stages = {4};     // blocks per stage
  std::vector<int64_t> channels = {16};  // channels per stage (each later stage halves H, W)
  int64_t stem_stride = 1;               // the first 3×3 conv's stride
  bool lm = true;                        // false: a plain ResNet of the same depth and width
  bool stochastic_depth = false;
  double survival_last = 0.5;  // the last block's survival probability (p_L)
  double k_low = -0.1, k_high = 0.0;
  std::optional<DType> dtype;
  Device device = Device::cpu();
};

class BasicBlock : public nn::Module {
 public:
  BasicBlock(int64_t in, int64_t out, int64_t stride, const LmResNetOptions& o);
  Tensor operator()(const Tensor& x) const;  // f(x), without the shortcut
  int64_t stride() const { return stride_; }

  nn::BatchNorm2d bn1, bn2;
  nn::Conv2d conv1, conv2;

 private:
  int64_t stride_;
};

// BN, ReLU, 1×1 conv: the shortcut of a block that changes the shape.
class Downsample : public nn::Module {
 public:
  Downsample(int64_t in, int64_t out, int64_t stride, const LmResNetOptions& o);
  Tensor operator()(const Tensor& x) const { return conv(relu(bn(x))); }
  nn::BatchNorm2d bn;
  nn::Conv2d conv;
};

class LmResNet : public nn::Module {
 public:
  explicit LmResNet(LmResNetOptions options);
  Tensor operator()(const Tensor& x) const;

  int64_t num_blocks() const { return static_cast<int64_t>(blocks.size()); }
  // The k of block n (undefined for ResNet steps and for the plain ResNet).
  Tensor k(int64_t n) const { return ks_[static_cast<size_t>(n)]; }
  // Every learned k, flattened, in block order (for the report).
  std::vector<double> k_values() const;
  // The probability that block n is dropped in training (0 without stochastic depth).
  double death_rate(int64_t n) const;
  const LmResNetOptions& options() const { return o_; }

  nn::Conv2d stem;
  nn::ModuleList<BasicBlock> blocks;
  nn::ModuleList<Downsample> downsamples;  // one per block that changes the shape
  nn::BatchNorm2d bn;
  nn::Linear fc;

 private:
  LmResNetOptions o_;
  std::vector<Tensor> ks_;              // per block; undefined where the step is a ResNet step
  std::vector<int64_t> downsample_of_;  // per block: index into downsamples, or -1
};

}  // namespace ctdl::examples::lm_resnet

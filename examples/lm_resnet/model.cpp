#include "model.h"

#include "ctdl/tensor/error.h"

namespace ctdl::examples::lm_resnet {

Tensor lm_step(const Tensor& x, const Tensor& x_prev, const Tensor& f, const Tensor& k) {
  Tensor combined = k * x + (1.0 - k) * x_prev;
  return f.defined() ? f + combined : combined;
}

namespace {

nn::ConvOptions conv_options(int64_t stride, int64_t padding, const LmResNetOptions& o) {
  return {
      .stride = stride, .padding = padding, .bias = false, .dtype = o.dtype, .device = o.device};
}

nn::BatchNormOptions bn_options(const LmResNetOptions& o) {
  return {.dtype = o.dtype, .device = o.device};
}

// The authors' initialization: He-normal over the fan-out.
nn::Conv2d he_conv(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding,
                   const LmResNetOptions& o) {
  nn::Conv2d conv(in, out, k, conv_options(stride, padding, o));
  nn::init::kaiming_normal_(conv.weight, {.mode = nn::init::FanMode::FanOut,
                                          .nonlinearity = nn::init::Nonlinearity::ReLU});
  return conv;
}

}  // namespace

BasicBlock::BasicBlock(int64_t in, int64_t out, int64_t stride, const LmResNetOptions& o)
    : nn::Module("BasicBlock"),
      bn1(register_module("bn1", nn::BatchNorm2d(in, bn_options(o)))),
      bn2(register_module("bn2", nn::BatchNorm2d(out, bn_options(o)))),
      conv1(register_module("conv1", he_conv(in, out, 3, stride, 1, o))),
      conv2(register_module("conv2", he_conv(out, out, 3, 1, 1, o))),
      stride_(stride) {}

Tensor BasicBlock::operator()(const Tensor& x) const {
  return conv2(relu(bn2(conv1(relu(bn1(x))))));
}

Downsample::Downsample(int64_t in, int64_t out, int64_t stride, const LmResNetOptions& o)
    : nn::Module("Downsample"),
      bn(register_module("bn", nn::BatchNorm2d(in, bn_options(o)))),
      conv(register_module("conv", he_conv(in, out, 1, stride, 0, o))) {}

LmResNet::LmResNet(LmResNetOptions options)
    : nn::Module("LmResNet"),
      stem(register_module("stem", he_conv(options.in_channels, options.channels.at(0), 3,
                                           options.stem_stride, 1, options))),
      blocks(register_module("blocks", nn::ModuleList<BasicBlock>())),
      downsamples(register_module("downsamples", nn::ModuleList<Downsample>())),
      bn(register_module("bn", nn::BatchNorm2d(options.channels.back(), bn_options(options)))),
      fc(register_module("fc", nn::Linear(options.channels.back(), options.classes,
                                          {.dtype = options.dtype, .device = options.device}))),
      o_(std::move(options)) {
  CTDL_CHECK(!o_.stages.empty() && o_.stages.size() == o_.channels.size(),
             "LmResNet: stages and channels must be non-empty lists of one length, got ",
             o_.stages.size(), " and ", o_.channels.size());
  int64_t in = o_.channels[0];
  for (size_t s = 0; s < o_.stages.size(); ++s) {
    const int64_t out = o_.channels[s], stride = s == 0 ? 1 : 2;
    for (int64_t j = 0; j < o_.stages[s]; ++j) {
      const int64_t block_stride = j == 0 ? stride : 1;
      blocks.push_back(BasicBlock(in, out, block_stride, o_));
      const bool reshapes = block_stride != 1 || in != out;
      downsample_of_.push_back(reshapes ? static_cast<int64_t>(downsamples.size()) : -1);
      if (reshapes) downsamples.push_back(Downsample(in, out, block_stride, o_));
      in = out;
    }
  }
  // The k_n are drawn after every other parameter, so that an LM-ResNet and a ResNet built
  // from the same seed start with the same weights. An LM step needs x_{n−1} of x_n's shape:
  // not for the first block or a reshaping one.
  for (int64_t n = 0; n < num_blocks(); ++n) {
    Tensor k;
    if (o_.lm && n > 0 && downsample_of_[static_cast<size_t>(n)] < 0) {
      const int64_t c = blocks[static_cast<size_t>(n)].conv2.weight.size(0);
      TensorOptions t{.dtype = o_.dtype.value_or(DType::Float32), .device = o_.device};
      k = register_parameter("k" + std::to_string(n),
                             rand({1, c, 1, 1}, t) * (o_.k_high - o_.k_low) + o_.k_low);
    }
    ks_.push_back(k);
  }
}

double LmResNet::death_rate(int64_t n) const {
  const int64_t N = num_blocks();
  if (!o_.stochastic_depth || N < 2) return 0.0;
  return static_cast<double>(n) / static_cast<double>(N - 1) * (1.0 - o_.survival_last);
}

Tensor LmResNet::operator()(const Tensor& input) const {
  Tensor x = stem(input), prev;
  const bool training = is_training();
  for (int64_t n = 0; n < num_blocks(); ++n) {
    const int64_t ds = downsample_of_[static_cast<size_t>(n)];
    Tensor shortcut = ds >= 0 ? downsamples[static_cast<size_t>(ds)](x) : x;
    // f_n(x_n), or nothing when stochastic depth drops the block in this batch.
    Tensor f;
    const double d = death_rate(n);
    if (!training || d == 0.0)
      f = blocks[static_cast<size_t>(n)](x);
    else if (rand({1}).item<double>() >= d)
      f = blocks[static_cast<size_t>(n)](x) / (1.0 - d);
    const Tensor& k = ks_[static_cast<size_t>(n)];
    Tensor next;
    if (k.defined())
      next = lm_step(shortcut, prev, f, k);
    else
      next = f.defined() ? shortcut + f : shortcut;
    prev = shortcut;
    x = next;
  }
  x = relu(bn(x));
  return fc(mean(x, {2, 3}));
}

std::vector<double> LmResNet::k_values() const {
  std::vector<double> all;
  for (const Tensor& k : ks_)
    if (k.defined()) {
      std::vector<double> v = k.to_vector<double>();
      all.insert(all.end(), v.begin(), v.end());
    }
  return all;
}

}  // namespace ctdl::examples::lm_resnet

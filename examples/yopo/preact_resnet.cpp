#include "ctdl/examples/yopo/preact_resnet.h"

#include "ctdl/tensor/error.h"

namespace ctdl::examples::yopo {
namespace {

nn::Conv2d conv(int64_t in, int64_t out, int64_t k, int64_t stride) {
  return nn::Conv2d(in, out, k, {.stride = stride, .padding = k / 2, .bias = false});
}

}  // namespace

PreActBlock::PreActBlock(int64_t in, int64_t out, int64_t stride)
    : Module("PreActBlock"),
      bn1(register_module("bn1", nn::BatchNorm2d(in))),
      bn2(register_module("bn2", nn::BatchNorm2d(out))),
      conv1(register_module("conv1", conv(in, out, 3, stride))),
      conv2(register_module("conv2", conv(out, out, 3, 1))),
      shortcut(register_module("shortcut", nn::ModuleList<nn::Conv2d>())) {
  if (stride != 1 || in != out) shortcut.push_back(conv(in, out, 1, stride));
}

Tensor PreActBlock::operator()(const Tensor& x) const {
  Tensor a = relu(bn1(x));
  // The projection shortcut sees the pre-activated input, the identity the raw one.
  Tensor skip = shortcut.size() > 0 ? shortcut[0](a) : x;
  return conv2(relu(bn2(conv1(a)))) + skip;
}

PreActResNet18::PreActResNet18(PreActResNetOptions o)
    : Module("PreActResNet18"),
      conv1(register_module("conv1", conv(o.in_channels, o.width, 3, 1))),
      layer1(register_module("layer1", nn::ModuleList<PreActBlock>())),
      layer2(register_module("layer2", nn::ModuleList<PreActBlock>())),
      layer3(register_module("layer3", nn::ModuleList<PreActBlock>())),
      layer4(register_module("layer4", nn::ModuleList<PreActBlock>())),
      fc(register_module("fc", nn::Linear(8 * o.width, o.classes))) {
  CTDL_CHECK(o.width >= 1 && o.classes >= 1 && o.in_channels >= 1,
             "PreActResNet18: width, classes and in_channels must be positive, got ", o.width, ", ",
             o.classes, ", ", o.in_channels);
  int64_t in = o.width;
  int64_t stage = 0;
  for (nn::ModuleList<PreActBlock>* layer : {&layer1, &layer2, &layer3, &layer4}) {
    const int64_t out = o.width << stage;
    layer->push_back(PreActBlock(in, out, stage == 0 ? 1 : 2));
    layer->push_back(PreActBlock(out, out, 1));
    in = out;
    ++stage;
  }
}

Tensor PreActResNet18::rest(const Tensor& z) const {
  Tensor h = z;
  for (const nn::ModuleList<PreActBlock>* layer : {&layer1, &layer2, &layer3, &layer4})
    for (const PreActBlock& block : *layer) h = block(h);
  return fc(mean(h, {2, 3}));  // global average pooling: [N, 8·width]
}

}  // namespace ctdl::examples::yopo

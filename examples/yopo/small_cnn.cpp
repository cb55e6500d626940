#include "ctdl/examples/yopo/small_cnn.h"

namespace ctdl::examples::yopo {

SmallCnn::SmallCnn(double dropout)
    : Module("SmallCnn"),
      conv1(register_module("conv1", nn::Conv2d(1, 32, 3))),
      conv2(register_module("conv2", nn::Conv2d(32, 32, 3))),
      conv3(register_module("conv3", nn::Conv2d(32, 64, 3))),
      conv4(register_module("conv4", nn::Conv2d(64, 64, 3))),
      fc1(register_module("fc1", nn::Linear(64 * 4 * 4, 200))),
      fc2(register_module("fc2", nn::Linear(200, 200))),
      fc3(register_module("fc3", nn::Linear(200, 10))),
      drop(register_module("drop", nn::Dropout(dropout))) {
  for (nn::Conv2d* conv : {&conv1, &conv2, &conv3, &conv4}) {
    nn::init::kaiming_normal_(conv->weight, {.nonlinearity = nn::init::Nonlinearity::ReLU});
    nn::init::zeros_(conv->bias);
  }
  nn::init::zeros_(fc3.weight);
  nn::init::zeros_(fc3.bias);
}

Tensor SmallCnn::rest(const Tensor& z) const {
  Tensor h = pool(relu(conv2(z)));  // [N, 32, 12, 12]
  h = pool(relu(conv4(relu(conv3(h)))));  // [N, 64, 4, 4]
  h = drop(relu(fc1(h.flatten(1))));
  return fc3(relu(fc2(h)));
}

}  // namespace ctdl::examples::yopo

// Per-example transforms for images [C, H, W], applied by the DataLoader as it loads.
//
//   namespace T = nn::data::transforms;
//   nn::data::DataLoader loader(train, {
//       .batch_size = 128, .shuffle = true, .seed = 1,
//       .transform = T::compose({T::random_crop(32, 4), T::random_horizontal_flip(),
//                                T::normalize({0.49, 0.48, 0.45}, {0.25, 0.24, 0.26})})});
//
// A transform gets the example's input and a generator of its own, seeded from (loader
// seed, epoch, example index): an example's augmentation does not depend on the batch it
// lands in, the thread that loads it or whether the run was resumed.
#pragma once

#include <functional>
#include <vector>

#include "ctdl/tensor/random.h"
#include "ctdl/tensor/tensor.h"

namespace ctdl::nn::data {

using Transform = std::function<Tensor(const Tensor& input, Generator& generator)>;

// A uniform integer in [low, high) from `generator` (advances it by one draw).
int64_t random_int(Generator& generator, int64_t low, int64_t high);
// A uniform double in [0, 1).
double random_uniform(Generator& generator);

namespace transforms {

// Applies the transforms in order.
Transform compose(std::vector<Transform> transforms);
// (x - mean[c]) / std[c] per channel; one value each applies to every channel.
Transform normalize(std::vector<double> mean, std::vector<double> std);
// Pads by `padding` on every side with `fill`, then crops a random size×size window.
Transform random_crop(int64_t size, int64_t padding = 0, double fill = 0.0);
// Mirrors left-right with probability p.
Transform random_horizontal_flip(double p = 0.5);
// RGB [3, H, W] to luminance [1, H, W] with the ITU-R BT.601 weights (0.299, 0.587, 0.114);
// a one-channel input passes through.
Transform to_grayscale();

}  // namespace transforms
}  // namespace ctdl::nn::data

// The denoising data: grayscale CIFAR-10 images, random crops, Gaussian noise.
//
//   Tensor train = load_gray_images(dir + "/cifar10-train-jpg.tar.gz", 3000);  // [3000, 1, 32, 32]
//   Tensor clean = random_crops(train, 32, 24);                     // [32, 1, 24, 24]
//   Tensor sigma = uniform_sigmas(32, 15, 50);                      // [32], 0–255 scale
//   Tensor noisy = add_noise(clean, sigma);                         // clean + σ/255 · N(0, 1)
//
// Noise is added to images in [0, 1] and not clipped (the usual synthetic-denoising setup).
// Everything random comes from default_generator() unless a generator is given.
#pragma once

#include <string>

#include "ctdl/tensor/ops.h"
#include "ctdl/tensor/random.h"

namespace ctdl::examples::durr {

// `count` images of an ImageFolder archive or folder, evenly spaced over it (so every class
// is there), decoded to grayscale (stb_image's integer BT.601 luminance,
// (77 R + 150 G + 29 B) / 256): [count, 1, H, W] in [0, 1].
// count <= 0 or more than there are: all of them.
Tensor load_gray_images(const std::string& path, int64_t count);

// `batch` images drawn at random, each cropped to size × size at a random place and mirrored
// left-right with probability 1/2.
Tensor random_crops(const Tensor& images, int64_t batch, int64_t size);

// σ for each of n images, uniform in [lo, hi].
Tensor uniform_sigmas(int64_t n, double lo, double hi, Generator* generator = nullptr);

// clean + σ_i/255 · N(0, 1), σ [N] (or a one-element tensor for every image).
Tensor add_noise(const Tensor& clean, const Tensor& sigma, Generator* generator = nullptr);

}  // namespace ctdl::examples::durr

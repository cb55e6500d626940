#include "data.h"

#include <algorithm>

#include "ctdl/nn/data/image_folder.h"

namespace ctdl::examples::durr {

Tensor load_gray_images(const std::string& path, int64_t count) {
  nn::data::ImageFolder folder(path, {.channels = 1});
  const int64_t n = folder.size();
  CTDL_CHECK(n > 0, "durr: no images in ", path);
  if (count <= 0 || count > n) count = n;
  TensorList images;
  images.reserve(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) images.push_back(folder.get(i * n / count).input);
  return stack(images);
}

Tensor random_crops(const Tensor& images, int64_t batch, int64_t size) {
  const int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  CTDL_CHECK(size <= h && size <= w, "durr: crop ", size, " is larger than the images (", h, "x",
             w, ")");
  std::vector<int64_t> pick = randint(0, n, {batch}).to_vector<int64_t>();
  std::vector<int64_t> top = randint(0, h - size + 1, {batch}).to_vector<int64_t>();
  std::vector<int64_t> left = randint(0, w - size + 1, {batch}).to_vector<int64_t>();
  std::vector<int64_t> mirror = randint(0, 2, {batch}).to_vector<int64_t>();
  TensorList crops;
  for (size_t b = 0; b < static_cast<size_t>(batch); ++b) {
    Tensor c = images.select(0, pick[b]).narrow(1, top[b], size).narrow(2, left[b], size);
    crops.push_back(mirror[b] ? flip(c, {2}) : c);
  }
  return stack(crops);
}

Tensor uniform_sigmas(int64_t n, double lo, double hi, Generator* generator) {
  return rand({n}, {}, generator) * (hi - lo) + lo;
}

Tensor add_noise(const Tensor& clean, const Tensor& sigma, Generator* generator) {
  Tensor s = sigma.numel() == 1 ? sigma.reshape({1, 1, 1, 1}) : sigma.reshape({-1, 1, 1, 1});
  return clean + randn_like(clean, generator) * (s / 255.0);
}

}  // namespace ctdl::examples::durr

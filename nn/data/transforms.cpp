#include "ctdl/nn/data/transforms.h"

#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

int64_t random_int(Generator& generator, int64_t low, int64_t high) {
  CTDL_CHECK(low < high, "random_int: empty range [", low, ", ", high, ")");
  return philox::integer(generator.seed(), generator.reserve(1), low, high);
}

double random_uniform(Generator& generator) {
  return philox::uniform(generator.seed(), generator.reserve(1));
}

namespace transforms {

namespace {

void check_image(const Tensor& x, const char* op) {
  CTDL_CHECK(x.dim() == 3, op, ": expected an image [C, H, W], got shape ", x.shape());
}

}  // namespace

Transform compose(std::vector<Transform> transforms) {
  return [transforms = std::move(transforms)](const Tensor& x, Generator& gen) {
    Tensor y = x;
    for (const Transform& t : transforms) y = t(y, gen);
    return y;
  };
}

Transform normalize(std::vector<double> mean, std::vector<double> std) {
  CTDL_CHECK(!mean.empty() && mean.size() == std.size(),
             "normalize: need as many means as standard "
             "deviations (one, or one per channel), got ",
             mean.size(), " and ", std.size());
  for (double s : std)
    CTDL_CHECK(s > 0, "normalize: standard deviations must be positive, got ", s);
  return [mean = std::move(mean), std = std::move(std)](const Tensor& x, Generator&) {
    check_image(x, "normalize");
    int64_t c = x.shape()[0], n = static_cast<int64_t>(mean.size());
    CTDL_CHECK(n == 1 || n == c, "normalize: ", n, " means for an image with ", c, " channels");
    Tensor m = tensor(mean, {n, 1, 1}, {.dtype = x.dtype(), .device = x.device()});
    Tensor s = tensor(std, {n, 1, 1}, {.dtype = x.dtype(), .device = x.device()});
    return (x - m) / s;
  };
}

Transform random_crop(int64_t size, int64_t padding, double fill) {
  CTDL_CHECK(size > 0 && padding >= 0, "random_crop: need size > 0 and padding >= 0, got ", size,
             " and ", padding);
  return [=](const Tensor& x, Generator& gen) {
    check_image(x, "random_crop");
    Tensor padded =
        padding ? pad(x, {padding, padding, padding, padding}, PadMode::Constant, fill) : x;
    int64_t h = padded.shape()[1], w = padded.shape()[2];
    CTDL_CHECK(h >= size && w >= size, "random_crop: a ", size, "x", size, " crop does not fit in ",
               x.shape(), " padded by ", padding);
    int64_t top = random_int(gen, 0, h - size + 1), left = random_int(gen, 0, w - size + 1);
    return padded.narrow(1, top, size).narrow(2, left, size).contiguous();
  };
}

Transform random_horizontal_flip(double p) {
  return [=](const Tensor& x, Generator& gen) {
    check_image(x, "random_horizontal_flip");
    return random_uniform(gen) < p ? flip(x, {2}) : x;
  };
}

Transform to_grayscale() {
  return [](const Tensor& x, Generator&) {
    check_image(x, "to_grayscale");
    if (x.shape()[0] == 1) return x;
    CTDL_CHECK(x.shape()[0] == 3, "to_grayscale: expected 1 or 3 channels, got ", x.shape());
    return x.select(0, 0).unsqueeze(0) * 0.299 + x.select(0, 1).unsqueeze(0) * 0.587 +
           x.select(0, 2).unsqueeze(0) * 0.114;
  };
}

}  // namespace transforms
}  // namespace ctdl::nn::data

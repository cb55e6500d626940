// stb_image is compiled here, privately (STB_IMAGE_STATIC): ctdl needs no stb library at link
// time, and a program that also uses stb gets no duplicate symbols.
#include "ctdl/nn/data/image.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  // we read files ourselves and hand stb the bytes with their length
#define STBI_ONLY_JPEG
#define STBI_ONLY_PNG
#define STBI_ONLY_BMP
#define STBI_MAX_DIMENSIONS (1 << 16)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO  // the bytes go through nn::AtomicFile
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

#include <climits>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/data/files.h"
#include "ctdl/nn/io/atomic_file.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int channels,
                    uint64_t offset) {
  CTDL_CHECK(channels == 1 || channels == 3 || channels == 4,
             "decode_image: channels must be 1, 3 or 4, got ", channels);
  CTDL_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), "decode_image: ", name,
             " is too large (", bytes.size(), " bytes)");
  int w = 0, h = 0, file_channels = 0;
  stbi_uc* pixels = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h,
                                          &file_channels, channels);
  CTDL_CHECK(pixels != nullptr, "decode_image: cannot decode ", name,
             offset ? str(" (at offset ", offset, ")") : "", ": ", stbi_failure_reason(), " (",
             bytes.size(), " bytes; JPEG, PNG and BMP are supported)");
  Tensor out = empty({channels, h, w}, {.dtype = DType::Float32});
  float* p = out.data<float>();
  const int64_t plane = static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < plane; ++i)  // interleaved HWC bytes -> planar CHW floats
    for (int c = 0; c < channels; ++c) p[c * plane + i] = pixels[i * channels + c] / 255.0f;
  stbi_image_free(pixels);
  return out;
}

Tensor read_image(const std::string& path, int channels) {
  std::vector<uint8_t> bytes = read_file(path);
  return decode_image(bytes, path, channels);
}

void write_png(const std::string& path, const Tensor& image) {
  CTDL_CHECK(image.dim() == 3 && (image.size(0) == 1 || image.size(0) == 3 || image.size(0) == 4),
             "write_png: expected an image [C, H, W] with 1, 3 or 4 channels, got ", image.shape());
  autograd::NoGradGuard no_grad;
  const int c = static_cast<int>(image.size(0)), h = static_cast<int>(image.size(1)),
            w = static_cast<int>(image.size(2));
  std::vector<double> v = clamp(image, 0.0, 1.0).to_vector<double>();
  std::vector<uint8_t> pixels(v.size());
  const int64_t plane = static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < plane; ++i)  // planar CHW doubles -> interleaved HWC bytes
    for (int k = 0; k < c; ++k)
      pixels[i * c + k] = static_cast<uint8_t>(std::lround(v[k * plane + i] * 255.0));
  std::string bytes;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), size);
  };
  CTDL_CHECK(stbi_write_png_to_func(append, &bytes, w, h, c, pixels.data(), w * c) != 0,
             "write_png: encoding ", path, " failed");
  nn::write_file_atomically(path, bytes);
}

}  // namespace ctdl::nn::data

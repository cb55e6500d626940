// stb_image is compiled here, privately (STB_IMAGE_STATIC): ctdl needs no stb library at link
// time, and a program that also uses stb gets no duplicate symbols.
#include "ctdl/nn/data/image.h"

#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO        // we read files ourselves and hand stb the bytes with their length
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
#pragma GCC diagnostic pop

#include <climits>

#include "ctdl/nn/data/files.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn::data {

Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int channels, uint64_t offset) {
  CTDL_CHECK(channels == 1 || channels == 3 || channels == 4, "decode_image: channels must be 1, 3 or 4, got ",
             channels);
  CTDL_CHECK(bytes.size() <= static_cast<size_t>(INT_MAX), "decode_image: ", name, " is too large (",
             bytes.size(), " bytes)");
  int w = 0, h = 0, file_channels = 0;
  stbi_uc* pixels = stbi_load_from_memory(bytes.data(), static_cast<int>(bytes.size()), &w, &h, &file_channels,
                                          channels);
  CTDL_CHECK(pixels != nullptr, "decode_image: cannot decode ", name, offset ? str(" (at offset ", offset, ")") : "",
             ": ", stbi_failure_reason(), " (", bytes.size(), " bytes; JPEG, PNG and BMP are supported)");
  Tensor out = empty({channels, h, w}, {.dtype = DType::Float32});
  float* p = out.data<float>();
  const int64_t plane = static_cast<int64_t>(h) * w;
  for (int64_t i = 0; i < plane; ++i)       // interleaved HWC bytes -> planar CHW floats
    for (int c = 0; c < channels; ++c) p[c * plane + i] = pixels[i * channels + c] / 255.0f;
  stbi_image_free(pixels);
  return out;
}

Tensor read_image(const std::string& path, int channels) {
  std::vector<uint8_t> bytes = read_file(path);
  return decode_image(bytes, path, channels);
}

}  // namespace ctdl::nn::data

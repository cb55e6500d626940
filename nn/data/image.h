// Decoding images (JPEG, PNG, BMP) into tensors, through stb_image (Debian's libstb-dev).
//
//   Tensor rgb = nn::data::decode_image(bytes, "cat.jpg");          // float32 [3, H, W] in [0, 1]
//   Tensor gray = nn::data::decode_image(bytes, "cat.jpg", 1);      // [1, H, W]
//   Tensor img = nn::data::read_image("digit.png");
//   nn::data::write_png("restored.png", clamp(img, 0.0, 1.0));     // [1 or 3, H, W] in [0, 1]
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "ctdl/tensor/tensor.h"

namespace ctdl::nn::data {

// `channels` is 1 (gray), 3 (RGB) or 4 (RGBA); images are converted to it. `name` and
// `offset` (where the bytes sit in their file) are reported when decoding fails.
Tensor decode_image(std::span<const uint8_t> bytes, const std::string& name, int channels = 3,
                    uint64_t offset = 0);
Tensor read_image(const std::string& path, int channels = 3);
// Writes an image [C, H, W] (C = 1, 3 or 4) with values in [0, 1] (clamped) as a PNG file,
// atomically.
void write_png(const std::string& path, const Tensor& image);

}  // namespace ctdl::nn::data

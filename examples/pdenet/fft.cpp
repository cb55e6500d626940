#include "fft.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>
#include <utility>

namespace ctdl::examples::pdenet {

Fft1d::Fft1d(int64_t n) : n_(n), reversed_(n), twiddles_(n / 2) {
  if (n < 1 || (n & (n - 1)) != 0)
    throw std::invalid_argument("Fft1d: size must be a power of two, got " + std::to_string(n));
  int64_t bits = 0;
  while ((int64_t{1} << bits) < n) ++bits;
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = 0;
    for (int64_t b = 0; b < bits; ++b) r |= ((i >> b) & 1) << (bits - 1 - b);
    reversed_[i] = r;
  }
  for (int64_t k = 0; k < n / 2; ++k)
    twiddles_[k] = std::polar(1.0, -2.0 * std::numbers::pi * k / n);
}

void Fft1d::transform(Complex* data, int64_t stride, int sign) const {
  for (int64_t i = 0; i < n_; ++i)
    if (i < reversed_[i]) std::swap(data[i * stride], data[reversed_[i] * stride]);
  for (int64_t len = 2; len <= n_; len <<= 1) {
    const int64_t half = len / 2, step = n_ / len;
    for (int64_t start = 0; start < n_; start += len)
      for (int64_t k = 0; k < half; ++k) {
        Complex w = twiddles_[k * step];
        if (sign > 0) w = std::conj(w);
        Complex& a = data[(start + k) * stride];
        Complex& b = data[(start + k + half) * stride];
        Complex t = w * b;
        b = a - t;
        a += t;
      }
  }
}

Fft2d::Fft2d(int64_t n) : fft_(n) {}

void Fft2d::both(std::vector<Complex>& a, int sign) const {
  const int64_t n = fft_.size();
  if (static_cast<int64_t>(a.size()) != n * n)
    throw std::invalid_argument("Fft2d: expected " + std::to_string(n * n) + " values, got " +
                                std::to_string(a.size()));
  // Rows, then columns as rows of the transpose: strided power-of-two access thrashes caches.
  auto transpose = [&] {
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = i + 1; j < n; ++j) std::swap(a[i * n + j], a[j * n + i]);
  };
  for (int64_t i = 0; i < n; ++i) fft_.transform(a.data() + i * n, 1, sign);
  transpose();
  for (int64_t i = 0; i < n; ++i) fft_.transform(a.data() + i * n, 1, sign);
  transpose();
}

void Fft2d::forward(std::vector<Complex>& a) const { both(a, -1); }

void Fft2d::inverse(std::vector<Complex>& a) const {
  both(a, +1);
  const double s = 1.0 / static_cast<double>(a.size());
  for (Complex& v : a) v *= s;
}

}  // namespace ctdl::examples::pdenet

// A small radix-2 FFT for the data generator's pseudo-spectral solver.
//
//   pdenet::Fft2d fft(64);                         // 64×64, row-major
//   std::vector<pdenet::Complex> a(64 * 64, 0.0);  // ... fill ...
//   fft.forward(a);                                // a[k] = Σ_j a[j] e^{−2πi j·k/n}
//   fft.inverse(a);                                // back, divided by n²
//
// Why our own: the solver needs only power-of-two periodic grids, which an iterative radix-2
// transform handles in a page; Debian has no pocketfft package and FFTW (libfftw3-dev, GPL)
// would add a dependency for the examples alone. Observations on grids of any size (50×50)
// are taken by evaluating the Fourier series there, not by transforms of that size.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

namespace ctdl::examples::pdenet {

using Complex = std::complex<double>;

class Fft1d {
 public:
  explicit Fft1d(int64_t n);  // n a power of two
  int64_t size() const { return n_; }
  // In place over n values spaced `stride` apart; sign −1 forward, +1 inverse (unscaled).
  void transform(Complex* data, int64_t stride, int sign) const;

 private:
  int64_t n_;
  std::vector<int64_t> reversed_;
  std::vector<Complex> twiddles_;  // e^{−2πi k/n}, k < n/2
};

class Fft2d {
 public:
  explicit Fft2d(int64_t n);
  int64_t size() const { return fft_.size(); }
  void forward(std::vector<Complex>& a) const;
  void inverse(std::vector<Complex>& a) const;  // includes the 1/n² factor

 private:
  void both(std::vector<Complex>& a, int sign) const;
  Fft1d fft_;
};

}  // namespace ctdl::examples::pdenet

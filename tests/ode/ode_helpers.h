// Problems with known solutions and small utilities shared by the ode test suites.
#pragma once

#include <cmath>

#include "ctdl/ode/ode.h"
#include "helpers.h"

namespace ctdl::testing {

inline const TensorOptions kF64{.dtype = DType::Float64};

// Kepler's problem with eccentricity e, started at pericenter (semi-major axis 1, μ = 1):
// nonlinear, separable, with the exact solution from Kepler's equation E - e sin E = t.
struct KeplerOrbit {
  double e = 0.3;

  Tensor z0() const { return exact(0.0); }
  Tensor exact(double t) const {
    double E = t;
    for (int i = 0; i < 50; ++i) E -= (E - e * std::sin(E) - t) / (1 - e * std::cos(E));
    double b = std::sqrt(1 - e * e), r = 1 - e * std::cos(E);
    return tensor({std::cos(E) - e, b * std::sin(E), -std::sin(E) / r, b * std::cos(E) / r}, kF64)
        .reshape({1, 4});
  }
  static Tensor f(double, const Tensor& z) {
    Tensor q = z.narrow(-1, 0, 2), p = z.narrow(-1, 2, 2);
    return cat({p, -q * pow((q * q).sum({-1}, true), -1.5)}, -1);
  }
};

// Least-squares slope of log(error) against log(h).
inline double loglog_slope(const std::vector<double>& h, const std::vector<double>& err) {
  double n = h.size(), sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (size_t i = 0; i < h.size(); ++i) {
    double x = std::log(h[i]), y = std::log(err[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
  }
  return (n * sxy - sx * sy) / (n * sxx - sx * sx);
}

// ‖a - b‖ / ‖b‖ over lists of tensors.
inline double relative_error(const TensorList& a, const TensorList& b) {
  double num = 0, den = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    num += square(a[i].to(DType::Float64) - b[i].to(DType::Float64)).sum().item();
    den += square(b[i].to(DType::Float64)).sum().item();
  }
  return std::sqrt(num / den);
}

}  // namespace ctdl::testing

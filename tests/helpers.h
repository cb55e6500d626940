// Small helpers shared by the test suites.
#pragma once

#include <catch2/catch.hpp>
#include <cmath>
#include <filesystem>
#include <string>

#include "ctdl/ctdl.h"

namespace ctdl::testing {

// Largest |a - b| - rtol * |b| over all elements (<= atol means "close").
inline bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8) {
  if (a.shape() != b.shape()) return false;
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  for (size_t i = 0; i < va.size(); ++i) {
    if (std::isnan(va[i]) && std::isnan(vb[i])) continue;
    if (std::isinf(vb[i]) && va[i] == vb[i]) continue;
    if (!(std::abs(va[i] - vb[i]) <= atol + rtol * std::abs(vb[i]))) return false;
  }
  return true;
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  std::vector<double> va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::abs(va[i] - vb[i]));
  return m;
}

// The shared data folder (../shared/data beside the checkout), or "" if it is absent.
inline std::string shared_data_dir(const std::string& sub) {
  std::filesystem::path p = std::filesystem::path(CTDL_SHARED_DIR) / "data" / sub;
  return std::filesystem::exists(p) ? p.string() : std::string();
}

}  // namespace ctdl::testing

// Checks that `expr` throws a ctdl::Error whose message contains every given fragment.
#define CHECK_THROWS_WITH_ALL(expr, ...)                                              \
  do {                                                                                \
    bool threw_ = false;                                                              \
    try {                                                                             \
      (void)(expr);                                                                   \
    } catch (const ctdl::Error& e_) {                                                 \
      threw_ = true;                                                                  \
      std::string what_ = e_.what();                                                  \
      for (const char* fragment_ : {__VA_ARGS__}) {                                   \
        INFO("message: " << what_);                                                   \
        CHECK(what_.find(fragment_) != std::string::npos);                            \
      }                                                                               \
    }                                                                                 \
    CHECK(threw_);                                                                    \
  } while (false)

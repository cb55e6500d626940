// Element types and the rules for mixing them.
//
//   DType t = promote_types(DType::Float32, DType::Int64);   // Float32
//   std::cout << t;                                          // "float32"
//
// Promotion rules (the same as NumPy's and PyTorch's for these four types):
//   * the result of a binary op has the "larger" of the two types in the order
//     bool < int64 < float32 < float64;
//   * a plain C++ number (a "scalar", as in `x * 2.0`) never widens a tensor of the same
//     kind: float32 * 2.0 is float32, int64 + 3 is int64; a floating scalar meets an
//     integer or bool tensor as float32 (the default floating type);
//   * comparisons return bool, argmax/argmin return int64, and ops that only make sense on
//     floating types (exp, log, mean, ...) promote integer and bool inputs to float32.
#pragma once

#include <cstdint>
#include <ostream>

namespace ctdl {

enum class DType : uint8_t { Bool, Int64, Float32, Float64 };

constexpr DType kDefaultFloat = DType::Float32;

inline constexpr int64_t element_size(DType t) {
  switch (t) {
    case DType::Bool: return 1;
    case DType::Int64: return 8;
    case DType::Float32: return 4;
    case DType::Float64: return 8;
  }
  return 0;
}

inline constexpr bool is_floating(DType t) { return t == DType::Float32 || t == DType::Float64; }

const char* dtype_name(DType t);
std::ostream& operator<<(std::ostream& out, DType t);

// The type of `a op b` for two tensors.
DType promote_types(DType a, DType b);
// The type of `tensor op scalar`; `scalar_is_integral` is true for `x + 3`, false for `x + 3.0`.
DType promote_with_scalar(DType tensor, bool scalar_is_integral);
// The floating type an op such as exp or mean computes in.
inline DType to_floating(DType t) { return is_floating(t) ? t : kDefaultFloat; }

// The C++ type for a DType, and back.
template <DType T> struct CppType;
template <> struct CppType<DType::Bool> { using type = bool; };
template <> struct CppType<DType::Int64> { using type = int64_t; };
template <> struct CppType<DType::Float32> { using type = float; };
template <> struct CppType<DType::Float64> { using type = double; };

template <class T> constexpr DType dtype_of();
template <> constexpr DType dtype_of<bool>() { return DType::Bool; }
template <> constexpr DType dtype_of<int64_t>() { return DType::Int64; }
template <> constexpr DType dtype_of<float>() { return DType::Float32; }
template <> constexpr DType dtype_of<double>() { return DType::Float64; }

}  // namespace ctdl

// Calls BODY with `scalar_t` bound to the C++ type of DTYPE. Used by kernels.
#define CTDL_DISPATCH_ALL(DTYPE, NAME, ...)                                         \
  [&] {                                                                             \
    switch (DTYPE) {                                                                \
      case ::ctdl::DType::Bool: { using scalar_t = bool; return __VA_ARGS__(); }    \
      case ::ctdl::DType::Int64: { using scalar_t = int64_t; return __VA_ARGS__(); } \
      case ::ctdl::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); } \
      case ::ctdl::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); } \
    }                                                                               \
    ::ctdl::fail(NAME, ": unsupported dtype ", DTYPE);                              \
  }()

#define CTDL_DISPATCH_FLOATING(DTYPE, NAME, ...)                                    \
  [&] {                                                                             \
    switch (DTYPE) {                                                                \
      case ::ctdl::DType::Float32: { using scalar_t = float; return __VA_ARGS__(); } \
      case ::ctdl::DType::Float64: { using scalar_t = double; return __VA_ARGS__(); } \
      default: break;                                                               \
    }                                                                               \
    ::ctdl::fail(NAME, ": expected a floating dtype (float32 or float64), got ", DTYPE); \
  }()

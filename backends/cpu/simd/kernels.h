// The CPU backend's SIMD kernels over contiguous runs of float32 and float64.
//
//   // out[i] = a[i] + b (b broadcast), on the active instruction set:
//   with_simd_arch([&](auto arch) {
//     simd::binary<decltype(arch), float>(BinaryOp::Add, out, a, 1, &b, 0, n);
//   });
//
// Each kernel handles one run of n elements; strides are 1 (contiguous) or 0 (one value
// broadcast along the run). The loops over shapes, strides and threads that cut a tensor
// into such runs live in backends/cpu/*.cpp.
//
// Every element is computed by the same vector code, tails included (the last partial
// vector goes through a small buffer), so an element's result does not depend on where
// a thread's chunk happens to start.
//
// The templates are defined in kernels_impl.h and instantiated per instruction set in
// kernels_sse2.cpp, kernels_avx2.cpp and kernels_avx512.cpp (see simd/arch.h for why).
#pragma once

#include <cstdint>

#include "ctdl/backends/backend.h"

namespace ctdl::cpu::simd {

// Throws for an op a kernel was not written for. Defined outside the per-instruction-set
// files, like everything they call that is not a template on the architecture.
[[noreturn]] void no_simd_kernel(const char* kernel, int op);

// out[i] = op(in[i]) for the floating unary ops (not the bool-valued ones).
template <class Arch, class T>
void unary(UnaryOp op, T* out, const T* in, int64_t n, const UnaryParams& params);

// out[i] = op(a[i * sa], b[i * sb]) for Add ... Minimum; sa, sb in {0, 1}.
template <class Arch, class T>
void binary(BinaryOp op, T* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n);

// out[i] = a[i * sa] OP b[i * sb] for the comparisons Eq ... Ge.
template <class Arch, class T>
void compare(BinaryOp op, bool* out, const T* a, int64_t sa, const T* b, int64_t sb, int64_t n);

// out[i] = cond[i * sc] ? a[i * sa] : b[i * sb].
template <class Arch, class T>
void where(T* out, const bool* cond, int64_t sc, const T* a, int64_t sa, const T* b, int64_t sb,
           int64_t n);

// out[i] = sum_k coeffs[k] * terms[k][i * strides[k]]: axpby and Runge–Kutta stage sums.
template <class Arch, class T>
void linear_combination(T* out, const T* const* terms, const int64_t* strides, const double* coeffs,
                        int count, int64_t n);

// out[i] = act(x[i] + bias[i * sb]).
template <class Arch, class T>
void bias_activation(Activation act, T* out, const T* x, const T* bias, int64_t sb, int64_t n);

// out[r, j] = act(x[r, j] + bias[j]) for a row-major [rows, cols] x and out: a layer's
// output, a row per sample. One call for all the rows: a [512, 64] hidden layer cut into
// runs of 64 paid a dispatch per row, a quarter of what tanh costs.
template <class Arch, class T>
void bias_activation_rows(Activation act, T* out, const T* x, const T* bias, int64_t rows,
                          int64_t cols);

// The reduction of in[0, n): sums and products in blocks of T, the blocks combined in
// double; max and min exact, NaN if any element is NaN.
template <class Arch, class T>
double reduce(ReduceOp op, const T* in, int64_t n);

// acc[j] = acc[j] OP (reduction over r < rows of in[r * row_stride + j]) for j < cols, with
// the same blocking as reduce(): for sums over the leading dims of a row-major tensor.
template <class Arch, class T>
void reduce_columns(ReduceOp op, double* acc, const T* in, int64_t rows, int64_t row_stride,
                    int64_t cols);

}  // namespace ctdl::cpu::simd

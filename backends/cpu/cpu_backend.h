// The CPU backend: host memory and the CPU kernels (backends/cpu/*.cpp).
#pragma once

#include "ctdl/backends/backend.h"

namespace ctdl::cpu {

// Host memory through the cache of freed blocks (memory.cpp), 64-byte aligned: what
// CpuBackend::allocate hands out, also for scratch that is not a tensor (the GEMM's packed
// panels and copies). Free with the same byte count.
void* host_allocate(size_t nbytes);
void host_deallocate(void* ptr, size_t nbytes);

class CpuBackend : public Backend {
 public:
  const char* name() const override { return "cpu"; }
  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;

  void copy(const KernelTensor& out, const KernelTensor& in) override;
  void fill(const KernelTensor& out, double value) override;
  void unary(UnaryOp op, const KernelTensor& out, const KernelTensor& in,
             const UnaryParams& params) override;
  void binary(BinaryOp op, const KernelTensor& out, const KernelTensor& a,
              const KernelTensor& b) override;
  void where(const KernelTensor& out, const KernelTensor& cond, const KernelTensor& a,
             const KernelTensor& b) override;
  void linear_combination(const KernelTensor& out, const KernelTensor* terms, const double* coeffs,
                          int count) override;
  void bias_activation(Activation act, const KernelTensor& out, const KernelTensor& in,
                       const KernelTensor& bias) override;
  void reduce(ReduceOp op, const KernelTensor& out, const KernelTensor& in, int reduced_dims) override;
  void arg_reduce(ArgReduceOp op, const KernelTensor& out, const KernelTensor& in) override;
  void matmul(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) override;
  void index_select(const KernelTensor& out, const KernelTensor& in, int dim,
                    const KernelTensor& index) override;
  void index_add(const KernelTensor& out, int dim, const KernelTensor& index,
                 const KernelTensor& src) override;
  void gather(const KernelTensor& out, const KernelTensor& in, int dim,
              const KernelTensor& index) override;
  void scatter_add(const KernelTensor& out, int dim, const KernelTensor& index,
                   const KernelTensor& src) override;
  void unfold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) override;
  void fold(const KernelTensor& out, const KernelTensor& in, const WindowGeometry& g) override;
  void max_pool2d(const KernelTensor& out, const KernelTensor& indices, const KernelTensor& in,
                  const WindowGeometry& g) override;
  bool mlp(const MlpArgs& net, const KernelTensor& out, const KernelTensor& in,
           const KernelTensor& kept) override;
  Dims mlp_kept_shape(const MlpArgs& net, DType dtype, int64_t rows) override;
  bool mlp_backward(const MlpArgs& net, const KernelTensor& grad_in,
                    const KernelTensor* grad_weights, const KernelTensor* grad_biases,
                    const KernelTensor& grad_out, const KernelTensor& in,
                    const KernelTensor& kept) override;
  void random(RandomKind kind, const KernelTensor& out, uint64_t seed, uint64_t offset, double a,
              double b) override;
};

}  // namespace ctdl::cpu

// The CUDA backend: device memory and the CUDA kernels (backends/cuda/*.cu). One instance
// per device; every method makes its device current and queues work on the calling
// thread's current stream of that device (cuda.h). Copies to the host wait for that stream;
// nothing else does.
#pragma once

#include "ctdl/backends/backend.h"

namespace ctdl::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device) : device_(device) {}
  const char* name() const override { return "cuda"; }
  int device() const { return device_; }

  void* allocate(size_t nbytes) override;
  void deallocate(void* ptr, size_t nbytes) override;
  void copy_from_host(void* dst, const void* src, size_t nbytes) override;
  void copy_to_host(void* dst, const void* src, size_t nbytes) override;
  void synchronize() override;

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
  void random(RandomKind kind, const KernelTensor& out, uint64_t seed, uint64_t offset, double a,
              double b) override;

 private:
  int device_;
};

// The backend of device `index` (checked against the device count).
Backend& backend(int index);
int device_count();

}  // namespace ctdl::cuda

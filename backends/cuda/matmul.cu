// Batched matrix products through cuBLAS (float32 and float64, like the CPU's gemm).
//
// cuBLAS is column-major, and a row-major matrix is the column-major layout of its
// transpose, so C = A·B is asked for as C^T = B^T·A^T: each operand is passed as it lies,
// with the transpose flag saying whether it lies row- or column-major (a transposed view
// needs no copy). An operand that is neither (a slice with a column stride, a matrix
// broadcast within itself) is first copied compact. Batch dims go to one strided-batched
// call when each operand's batch is a single stride (0 included: a broadcast weight);
// otherwise the outer batch dims become a short host loop of calls, or, when that loop
// would be long, the offending operands are copied whole.
#include <algorithm>
#include <vector>

#include "ctdl/backends/cuda/common.cuh"
#include "ctdl/backends/cuda/cuda_backend.h"

namespace ctdl::cuda {
namespace {

// A host loop of more cuBLAS calls than this costs more than copying the operands.
inline constexpr int64_t kMaxCalls = 16;

// How cuBLAS reads the transpose of a row-major matrix [rows, cols] with the given strides:
// as it lies (row-major memory is its transpose, column-major, op N) or transposed (the
// memory is column-major, op T). Strides of dims of size 1 are free to choose.
struct BlasLayout {
  bool ok = false;
  cublasOperation_t op = CUBLAS_OP_N;
  int64_t ld = 1;
};

BlasLayout blas_layout(int64_t rows, int64_t cols, int64_t row_stride, int64_t col_stride) {
  const bool one_row = rows == 1, one_col = cols == 1;
  if ((one_col || col_stride == 1) && (one_row || row_stride >= std::max<int64_t>(cols, 1)))
    return {true, CUBLAS_OP_N, one_row ? std::max<int64_t>(cols, 1) : row_stride};
  if ((one_row || row_stride == 1) && (one_col || col_stride >= std::max<int64_t>(rows, 1)))
    return {true, CUBLAS_OP_T, one_col ? std::max<int64_t>(rows, 1) : col_stride};
  return {};
}

BlasLayout blas_layout(const KernelTensor& t) {
  const int nd = static_cast<int>(t.shape.size());
  return blas_layout(t.shape[nd - 2], t.shape[nd - 1], t.strides[nd - 2], t.strides[nd - 1]);
}

void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int64_t m,
          int64_t n, int64_t k, const float* a, int64_t lda, int64_t stride_a, const float* b,
          int64_t ldb, int64_t stride_b, float* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  const float one = 1, zero = 0;
  CTDL_CUBLAS_CHECK(cublasSgemmStridedBatched_64(handle, op_a, op_b, m, n, k, &one, a, lda,
                                                 stride_a, b, ldb, stride_b, &zero, c, ldc,
                                                 stride_c, batch));
}

void gemm(cublasHandle_t handle, cublasOperation_t op_a, cublasOperation_t op_b, int64_t m,
          int64_t n, int64_t k, const double* a, int64_t lda, int64_t stride_a, const double* b,
          int64_t ldb, int64_t stride_b, double* c, int64_t ldc, int64_t stride_c, int64_t batch) {
  const double one = 1, zero = 0;
  CTDL_CUBLAS_CHECK(cublasDgemmStridedBatched_64(handle, op_a, op_b, m, n, k, &one, a, lda,
                                                 stride_a, b, ldb, stride_b, &zero, c, ldc,
                                                 stride_c, batch));
}

// Device memory taken for copies, given back when the products are queued (the memory
// cache is stream-ordered, so the blocks are not reused before the products have run).
class Scratch {
 public:
  explicit Scratch(Backend& backend) : backend_(backend) {}
  ~Scratch() {
    for (auto [ptr, bytes] : blocks_) backend_.deallocate(ptr, bytes);
  }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;

  // A fresh contiguous tensor of `shape`.
  KernelTensor take(const Dims& shape, DType dtype) {
    KernelTensor t;
    t.dtype = dtype;
    t.shape = shape;
    t.strides = contiguous_strides(shape);
    const size_t bytes = std::max<size_t>(1, numel(shape) * element_size(dtype));
    t.data = backend_.allocate(bytes);
    blocks_.push_back({t.data, bytes});
    return t;
  }

 private:
  Backend& backend_;
  std::vector<std::pair<void*, size_t>> blocks_;
};

// A contiguous copy of `t`. With keep_broadcast, batch dims of stride 0 stay broadcast
// (copied once, stride 0 again) rather than repeated.
KernelTensor compact_copy(Backend& backend, Scratch& scratch, const KernelTensor& t,
                          bool keep_broadcast) {
  const int nd = static_cast<int>(t.shape.size());
  KernelTensor source = t;
  for (int d = 0; d < nd - 2; ++d)
    if (keep_broadcast && t.strides[d] == 0) source.shape[d] = 1;
  KernelTensor copy = scratch.take(source.shape, t.dtype);
  backend.copy(copy, source);
  copy.shape = t.shape;
  for (int d = 0; d < nd - 2; ++d)
    if (source.shape[d] != t.shape[d]) copy.strides[d] = 0;
  return copy;
}

// Whether stepping through batch dims `outer` then `inner` (both of size > 1) is one stride
// in `t`.
bool one_stride(const KernelTensor& t, int outer, int inner) {
  return t.strides[outer] == t.strides[inner] * t.shape[inner];
}

// The batch dims of size > 1, split at `first_batched`: dims before it are looped over on
// the host, dims from it on are one strided batch in all three operands.
struct BatchSplit {
  std::vector<int> dims;
  size_t first_batched = 0;
  int64_t calls = 1;
};

BatchSplit split_batch(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) {
  BatchSplit split;
  const int batch_dims = static_cast<int>(out.shape.size()) - 2;
  for (int d = 0; d < batch_dims; ++d)
    if (out.shape[d] != 1) split.dims.push_back(d);
  split.first_batched = split.dims.size();
  if (split.dims.empty()) return split;
  split.first_batched = split.dims.size() - 1;
  while (split.first_batched > 0) {
    const int outer = split.dims[split.first_batched - 1], inner = split.dims[split.first_batched];
    if (!one_stride(out, outer, inner) || !one_stride(a, outer, inner) ||
        !one_stride(b, outer, inner))
      break;
    --split.first_batched;
  }
  for (size_t i = 0; i < split.first_batched; ++i) split.calls *= out.shape[split.dims[i]];
  return split;
}

template <class T>
void matmul_typed(CudaBackend& backend, const KernelTensor& out_in, const KernelTensor& a_in,
                  const KernelTensor& b_in) {
  const int nd = static_cast<int>(out_in.shape.size());
  const int64_t m = out_in.shape[nd - 2], n = out_in.shape[nd - 1], k = a_in.shape[nd - 1];
  Scratch scratch(backend);
  KernelTensor a = a_in, b = b_in, out = out_in;
  if (!blas_layout(a).ok) a = compact_copy(backend, scratch, a, true);
  if (!blas_layout(b).ok) b = compact_copy(backend, scratch, b, true);
  // The product is written row-major (column-major C^T); any other `out` gets a temporary.
  const BlasLayout out_layout = blas_layout(out);
  bool out_direct = out_layout.ok && out_layout.op == CUBLAS_OP_N;
  if (!out_direct) out = scratch.take(out_in.shape, out_in.dtype);

  BatchSplit split = split_batch(out, a, b);
  if (split.calls > kMaxCalls) {
    // Contiguous operands make the whole batch one stride, hence one call.
    for (KernelTensor* t : {&a, &b})
      if (t->strides != contiguous_strides(t->shape))
        *t = compact_copy(backend, scratch, *t, false);
    if (out.strides != contiguous_strides(out.shape)) {
      out = scratch.take(out_in.shape, out_in.dtype);
      out_direct = false;
    }
    split = split_batch(out, a, b);
  }

  const BlasLayout la = blas_layout(a), lb = blas_layout(b), lc = blas_layout(out);
  int64_t batch = 1, stride_a = 0, stride_b = 0, stride_c = 0;
  if (split.first_batched < split.dims.size()) {
    const int innermost = split.dims.back();
    for (size_t i = split.first_batched; i < split.dims.size(); ++i)
      batch *= out.shape[split.dims[i]];
    stride_a = a.strides[innermost], stride_b = b.strides[innermost],
    stride_c = out.strides[innermost];
  }
  cublasHandle_t handle = cublas_handle(backend.device());
  // The host loop over the outer batch dims: an odometer over split.dims[0, first_batched).
  std::vector<int64_t> position(split.first_batched, 0);
  for (int64_t call = 0; call < split.calls; ++call) {
    int64_t off_a = 0, off_b = 0, off_c = 0;
    for (size_t i = 0; i < split.first_batched; ++i) {
      const int d = split.dims[i];
      off_a += position[i] * a.strides[d], off_b += position[i] * b.strides[d];
      off_c += position[i] * out.strides[d];
    }
    // C^T [n, m] = B^T [n, k] · A^T [k, m], all column-major.
    gemm(handle, lb.op, la.op, n, m, k, b.ptr<const T>() + off_b, lb.ld, stride_b,
         a.ptr<const T>() + off_a, la.ld, stride_a, out.ptr<T>() + off_c, lc.ld, stride_c, batch);
    for (size_t i = split.first_batched; i-- > 0;) {
      if (++position[i] < out.shape[split.dims[i]]) break;
      position[i] = 0;
    }
  }
  if (!out_direct) backend.copy(out_in, out);
}

}  // namespace

void CudaBackend::matmul(const KernelTensor& out, const KernelTensor& a, const KernelTensor& b) {
  DeviceGuard guard(device_);
  if (out.numel() == 0) return;
  const int nd = static_cast<int>(out.shape.size());
  if (a.shape[nd - 1] == 0) return fill(out, 0.0);  // a sum of no products
  CTDL_DISPATCH_FLOATING(out.dtype, "matmul", [&] { matmul_typed<scalar_t>(*this, out, a, b); });
}

}  // namespace ctdl::cuda

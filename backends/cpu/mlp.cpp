// The fused perceptron on the CPU. Rows are cut into chunks that depend only on the row
// count; each chunk runs the row-lane kernels of simd/mlp.h with scratch of its own and,
// backward, gradient accumulators of its own, summed in chunk order at the end: the same
// bits on any number of threads.
#include "ctdl/backends/cpu/simd/mlp.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "ctdl/backends/cpu/cpu_backend.h"
#include "ctdl/backends/cpu/parallel.h"
#include "ctdl/backends/cpu/simd/arch.h"

namespace ctdl::cpu {
namespace {

constexpr int64_t kMaxChunks = 8;
// The row-lane kernels read every weight once per block of rows, from cache: fast while
// the weights are few. In a 25-step RK4 backprop solve on 512 rows they beat the chain of
// GEMMs (with the same recomputation) 1.3–1.7x for 2-64-2, 16-64-16 and 16-128-16 fields,
// tie at 32-128-32 (8192 weights) and 64-128-64, and lose at 64-256-64; a 784-256-10
// classifier's forward and backward took 2.4x the chain's time. Larger networks go to the
// composite.
constexpr int64_t kMaxFusedWeights = 8192;

// The network as raw pointers, or false when the kernels here cannot take it (strided or
// mixed-dtype operands, too many layers): the caller composes the op instead.
// (Arrays, not vectors: a neural ODE calls these kernels hundreds of times per solve.)
template <class T>
struct Network {
  std::array<int64_t, simd::kMlpMaxLayers + 1> dims;
  std::array<const T*, simd::kMlpMaxLayers> weights, biases;
  simd::MlpLayers<T> layers;
  int64_t in() const { return dims[0]; }
  int64_t out() const { return dims[layers.count]; }
};

template <class T>
bool read_network(const MlpArgs& args, DType dtype, Network<T>& net) {
  if (args.layers < 1 || args.layers > simd::kMlpMaxLayers) return false;
  int64_t weights = 0;
  for (int k = 0; k < args.layers; ++k) weights += args.weights[k].numel();
  if (weights > kMaxFusedWeights) return false;
  for (int k = 0; k < args.layers; ++k) {
    const KernelTensor &w = args.weights[k], &b = args.biases[k];
    if (w.dtype != dtype || w.shape.size() != 2 || !w.is_contiguous()) return false;
    if (b.data && (b.dtype != dtype || !b.is_contiguous())) return false;
    net.dims[k] = w.shape[1];
    net.dims[k + 1] = w.shape[0];
    net.weights[k] = w.ptr<const T>();
    net.biases[k] = b.data ? b.ptr<const T>() : nullptr;
  }
  net.layers = {args.layers, net.dims.data(), net.weights.data(), net.biases.data(), args.act};
  return true;
}

// Rows per chunk: whole blocks of `lanes` rows, at least 16 blocks (a [512, 2] → 64 → 2
// network is two chunks of 256 rows in float32 with AVX-512), at most kMaxChunks chunks.
int64_t chunk_rows(int64_t rows, int64_t lanes) {
  const int64_t per = std::max(16 * lanes, (rows + kMaxChunks - 1) / kMaxChunks);
  return (per + lanes - 1) / lanes * lanes;
}

// Elements per vector of Arch (xsimd::batch itself cannot be named outside the files
// compiled for that instruction set).
template <class Arch, class T>
constexpr int64_t lanes_of() {
  return static_cast<int64_t>(Arch::alignment() / sizeof(T));
}

// What the forward pass keeps for the backward pass (see simd::mlp_forward): per chunk of rows,
// per panel of rows, the hidden features' vectors, [chunks, panels, features, feature
// stride]; empty when nothing is kept (no hidden layer). The feature stride names the vector
// width it was made for: a backward pass at another SIMD level (tests switch levels) sees
// another shape and recomputes instead.
template <class Arch, class T>
Dims kept_shape(const simd::MlpLayers<T>& net, int64_t rows) {
  const int64_t lanes = lanes_of<Arch, T>(), features = simd::mlp_hidden_features(net);
  if (features == 0) return {};
  const int64_t per = chunk_rows(rows, lanes), panel = simd::kMlpPanelBlocks * lanes;
  return {chunk_count(rows, per), (per + panel - 1) / panel, features,
          simd::mlp_panel_stride(lanes)};
}

// `kept` holds what this backend's forward pass at Arch keeps for `rows` rows of `net`.
template <class Arch, class T>
bool kept_fits(const KernelTensor& kept, const simd::MlpLayers<T>& net, int64_t rows) {
  return kept.is_contiguous() && kept.shape == kept_shape<Arch>(net, rows);
}

// Chunk c's share of what is kept.
template <class T>
T* kept_chunk(const KernelTensor& kept, int64_t c) {
  return kept.ptr<T>() + c * kept.shape[1] * kept.shape[2] * kept.shape[3];
}

bool usable(const KernelTensor& t, DType dtype) {
  return t.dtype == dtype && t.shape.size() == 2 && t.is_contiguous();
}

template <class T>
struct Scratch {
  explicit Scratch(int64_t count)
      : bytes(count * sizeof(T)), data(static_cast<T*>(host_allocate(bytes))) {}
  ~Scratch() { host_deallocate(data, bytes); }
  Scratch(const Scratch&) = delete;
  Scratch& operator=(const Scratch&) = delete;
  size_t bytes;
  T* data;
};

}  // namespace

bool CpuBackend::mlp(const MlpArgs& args, const KernelTensor& out, const KernelTensor& in,
                     const KernelTensor& kept) {
  if (in.dtype != DType::Float32 && in.dtype != DType::Float64) return false;
  if (!usable(in, in.dtype) || !usable(out, in.dtype)) return false;
  return CTDL_DISPATCH_FLOATING(in.dtype, "mlp", [&] {
    Network<scalar_t> net;
    if (!read_network(args, in.dtype, net)) return false;
    const int64_t rows = in.shape[0], d_in = net.in(), d_out = net.out();
    return with_simd_arch([&](auto arch) {
      using Arch = decltype(arch);
      const int64_t lanes = lanes_of<Arch, scalar_t>();
      const bool keep = kept.data != nullptr;
      if (keep && !kept_fits<Arch>(kept, net.layers, rows)) return false;
      const int64_t per = chunk_rows(rows, lanes);
      parallel_chunks(rows, per, [&](int64_t r0, int64_t r1) {
        Scratch<scalar_t> scratch(simd::mlp_forward_scratch(net.layers, lanes));
        simd::mlp_forward<Arch, scalar_t>(
            net.layers, out.ptr<scalar_t>() + r0 * d_out, in.ptr<const scalar_t>() + r0 * d_in,
            r1 - r0, scratch.data, keep ? kept_chunk<scalar_t>(kept, r0 / per) : nullptr);
      });
      return true;
    });
  });
}

Dims CpuBackend::mlp_kept_shape(const MlpArgs& args, DType dtype, int64_t rows) {
  if (dtype != DType::Float32 && dtype != DType::Float64) return {};
  return CTDL_DISPATCH_FLOATING(dtype, "mlp_kept_shape", [&] {
    Network<scalar_t> net;
    if (!read_network(args, dtype, net)) return Dims{};
    return with_simd_arch(
        [&](auto arch) { return kept_shape<decltype(arch)>(net.layers, rows); });
  });
}

bool CpuBackend::mlp_backward(const MlpArgs& args, const KernelTensor& grad_in,
                              const KernelTensor* grad_weights, const KernelTensor* grad_biases,
                              const KernelTensor& grad_out, const KernelTensor& in,
                              const KernelTensor& kept) {
  const DType dtype = in.dtype;
  if (dtype != DType::Float32 && dtype != DType::Float64) return false;
  if (!usable(in, dtype) || !usable(grad_out, dtype)) return false;
  if (grad_in.data && !usable(grad_in, dtype)) return false;
  for (int k = 0; k < args.layers; ++k)
    if ((grad_weights[k].data && !grad_weights[k].is_contiguous()) ||
        (grad_biases[k].data && !grad_biases[k].is_contiguous()))
      return false;
  return CTDL_DISPATCH_FLOATING(dtype, "mlp_backward", [&] {
    Network<scalar_t> net;
    if (!read_network(args, dtype, net)) return false;
    const int64_t rows = in.shape[0], d_in = net.in(), d_out = net.out();
    const int64_t total = simd::mlp_accumulator_size(net.layers);
    Scratch<scalar_t> sums(total);  // (no chunks when rows = 0: the gradients are 0)
    std::memset(sums.data, 0, sums.bytes);
    with_simd_arch([&](auto arch) {
      using Arch = decltype(arch);
      const int64_t lanes = lanes_of<Arch, scalar_t>();
      const int64_t per = chunk_rows(rows, lanes), chunks = chunk_count(rows, per);
      if (chunks == 0) return;
      // Kept for another vector width (or not at all): recompute.
      const bool use_kept = kept.data && kept_fits<Arch>(kept, net.layers, rows);
      Scratch<scalar_t> acc(chunks * total);  // one set of sums per chunk
      std::memset(acc.data, 0, acc.bytes);
      parallel_chunks(rows, per, [&](int64_t r0, int64_t r1) {
        Scratch<scalar_t> scratch(simd::mlp_backward_scratch(net.layers, lanes));
        simd::mlp_backward<Arch, scalar_t>(
            net.layers, grad_in.data ? grad_in.ptr<scalar_t>() + r0 * d_in : nullptr,
            acc.data + (r0 / per) * total, grad_out.ptr<const scalar_t>() + r0 * d_out,
            in.ptr<const scalar_t>() + r0 * d_in, r1 - r0, scratch.data,
            use_kept ? kept_chunk<const scalar_t>(kept, r0 / per) : nullptr);
      });
      for (int64_t c = 0; c < chunks; ++c)  // in chunk order, whatever thread ran which
        for (int64_t e = 0; e < total; ++e) sums.data[e] += acc.data[c * total + e];
    });
    // sums holds, layer by layer, the weight gradient and then the bias gradient.
    const scalar_t* p = sums.data;
    for (int k = 0; k < args.layers; ++k) {
      const int64_t w_size = net.dims[k + 1] * net.dims[k], b_size = net.dims[k + 1];
      if (grad_weights[k].data) std::memcpy(grad_weights[k].data, p, w_size * sizeof(scalar_t));
      if (grad_biases[k].data)
        std::memcpy(grad_biases[k].data, p + w_size, b_size * sizeof(scalar_t));
      p += w_size + b_size;
    }
    return true;
  });
}

}  // namespace ctdl::cpu

// A small multilayer perceptron evaluated a block of rows at a time, every intermediate
// value kept in cache: the kernels behind CpuBackend::mlp and mlp_backward (backends/cpu/mlp.cpp).
//
// The rows of a block sit in the lanes of the vectors ("row lanes"): a block of `lanes` rows
// of a [rows, d] tensor is held as d vectors, vector i holding feature i of every row. A
// layer is then d_out × d_in multiply-adds of a vector by one broadcast weight: no
// horizontal sums and no wasted lanes, whatever the widths (a neural ODE's 2 → 64 → 2 field
// would use 2 of 16 lanes if the features were in the lanes). A block's activations take
// a few kilobytes and never leave the cache; the backward pass recomputes them instead of
// keeping them (a backprop solve of 400 evaluations of a 2 → 64 → 2 field on 512 rows
// keeps 1.7 MB instead of 52 MB, for one more pass of the activation) unless asked to keep
// them, for a backward pass that follows at once (a vector-Jacobian product).
//
// Like kernels.h: templates defined in mlp_impl.h, instantiated per instruction set in
// kernels_<set>.cpp; raw pointers only.
#pragma once

#include <cstdint>

#include "ctdl/tensor/activation.h"

namespace ctdl::cpu::simd {

// The backward pass keeps a panel of this many blocks of rows (each layer's input and
// gradient), so that the weight gradients are sums over the panel held in registers.
inline constexpr int64_t kMlpPanelBlocks = 16;
inline constexpr int kMlpMaxLayers = 64;

// The network: `count` layers, layer k maps dims[k] features to dims[k + 1] with the
// row-major weight [dims[k + 1], dims[k]] and the bias [dims[k + 1]] (null: none). Every
// layer but the last applies `act`.
template <class T>
struct MlpLayers {
  int count = 0;
  const int64_t* dims = nullptr;
  const T* const* weights = nullptr;
  const T* const* biases = nullptr;
  Activation act = Activation::None;
};

// out [rows, dims[count]] = the network applied to each row of in [rows, dims[0]].
// scratch holds mlp_forward_scratch(net, lanes) elements. `kept` (null: nothing kept) gets
// the hidden layers' outputs for mlp_backward (its size: below).
template <class Arch, class T>
void mlp_forward(const MlpLayers<T>& net, T* out, const T* in, int64_t rows, T* scratch,
                 T* kept);

// The backward pass over rows of in, given grad_out [rows, dims[count]]: grad_in (null: not
// wanted) gets the input gradient; the sums over the rows of the weight and bias gradients
// are added to `acc` (mlp_accumulator_size(net) elements: per layer the weight gradient
// [dims[k+1], dims[k]] then the bias gradient). scratch holds mlp_backward_scratch(net,
// lanes) elements. The hidden values come from `kept` (what mlp_forward kept for these rows)
// or, when it is null, are recomputed from in.
template <class Arch, class T>
void mlp_backward(const MlpLayers<T>& net, T* grad_in, T* acc, const T* grad_out, const T* in,
                  int64_t rows, T* scratch, const T* kept);

// The stride between two features' vectors in a panel: a panel's vectors of one feature,
// and one more, so that the stride is not a power of two (at 1024 bytes the vectors of 64
// features fell into 4 of L1's 64 sets and evicted each other; 1088 bytes made the backward
// pass about 10% faster).
inline int64_t mlp_panel_stride(int64_t lanes) { return (kMlpPanelBlocks + 1) * lanes; }

// The features of every hidden layer (each layer's output but the last's). mlp_forward keeps,
// for every panel of rows (kMlpPanelBlocks · lanes rows, the last one maybe short), this
// many vectors at a stride of mlp_panel_stride(lanes).
template <class T>
int64_t mlp_hidden_features(const MlpLayers<T>& net) {
  int64_t n = 0;
  for (int k = 1; k < net.count; ++k) n += net.dims[k];
  return n;
}

// The most features of any layer's input or output.
template <class T>
int64_t mlp_widest(const MlpLayers<T>& net) {
  int64_t widest = 0;
  for (int k = 0; k <= net.count; ++k) widest = widest > net.dims[k] ? widest : net.dims[k];
  return widest;
}

// Scratch and accumulator sizes, in elements (for a vector of `lanes` elements).
template <class T>
int64_t mlp_forward_scratch(const MlpLayers<T>& net, int64_t lanes) {
  // A block's input and output in turn; or, keeping, a panel's input and output.
  const int64_t blocks = 2 * mlp_widest(net) * lanes;
  const int64_t keeping = (net.dims[0] + net.dims[net.count]) * mlp_panel_stride(lanes);
  return blocks > keeping ? blocks : keeping;
}
template <class T>
int64_t mlp_backward_scratch(const MlpLayers<T>& net, int64_t lanes) {
  // Per panel: every layer's input and the gradient at every layer's input and output.
  int64_t features = net.dims[0];
  for (int k = 0; k < net.count; ++k) features += net.dims[k] + net.dims[k + 1];
  return features * mlp_panel_stride(lanes);
}
template <class T>
int64_t mlp_accumulator_size(const MlpLayers<T>& net) {
  int64_t n = 0;
  for (int k = 0; k < net.count; ++k) n += net.dims[k + 1] * (net.dims[k] + 1);
  return n;
}

}  // namespace ctdl::cpu::simd

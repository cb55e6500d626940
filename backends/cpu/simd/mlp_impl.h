// Definitions of the row-lane perceptron kernels declared in mlp.h. Included only by the
// kernels_<instruction set>.cpp files, after kernels_impl.h (Vec, activate).
#pragma once

#include <type_traits>
#include <utility>

#include "ctdl/backends/cpu/simd/haddp_lanes.h"
#include "ctdl/backends/cpu/simd/kernels_impl.h"
#include "ctdl/backends/cpu/simd/mlp.h"

namespace ctdl::cpu::simd {
namespace {

// Buffers in row lanes: the vector of feature i of a block starts at lanes + i * fs, fs (the
// feature stride) being one vector for a lone block, or a panel of several blocks' vectors
// when the backward pass keeps a panel (see mlp_backward).

// Feature i of rows 0 .. count-1 of a row-major [count, n] block into lanes; the lanes past
// count hold 0, so they add nothing to the gradients.
template <class Arch, class T>
void rows_to_lanes(T* lanes, int64_t fs, const T* rows, int64_t count, int64_t n) {
  constexpr int64_t L = Vec<Arch, T>::size;
  for (int64_t i = 0; i < n; ++i)
    for (int64_t l = 0; l < L; ++l) lanes[i * fs + l] = l < count ? rows[l * n + i] : T(0);
}

template <class Arch, class T>
void lanes_to_rows(T* rows, const T* lanes, int64_t fs, int64_t count, int64_t n) {
  for (int64_t l = 0; l < count; ++l)
    for (int64_t i = 0; i < n; ++i) rows[l * n + i] = lanes[i * fs + l];
}

// out[j] = act(bias[j] + sum_i w[j * sj + i * si] · in[i]) for j0 <= j < j0 + J: J outputs
// at a time, each sum split in S interleaved partial sums, so that J·S = 8 chains of
// multiply-adds run side by side (one chain would wait on the adder's latency). The
// activation is a template argument: a switch inside the loop kept the accumulators in
// memory instead of registers.
//
// Backward (the gradient flowing down through a layer): out[j] = the sum taken back through
// activation A of the layer below, whose output is act_out[j], instead of act(sum + bias).
template <class Arch, class T, Activation A, bool Backward, int J, int S>
void lanes_layer_block(T* out, const T* in, int64_t fs, const T* w, int64_t sj, int64_t si,
                       const T* bias, const T* act_out, int64_t n_in, int64_t j0) {
  using V = Vec<Arch, T>;
  V acc[J][S];
  // The bias starts the first chain (one add fewer per output than adding it at the end:
  // 5% of a 2 → 64 tanh layer, whose two inputs make each sum two multiply-adds).
#pragma GCC unroll 8
  for (int jj = 0; jj < J; ++jj)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) acc[jj][s] = V(s == 0 && bias ? bias[j0 + jj] : T(0));
  int64_t i = 0;
  for (; i + S <= n_in; i += S)
#pragma GCC unroll 8
    for (int s = 0; s < S; ++s) {
      const V x = V::load_aligned(in + (i + s) * fs);
#pragma GCC unroll 8
      for (int jj = 0; jj < J; ++jj)
        acc[jj][s] = xsimd::fma(x, V(w[(j0 + jj) * sj + (i + s) * si]), acc[jj][s]);
    }
  for (; i < n_in; ++i) {
    const V x = V::load_aligned(in + i * fs);
#pragma GCC unroll 8
    for (int jj = 0; jj < J; ++jj)
      acc[jj][0] = xsimd::fma(x, V(w[(j0 + jj) * sj + i * si]), acc[jj][0]);
  }
  // Unrolled, so that the J activations (tanh: a chain of a dozen dependent steps) are
  // independent instructions side by side rather than a loop of one chain after another.
#pragma GCC unroll 8
  for (int jj = 0; jj < J; ++jj) {
    V y = acc[jj][0];
#pragma GCC unroll 8
    for (int s = 1; s < S; ++s) y += acc[jj][s];
    if constexpr (Backward)
      y = activation_backward<Arch, T, A>(y, V::load_aligned(act_out + (j0 + jj) * fs));
    else
      y = activate<Arch, T>(A, y);
    y.store_aligned(out + (j0 + jj) * fs);
  }
}

template <class Arch, class T, Activation A, bool Backward>
void lanes_layer_with(T* out, const T* in, int64_t fs, const T* w, int64_t sj, int64_t si,
                      const T* bias, const T* act_out, int64_t n_in, int64_t n_out) {
  int64_t j = 0;
  for (; j + 8 <= n_out; j += 8)
    lanes_layer_block<Arch, T, A, Backward, 8, 1>(out, in, fs, w, sj, si, bias, act_out, n_in, j);
  if (n_out - j >= 4) {
    lanes_layer_block<Arch, T, A, Backward, 4, 2>(out, in, fs, w, sj, si, bias, act_out, n_in, j);
    j += 4;
  }
  if (n_out - j >= 2) {
    lanes_layer_block<Arch, T, A, Backward, 2, 4>(out, in, fs, w, sj, si, bias, act_out, n_in, j);
    j += 2;
  }
  if (n_out - j >= 1)
    lanes_layer_block<Arch, T, A, Backward, 1, 8>(out, in, fs, w, sj, si, bias, act_out, n_in, j);
}

// A whole layer in row lanes: out[j] = act(bias[j] + sum_i w(j, i) · in[i]), j < n_out; or,
// given act_out, the sum taken back through act (see lanes_layer_block).
template <class Arch, class T>
void lanes_layer(T* out, const T* in, int64_t fs, const T* w, int64_t sj, int64_t si, const T* bias,
                 int64_t n_in, int64_t n_out, Activation act, const T* act_out = nullptr) {
  auto with = [&](auto a) {
    constexpr Activation A = decltype(a)::value;
    if (act_out)
      return lanes_layer_with<Arch, T, A, true>(out, in, fs, w, sj, si, bias, act_out, n_in, n_out);
    lanes_layer_with<Arch, T, A, false>(out, in, fs, w, sj, si, bias, nullptr, n_in, n_out);
  };
  switch (act) {
    case Activation::Tanh:
      return with(std::integral_constant<Activation, Activation::Tanh>{});
    case Activation::Sigmoid:
      return with(std::integral_constant<Activation, Activation::Sigmoid>{});
    case Activation::Relu:
      return with(std::integral_constant<Activation, Activation::Relu>{});
    default:
      return with(std::integral_constant<Activation, Activation::None>{});
  }
}

// out[k] = the sum of the lanes of v[k], k < n: L vectors at a time by one xsimd::haddp (a
// transposed sum, its lane order probed once), a last group of fewer padded with zeros. A
// fixed order of additions, so the same bits on every run.
template <class Arch, class T>
void lane_sums(T* out, const Vec<Arch, T>* v, int n) {
  using V = Vec<Arch, T>;
  constexpr int L = static_cast<int>(V::size);
  const int* lane = HaddpLanes<Arch, T>::get().of;
  alignas(64) T sums[L];
  for (int k = 0; k < n; k += L) {
    const int m = n - k < L ? n - k : L;
    if (m == L) {
      xsimd::haddp(v + k).store_aligned(sums);
    } else {
      V group[L];
      for (int q = 0; q < L; ++q) group[q] = q < m ? v[k + q] : V(T(0));
      xsimd::haddp(group).store_aligned(sums);
    }
    for (int q = 0; q < m; ++q) out[k + q] = sums[lane[q]];
  }
}

// acc_w[j, i] += sum over the panel of g[j] · in[i] for JB outputs j0.. and IB inputs i0..:
// JB·IB sums in registers, their lanes summed at the end, rather than a load and a store
// per multiply-add when each block added its share in memory.
template <class Arch, class T, int JB, int IB>
void panel_weight_gradient_block(T* acc_w, const T* g, const T* in, int64_t fs, int64_t width,
                                 int64_t n_in, int64_t j0, int64_t i0) {
  using V = Vec<Arch, T>;
  constexpr int64_t L = V::size;
  V acc[JB * IB];
#pragma GCC unroll 16
  for (int a = 0; a < JB * IB; ++a) acc[a] = V(T(0));
  for (int64_t l = 0; l < width; l += L) {
    V x[IB];
#pragma GCC unroll 4
    for (int ii = 0; ii < IB; ++ii) x[ii] = V::load_aligned(in + (i0 + ii) * fs + l);
#pragma GCC unroll 4
    for (int jj = 0; jj < JB; ++jj) {
      const V gj = V::load_aligned(g + (j0 + jj) * fs + l);
#pragma GCC unroll 4
      for (int ii = 0; ii < IB; ++ii) acc[jj * IB + ii] = xsimd::fma(gj, x[ii], acc[jj * IB + ii]);
    }
  }
  T sums[JB * IB];
  lane_sums<Arch, T>(sums, acc, JB * IB);
  for (int jj = 0; jj < JB; ++jj)
    for (int ii = 0; ii < IB; ++ii) acc_w[(j0 + jj) * n_in + i0 + ii] += sums[jj * IB + ii];
}

template <class Arch, class T, int JB>
void panel_weight_gradient_rows(T* acc_w, const T* g, const T* in, int64_t fs, int64_t width,
                                int64_t n_in, int64_t j0) {
  int64_t i = 0;
  for (; i + 4 <= n_in; i += 4)
    panel_weight_gradient_block<Arch, T, JB, 4>(acc_w, g, in, fs, width, n_in, j0, i);
  for (; i < n_in; ++i)
    panel_weight_gradient_block<Arch, T, JB, 1>(acc_w, g, in, fs, width, n_in, j0, i);
}

// A layer's weight and bias gradients over the first `width` elements of a panel:
// acc_w[j, i] += sum of g[j] · in[i] and acc_b[j] += sum of g[j] over the panel's rows.
template <class Arch, class T>
void panel_gradients(T* acc_w, T* acc_b, const T* g, const T* in, int64_t fs, int64_t width,
                     int64_t n_in, int64_t n_out) {
  using V = Vec<Arch, T>;
  constexpr int64_t L = V::size;
  int64_t j = 0;
  for (; j + 4 <= n_out; j += 4)
    panel_weight_gradient_rows<Arch, T, 4>(acc_w, g, in, fs, width, n_in, j);
  for (; j < n_out; ++j) panel_weight_gradient_rows<Arch, T, 1>(acc_w, g, in, fs, width, n_in, j);
  for (j = 0; j < n_out; j += L) {  // L outputs' sums at a time
    const int m = static_cast<int>(n_out - j < L ? n_out - j : L);
    V sum[L];
    T sums[L];
    for (int q = 0; q < m; ++q) {
      sum[q] = V(T(0));
      for (int64_t l = 0; l < width; l += L) sum[q] += V::load_aligned(g + (j + q) * fs + l);
    }
    lane_sums<Arch, T>(sums, sum, m);
    for (int q = 0; q < m; ++q) acc_b[j + q] += sums[q];
  }
}

// Where a panel keeps each layer's input x(k) (x(0) the network's input) and the gradient
// g(k) at each layer's pre-activation (g(-1): at the input), in vectors of fs elements: in
// the panel's scratch, or, for k >= 1 when the hidden values are kept, in `kept`.
template <class T>
struct PanelBuffers {
  PanelBuffers(const MlpLayers<T>& net, int64_t lanes, T* scratch_, const T* kept_)
      : fs(mlp_panel_stride(lanes)), scratch(scratch_), kept(kept_) {
    const int n = net.count;
    int64_t end = 0;
    for (int k = 0; k < n; ++k) x_at[k] = end, end += net.dims[k];
    g_at[0] = end, end += net.dims[0];
    for (int k = 0; k < n; ++k) g_at[k + 1] = end, end += net.dims[k + 1];
    int64_t hidden = 0;
    for (int k = 1; k < n; ++k) kept_at[k] = hidden, hidden += net.dims[k];
    kept_per_panel = hidden * fs;
  }
  // Panel p's hidden values in `kept`.
  void select_panel(int64_t p) { panel_kept = kept ? kept + p * kept_per_panel : nullptr; }
  T* x(int k) const {
    if (k > 0 && panel_kept) return const_cast<T*>(panel_kept) + kept_at[k] * fs;
    return scratch + x_at[k] * fs;
  }
  T* g(int k) const { return scratch + g_at[k + 1] * fs; }

  int64_t fs, kept_per_panel = 0;
  T* scratch;
  const T* kept;
  const T* panel_kept = nullptr;
  int64_t x_at[kMlpMaxLayers], g_at[kMlpMaxLayers + 1], kept_at[kMlpMaxLayers] = {};
};

// Block r of a panel (its rows at in) forward through the hidden layers: x(0) from the rows,
// x(k + 1) = layer k of x(k) for every layer but the last.
template <class Arch, class T>
void panel_block_hidden(const MlpLayers<T>& net, const PanelBuffers<T>& b, int64_t r, const T* in,
                        int64_t count) {
  rows_to_lanes<Arch, T>(b.x(0) + r, b.fs, in, count, net.dims[0]);
  for (int k = 0; k + 1 < net.count; ++k)
    lanes_layer<Arch, T>(b.x(k + 1) + r, b.x(k) + r, b.fs, net.weights[k], net.dims[k], 1,
                         net.biases[k], net.dims[k], net.dims[k + 1], net.act);
}

// The forward pass keeping the hidden values: panel by panel, like mlp_backward, each
// hidden layer's output written to the panel's place in `kept`.
template <class Arch, class T>
void mlp_forward_keeping(const MlpLayers<T>& net, T* out, const T* in, int64_t rows, T* scratch,
                         T* kept) {
  constexpr int64_t L = Vec<Arch, T>::size;
  const int n = net.count;
  const int64_t d_in = net.dims[0], d_out = net.dims[n], panel = kMlpPanelBlocks * L;
  PanelBuffers<T> b(net, L, scratch, kept);
  T* y = scratch + d_in * b.fs;  // (x(0) is first in the scratch)
  for (int64_t p = 0; p < rows; p += panel) {
    b.select_panel(p / panel);
    const int64_t panel_rows = rows - p < panel ? rows - p : panel;
    for (int64_t r = 0; r < panel_rows; r += L) {
      const int64_t count = panel_rows - r < L ? panel_rows - r : L;
      panel_block_hidden<Arch, T>(net, b, r, in + (p + r) * d_in, count);
      lanes_layer<Arch, T>(y + r, b.x(n - 1) + r, b.fs, net.weights[n - 1], net.dims[n - 1], 1,
                           net.biases[n - 1], net.dims[n - 1], d_out, Activation::None);
      lanes_to_rows<Arch, T>(out + (p + r) * d_out, y + r, b.fs, count, d_out);
    }
  }
}

}  // namespace

template <class Arch, class T>
void mlp_forward(const MlpLayers<T>& net, T* out, const T* in, int64_t rows, T* scratch, T* kept) {
  if (kept && net.count > 1) return mlp_forward_keeping<Arch, T>(net, out, in, rows, scratch, kept);
  constexpr int64_t L = Vec<Arch, T>::size;
  const int64_t d_in = net.dims[0], d_out = net.dims[net.count];
  T* a = scratch;                        // a layer's input
  T* b = scratch + mlp_widest(net) * L;  // its output
  for (int64_t r = 0; r < rows; r += L) {
    const int64_t count = rows - r < L ? rows - r : L;
    rows_to_lanes<Arch, T>(a, L, in + r * d_in, count, d_in);
    for (int k = 0; k < net.count; ++k) {
      const bool last = k + 1 == net.count;
      lanes_layer<Arch, T>(b, a, L, net.weights[k], net.dims[k], 1, net.biases[k], net.dims[k],
                           net.dims[k + 1], last ? Activation::None : net.act);
      std::swap(a, b);
    }
    lanes_to_rows<Arch, T>(out + r * d_out, a, L, count, d_out);
  }
}

// Panel by panel (kMlpPanelBlocks blocks of rows): first each block forward again, keeping
// every layer's input (unless mlp_forward kept them), then back through the layers, keeping
// the gradient at each layer's pre-activation; then the panel's weight and bias gradients,
// a layer at a time, as sums over the panel in registers.
template <class Arch, class T>
void mlp_backward(const MlpLayers<T>& net, T* grad_in, T* acc, const T* grad_out, const T* in,
                  int64_t rows, T* scratch, const T* kept) {
  constexpr int64_t L = Vec<Arch, T>::size;
  const int n = net.count;
  const int64_t d_in = net.dims[0], d_out = net.dims[n];
  PanelBuffers<T> b(net, L, scratch, kept);
  const int64_t fs = b.fs;
  const int64_t panel = kMlpPanelBlocks * L;  // rows
  for (int64_t p = 0; p < rows; p += panel) {
    b.select_panel(p / panel);
    const int64_t panel_rows = rows - p < panel ? rows - p : panel;
    for (int64_t r = 0; r < panel_rows; r += L) {
      const int64_t count = panel_rows - r < L ? panel_rows - r : L;
      if (kept)
        rows_to_lanes<Arch, T>(b.x(0) + r, fs, in + (p + r) * d_in, count, d_in);
      else
        panel_block_hidden<Arch, T>(net, b, r, in + (p + r) * d_in, count);
      rows_to_lanes<Arch, T>(b.g(n - 1) + r, fs, grad_out + (p + r) * d_out, count, d_out);
      for (int k = n - 1; k >= 0; --k) {
        // The gradient at layer k's input, sum_j w[j, i] · g[j], taken back through the
        // activation of layer k - 1 (whose output is x(k)) in the same pass.
        if (k == 0 && !grad_in) break;
        lanes_layer<Arch, T>(b.g(k - 1) + r, b.g(k) + r, fs, net.weights[k], 1, net.dims[k],
                             nullptr, net.dims[k + 1], net.dims[k],
                             k > 0 ? net.act : Activation::None, k > 0 ? b.x(k) + r : nullptr);
      }
      if (grad_in) lanes_to_rows<Arch, T>(grad_in + (p + r) * d_in, b.g(-1) + r, fs, count, d_in);
    }
    // Up to the panel's last block; that block's lanes past the rows hold zero gradients
    // (rows_to_lanes pads the gradient with 0) and add nothing.
    const int64_t width = (panel_rows + L - 1) / L * L;
    T* acc_layer = acc;
    for (int k = 0; k < n; ++k) {
      const int64_t k_in = net.dims[k], k_out = net.dims[k + 1];
      panel_gradients<Arch, T>(acc_layer, acc_layer + k_out * k_in, b.g(k), b.x(k), fs, width, k_in,
                               k_out);
      acc_layer += k_out * (k_in + 1);
    }
  }
}

}  // namespace ctdl::cpu::simd

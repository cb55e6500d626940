#include "model.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "ctdl/ode/odeint.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::mean_field {

Tensor units_sum(const Tensor& x, const Tensor& w, const Tensor& b, const Tensor& u) {
  return matmul(bias_activation(matmul(x, w.t()), b, Activation::Tanh), u.t());
}

// The particles start i.i.d. from ρ₀ with O(1) entries, as the mean-field limit assumes
// (w scaled by 1/√d so that w·x is O(1) too); the 1/M of the average, not the
// initialization, keeps the field small where the units disagree.
MeanFieldBlock::MeanFieldBlock(int64_t dim, int64_t width, DType dtype)
    : nn::Module("MeanFieldBlock") {
  const double s = 1.0 / std::sqrt(static_cast<double>(dim));
  w = register_parameter("w", randn({width, dim}, {.dtype = dtype}) * s);
  b = register_parameter("b", randn({width}, {.dtype = dtype}) * 0.5);
  u = register_parameter("u", randn({dim, width}, {.dtype = dtype}));
}

Tensor MeanFieldBlock::field(const Tensor& x) const {
  return units_sum(x, w, b, u) / static_cast<double>(w.size(0));
}

MeanFieldResNet::MeanFieldResNet(MeanFieldOptions options)
    : nn::Module("MeanFieldResNet"), o_(options) {
  CTDL_CHECK(o_.depth >= 1 && o_.width >= 1 && o_.dim >= 1,
             "MeanFieldResNet: depth, width and dim must be positive, got ", o_.depth, ", ",
             o_.width, ", ", o_.dim);
  blocks = register_module("blocks", nn::ModuleList<MeanFieldBlock>());
  for (int64_t l = 0; l < o_.depth; ++l)
    blocks.push_back(MeanFieldBlock(o_.dim, o_.width, o_.dtype));
  order_ = register_buffer("order", arange(static_cast<double>(o_.depth), {.dtype = DType::Int64}));
}

Tensor MeanFieldResNet::forward(const Tensor& x0, const std::vector<int64_t>& order) const {
  CTDL_CHECK(static_cast<int64_t>(order.size()) == o_.depth, "MeanFieldResNet: an order of ",
             order.size(), " blocks for a network of ", o_.depth);
  const double h = 1.0 / static_cast<double>(o_.depth);  // the Euler step 1/L
  Tensor x = x0;
  for (int64_t l : order) x = x + blocks[static_cast<size_t>(l)].field(x) * h;
  return x;
}

Tensor MeanFieldResNet::continuum(const Tensor& x0, int64_t substeps) const {
  const double h = 1.0 / static_cast<double>(o_.depth);
  std::vector<int64_t> ord = order();
  Tensor x = x0;
  // ρ(t) is piecewise constant in t: each block's interval is one smooth solve.
  for (int64_t p = 0; p < o_.depth; ++p) {
    const MeanFieldBlock& block = blocks[static_cast<size_t>(ord[p])];
    auto f = [&block](double, const Tensor& z) { return block.field(z); };
    x = ode::odeint(f, x, {p * h, (p + 1) * h},
                    {.solver = ode::RK4{.step_size = h / static_cast<double>(substeps)}})
            .select(0, 1);
  }
  return x;
}

std::vector<int64_t> MeanFieldResNet::order() const { return order_.to_vector<int64_t>(); }

void MeanFieldResNet::set_order(const std::vector<int64_t>& order) {
  std::vector<int64_t> sorted = order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> identity(static_cast<size_t>(o_.depth));
  std::iota(identity.begin(), identity.end(), 0);
  CTDL_CHECK(sorted == identity, "MeanFieldResNet::set_order: not a permutation of 0..",
             o_.depth - 1);
  order_.copy_(tensor(order, {o_.depth}));
}

void MeanFieldResNet::swap(int64_t i, int64_t j) {
  std::vector<int64_t> o = order();
  std::swap(o.at(static_cast<size_t>(i)), o.at(static_cast<size_t>(j)));
  set_order(o);
}

MeanFieldClassifier::MeanFieldClassifier(int64_t inputs, int64_t classes, MeanFieldOptions options,
                                         bool learn_embedding)
    : nn::Module("MeanFieldClassifier"),
      learn_embedding(learn_embedding),
      embed(register_module("embed", nn::Linear(inputs, options.dim, {.dtype = options.dtype}))),
      body(register_module("body", MeanFieldResNet(options))),
      head(register_module("head", nn::Linear(options.dim, classes, {.dtype = options.dtype}))) {
  if (!learn_embedding)
    for (Tensor& p : embed.parameters()) p.requires_grad_(false);
}

TensorList MeanFieldClassifier::outer_parameters() const {
  TensorList p = head.parameters();
  if (learn_embedding) {
    TensorList e = embed.parameters();
    p.insert(p.end(), e.begin(), e.end());
  }
  return p;
}

}  // namespace ctdl::examples::mean_field

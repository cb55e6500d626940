#include "pdenet2_model.h"

#include "ctdl/autograd/engine.h"

namespace ctdl::examples::pdenet {

namespace {

Tensor smoothed_l1(const Tensor& p, double s) {
  Tensor a = p.abs();
  return where(a < s, a.square() * (0.5 / s), a - s / 2).sum();
}

// A 1-D stencil placed along x (dim 0) or y (dim 1) of a k×k kernel.
Tensor line_stencil(const std::vector<double>& w, int64_t k, int axis) {
  Tensor s = zeros({k, k}, {.dtype = DType::Float64});
  for (int64_t a = 0; a < k; ++a)
    (axis == 0 ? s.select(0, a).select(0, k / 2) : s.select(0, k / 2).select(0, a)).fill_(w[a]);
  return s;
}

}  // namespace

PdeNet2::PdeNet2(PdeNet2Options o)
    : Module("PdeNet2"),
      filters(register_module(
          "filters", nn::MomentConv2d(nn::orders_up_to(o.max_order), {.kernel_size = o.kernel_size,
                                                                      .dx = o.dx,
                                                                      .dy = o.dx,
                                                                      .constraint = o.constraint,
                                                                      .accuracy = o.accuracy}))),
      o_(std::move(o)) {
  const int64_t k = o_.kernel_size, c = k / 2;
  for (int64_t f = 0; f < filters.size(); ++f) {
    const nn::DiffOrder& a = filters.orders()[f];
    if (a == nn::DiffOrder{1, 0}) fx_ = f;
    if (a == nn::DiffOrder{0, 1}) fy_ = f;
  }
  // Start from the authors' stencils: one-sided second-order first derivatives (the upwind
  // pair is this and its mirror image) and three-point second derivatives.
  std::vector<double> one_sided(k, 0.0), three_point(k, 0.0);
  one_sided[c] = -1.5, one_sided[c + 1] = 2.0, one_sided[c + 2] = -0.5;
  three_point[c - 1] = 1.0, three_point[c] = -2.0, three_point[c + 1] = 1.0;
  for (int64_t f = 0; f < filters.size(); ++f) {
    const nn::DiffOrder& a = filters.orders()[f];
    if (a == nn::DiffOrder{1, 0}) filters.set_kernel(f, line_stencil(one_sided, k, 0));
    if (a == nn::DiffOrder{0, 1}) filters.set_kernel(f, line_stencil(one_sided, k, 1));
    if (a == nn::DiffOrder{2, 0}) filters.set_kernel(f, line_stencil(three_point, k, 0));
    if (a == nn::DiffOrder{0, 2}) filters.set_kernel(f, line_stencil(three_point, k, 1));
  }
  for (const std::string& ch : o_.channels)
    for (const nn::DiffOrder& a : filters.orders()) feature_names_.push_back(term_name(a, ch));
  for (const std::string& ch : o_.channels)
    symnets.push_back(register_module("symnet_" + ch, SymNet(feature_names_, o_.hidden_layers)));
  // Small random SymNet weights (N(0, 0.1²)), drawn from the default generator.
  autograd::NoGradGuard no_grad;
  for (Tensor p : symnet_parameters()) p.copy_(randn_like(p) * 0.1);
}

TensorList PdeNet2::symnet_parameters() const {
  TensorList out;
  for (const SymNet& s : symnets)
    for (const Tensor& p : s.parameters()) out.push_back(p);
  return out;
}

Tensor PdeNet2::symnet_sparsity() const {
  Tensor total;
  for (const Tensor& p : symnet_parameters()) {
    Tensor t = smoothed_l1(p, 1e-3);
    total = total.defined() ? total + t : t;
  }
  return total;
}

Tensor PdeNet2::moment_sparsity() const {
  return smoothed_l1(filters.moments * filters.free_mask, 1e-2);
}

Tensor PdeNet2::features(const Tensor& u) const {
  Tensor k = filters.kernels();  // [F, k, k]
  const int64_t f = filters.size(), b = u.size(0), ch = u.size(1), n = u.size(2), m = u.size(3);
  Tensor raw;
  if (o_.upwind && fx_ >= 0 && fy_ >= 0) {
    // The mirrored first-derivative filters: −q reflected along the derivative's axis.
    Tensor mirror = cat({-flip(k.narrow(0, fx_, 1), {1}), -flip(k.narrow(0, fy_, 1), {2})}, 0);
    raw = filters.convolve(u, cat({k, mirror}, 0));  // [B, C, F + 2, n, m]
    raw = upwind_features(raw, u);
  } else {
    raw = filters.convolve(u, k);
  }
  // [B, C, F, n, m] -> [B·n·m, C·F]
  return raw.reshape({b, ch * f, n, m}).permute({0, 2, 3, 1}).reshape({b * n * m, ch * f});
}

Tensor PdeNet2::upwind_features(const Tensor& raw, const Tensor& u) const {
  const int64_t f = filters.size(), b = u.size(0), ch = u.size(1), n = u.size(2), m = u.size(3);
  Tensor central = raw.narrow(2, 0, f);
  // Which side is upwind: the sign of each channel's ∂rhs/∂(its own u_x, u_y), evaluated
  // with the learned (forward-looking) filters; the choice itself is not differentiated.
  Tensor probe = central.detach()
                     .reshape({b, ch * f, n, m})
                     .permute({0, 2, 3, 1})
                     .reshape({b * n * m, ch * f});
  probe.requires_grad_();
  std::vector<Tensor> per_channel;
  for (int64_t c = 0; c < ch; ++c) {
    Tensor g;
    {
      autograd::EnableGradGuard enable;
      g = autograd::grad({symnets[c](probe).sum()}, {probe})[0];
    }
    // g [P, C·F] -> the columns of this channel's ∂x and ∂y, as [B, n, m]
    Tensor gx = g.select(1, c * f + fx_).reshape({b, n, m});
    Tensor gy = g.select(1, c * f + fy_).reshape({b, n, m});
    Tensor chan = raw.select(1, c);  // [B, F + 2, n, m]
    Tensor dx = where(gx > 0.0, chan.select(1, fx_), chan.select(1, f));
    Tensor dy = where(gy > 0.0, chan.select(1, fy_), chan.select(1, f + 1));
    TensorList cols;
    for (int64_t j = 0; j < f; ++j)
      cols.push_back(j == fx_ ? dx : j == fy_ ? dy : chan.select(1, j));
    per_channel.push_back(stack(cols, 1));  // [B, F, n, m]
  }
  return stack(per_channel, 1);  // [B, C, F, n, m]
}

Tensor PdeNet2::rhs(const Tensor& u) const {
  Tensor x = features(u);
  const int64_t b = u.size(0), n = u.size(2), m = u.size(3);
  TensorList out;
  for (const SymNet& s : symnets) out.push_back(s(x).reshape({b, n, m}));
  return stack(out, 1);
}

Tensor PdeNet2::step(const Tensor& u) const {
  Tensor v = u;
  for (int64_t s = 0; s < o_.substeps; ++s) v = block(v);
  return v;
}

std::vector<Polynomial> PdeNet2::expansions() const {
  std::vector<Polynomial> out;
  for (const SymNet& s : symnets) out.push_back(s.expand());
  return out;
}

std::string PdeNet2::equations(double prune) const {
  std::string s;
  std::vector<Polynomial> p = expansions();
  for (size_t c = 0; c < p.size(); ++c)
    s += (c ? "\n" : "") + o_.channels[c] + "_t = " + to_string(p[c], feature_names_, prune);
  return s;
}

}  // namespace ctdl::examples::pdenet

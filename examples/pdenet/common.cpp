#include "common.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <numbers>
#include <sstream>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/train/plot.h"

namespace ctdl::examples::pdenet {

std::string term_name(const nn::DiffOrder& order, const std::string& field) {
  if (order[0] == 0 && order[1] == 0) return field;
  return field + "_" + std::string(order[0], 'x') + std::string(order[1], 'y');
}

std::vector<double> periodic_cubic_weights(const std::vector<double>& xs, int64_t mesh) {
  const double h = 2.0 * std::numbers::pi / static_cast<double>(mesh);
  std::vector<double> w(xs.size() * mesh, 0.0);
  for (size_t p = 0; p < xs.size(); ++p) {
    double s = xs[p] / h;
    double cell = std::floor(s), t = s - cell;
    // Lagrange basis on the nodes −1, 0, 1, 2 around t ∈ [0, 1).
    double basis[4] = {-t * (t - 1) * (t - 2) / 6, (t + 1) * (t - 1) * (t - 2) / 2,
                       -(t + 1) * t * (t - 2) / 2, (t + 1) * t * (t - 1) / 6};
    for (int q = 0; q < 4; ++q) {
      int64_t node = static_cast<int64_t>(cell) - 1 + q;
      node = ((node % mesh) + mesh) % mesh;
      w[p * mesh + node] += basis[q];
    }
  }
  return w;
}

GridInterpolation grid_interpolation(const std::vector<std::array<double, 2>>& offsets, int64_t n,
                                     int64_t mesh, DType dtype) {
  std::vector<double> px, py;
  for (const auto& o : offsets) {
    std::vector<double> wx = periodic_cubic_weights(grid_coordinates(n, o[0]), mesh);
    std::vector<double> wy = periodic_cubic_weights(grid_coordinates(n, o[1]), mesh);
    px.insert(px.end(), wx.begin(), wx.end());
    py.insert(py.end(), wy.begin(), wy.end());
  }
  const int64_t b = static_cast<int64_t>(offsets.size());
  return {tensor(px, {b, n, mesh}, {.dtype = dtype}), tensor(py, {b, n, mesh}, {.dtype = dtype})};
}

Tensor interpolate(const Tensor& nodes, const GridInterpolation& g) {
  // c[b, f] = Px[b] · C[f] · Py[b]ᵀ
  Tensor left = matmul(g.px.unsqueeze(1), nodes.unsqueeze(0));  // [B, F, n, mesh]
  return matmul(left, g.py.mT().unsqueeze(1));                  // [B, F, n, n]
}

std::string format_number(double v) {
  std::ostringstream s;
  s << std::setprecision(4) << v;
  return s.str();
}

double relative_l2(const Tensor& a, const Tensor& b) {
  return (a - b).norm().item<double>() / b.norm().item<double>();
}

std::vector<double> relative_l2_per_sample(const Tensor& a, const Tensor& b) {
  const int64_t n = a.size(0);
  Tensor diff = (a - b).reshape({n, -1}).square().sum({1}).sqrt();
  Tensor ref = b.reshape({n, -1}).square().sum({1}).sqrt();
  return (diff / ref).to_vector<double>();
}

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0.0;
  std::sort(v.begin(), v.end());
  double pos = q * static_cast<double>(v.size() - 1);
  size_t lo = static_cast<size_t>(std::floor(pos)), hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - lo) * (v[hi] - v[lo]);
}

double median(std::vector<double> v) { return quantile(std::move(v), 0.5); }

StageResult lbfgs_stage(const TensorList& params, const std::function<Tensor()>& loss,
                        int64_t max_iter, int64_t history) {
  nn::LBFGS opt(params, {.max_iter = max_iter,
                         .max_eval = max_iter * 5 / 4 + 10,
                         .tolerance_grad = 1e-14,
                         .tolerance_change = 1e-16,
                         .history_size = history,
                         .line_search = nn::LineSearch::StrongWolfe});
  auto closure = [&] {
    opt.zero_grad();
    Tensor l = loss();
    l.backward();
    return l;
  };
  StageResult r;
  r.loss_before = opt.step(closure).item<double>();
  {
    autograd::NoGradGuard no_grad;
    r.loss_after = loss().item<double>();
  }
  r.evaluations = opt.function_evaluations();
  return r;
}

void plot_side_by_side(const std::filesystem::path& png, const std::vector<Tensor>& fields,
                       const std::string& title) {
  const int64_t n = fields.at(0).size(0), gap = std::max<int64_t>(1, n / 16);
  double lo = fields[0].min().item<double>();
  for (const Tensor& f : fields) lo = std::min(lo, f.min().item<double>());
  TensorList parts;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) parts.push_back(full({n, gap}, lo, {.dtype = fields[i].dtype()}));
    parts.push_back(fields[i]);
  }
  nn::plot_image(
      png.string(), cat(parts, 1),
      {.title = title, .width = 360 * static_cast<int>(fields.size()) + 160, .height = 420});
}

}  // namespace ctdl::examples::pdenet

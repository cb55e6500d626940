#include "ctdl/nn/modules/moment_conv.h"

#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace {

using Matrix = std::vector<std::vector<double>>;

Matrix moment_matrix_host(int64_t k) {
  Matrix v(k, std::vector<double>(k));
  double c = (k - 1) / 2.0;
  for (int64_t a = 0; a < k; ++a) {
    double power = 1.0;  // (a − c)^i / i!
    for (int64_t i = 0; i < k; ++i) {
      v[i][a] = power;
      power *= (a - c) / static_cast<double>(i + 1);
    }
  }
  return v;
}

// Gauss–Jordan with partial pivoting; V is a scaled Vandermonde matrix, invertible for
// distinct nodes, and small (k <= 11 in practice).
Matrix invert(Matrix a) {
  const size_t n = a.size();
  Matrix inv(n, std::vector<double>(n, 0.0));
  for (size_t i = 0; i < n; ++i) inv[i][i] = 1.0;
  for (size_t col = 0; col < n; ++col) {
    size_t pivot = col;
    for (size_t r = col + 1; r < n; ++r)
      if (std::abs(a[r][col]) > std::abs(a[pivot][col])) pivot = r;
    CTDL_CHECK(std::abs(a[pivot][col]) > 1e-300, "moment_matrix_1d: singular moment matrix");
    std::swap(a[col], a[pivot]);
    std::swap(inv[col], inv[pivot]);
    double p = a[col][col];
    for (size_t j = 0; j < n; ++j) a[col][j] /= p, inv[col][j] /= p;
    for (size_t r = 0; r < n; ++r) {
      if (r == col || a[r][col] == 0.0) continue;
      double f = a[r][col];
      for (size_t j = 0; j < n; ++j) a[r][j] -= f * a[col][j], inv[r][j] -= f * inv[col][j];
    }
  }
  return inv;
}

Tensor to_tensor(const Matrix& m, DType dtype) {
  std::vector<double> flat;
  for (const auto& row : m) flat.insert(flat.end(), row.begin(), row.end());
  int64_t n = static_cast<int64_t>(m.size());
  return tensor(flat, {n, n}, {.dtype = dtype});
}

int64_t checked_kernel_size(const Tensor& t, const char* op) {
  CTDL_CHECK(t.dim() >= 2 && t.size(-1) == t.size(-2) && t.size(-1) > 0, op,
             ": expected square kernels or moments [..., k, k], got ", t.shape());
  return t.size(-1);
}

}  // namespace

std::vector<DiffOrder> orders_up_to(int64_t max_order) {
  CTDL_CHECK(max_order >= 0, "orders_up_to: max_order must be >= 0, got ", max_order);
  std::vector<DiffOrder> out;
  for (int64_t total = 0; total <= max_order; ++total)
    for (int64_t i = total; i >= 0; --i) out.push_back({i, total - i});
  return out;
}

Tensor moment_matrix_1d(int64_t kernel_size, DType dtype) {
  CTDL_CHECK(kernel_size > 0, "moment_matrix_1d: kernel_size must be positive, got ", kernel_size);
  return to_tensor(moment_matrix_host(kernel_size), dtype);
}

Tensor kernel_to_moments(const Tensor& kernels) {
  int64_t k = checked_kernel_size(kernels, "kernel_to_moments");
  Tensor v = moment_matrix_1d(k, kernels.dtype());
  return matmul(matmul(v, kernels), v.t());
}

Tensor moments_to_kernel(const Tensor& moments) {
  int64_t k = checked_kernel_size(moments, "moments_to_kernel");
  Tensor v_inv = to_tensor(invert(moment_matrix_host(k)), moments.dtype());
  return matmul(matmul(v_inv, moments), v_inv.t());
}

std::vector<double> fd_stencil_1d(int64_t order, int64_t kernel_size) {
  CTDL_CHECK(order >= 0 && order < kernel_size, "fd_stencil_1d: order ", order,
             " needs a kernel of more than ", order, " points, got ", kernel_size);
  Matrix inv = invert(moment_matrix_host(kernel_size));
  std::vector<double> w(kernel_size);
  for (int64_t a = 0; a < kernel_size; ++a) w[a] = inv[a][order];
  return w;
}

MomentConv2d::MomentConv2d(std::vector<DiffOrder> orders, MomentConvOptions o)
    : Module("MomentConv2d"), orders_(std::move(orders)), options_(o) {
  const int64_t k = o.kernel_size, f = size();
  CTDL_CHECK(k > 0 && k % 2 == 1, "MomentConv2d: kernel_size must be odd and positive, got ", k);
  CTDL_CHECK(f > 0, "MomentConv2d: no derivative orders given");
  CTDL_CHECK(o.dx > 0 && o.dy > 0, "MomentConv2d: grid spacings must be positive, got dx = ", o.dx,
             ", dy = ", o.dy);
  CTDL_CHECK(o.accuracy >= 0, "MomentConv2d: accuracy must be >= 0, got ", o.accuracy);
  CTDL_CHECK(o.learning_scale > 0, "MomentConv2d: learning_scale must be positive, got ",
             o.learning_scale);
  std::vector<double> m(f * k * k, 0.0), mask(f * k * k, 0.0), scale(f);
  for (int64_t n = 0; n < f; ++n) {
    auto [ax, ay] = orders_[n];
    CTDL_CHECK(ax >= 0 && ay >= 0 && ax < k && ay < k, "MomentConv2d: order {", ax, ", ", ay,
               "} needs a kernel of more than ", std::max(ax, ay), " points, got ", k);
    m[(n * k + ax) * k + ay] = 1.0;
    scale[n] = 1.0 / (std::pow(o.dx, ax) * std::pow(o.dy, ay));
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        bool learned = o.constraint == MomentConstraint::Free ||
                       (o.constraint == MomentConstraint::Moment && i + j >= ax + ay + o.accuracy);
        mask[(n * k + i) * k + j] = learned ? 1.0 : 0.0;
      }
  }
  TensorOptions t{.dtype = o.dtype};
  std::vector<double> fixed(m.size());
  for (size_t i = 0; i < m.size(); ++i) fixed[i] = m[i] * (1.0 - mask[i]);
  moments = register_parameter("moments", tensor(m, {f, k, k}, t));
  free_mask = register_buffer("free_mask", tensor(mask, {f, k, k}, t));
  fixed_moments = register_buffer("fixed_moments", tensor(fixed, {f, k, k}, t));
  v_inverse_ = register_buffer("v_inverse", to_tensor(invert(moment_matrix_host(k)), o.dtype));
  scale_ = register_buffer("scale", tensor(scale, {f, 1, 1}, t));
}

Tensor MomentConv2d::effective_moments() const {
  if (options_.learning_scale == 1.0) return moments * free_mask + fixed_moments;
  return moments * (free_mask * options_.learning_scale) + fixed_moments;
}

Tensor MomentConv2d::kernels() const {
  Tensor q = matmul(matmul(v_inverse_, effective_moments()), v_inverse_.t());
  return q * scale_;
}

Tensor MomentConv2d::convolve(const Tensor& u, const Tensor& kernels) const {
  CTDL_CHECK(u.dim() == 4, "MomentConv2d: expected a field [N, C, H, W], got ", u.shape());
  CTDL_CHECK(kernels.dim() == 3 && kernels.size(1) == options_.kernel_size &&
                 kernels.size(2) == options_.kernel_size,
             "MomentConv2d: expected kernels [F, ", options_.kernel_size, ", ",
             options_.kernel_size, "], got ", kernels.shape());
  const int64_t n = u.size(0), c = u.size(1), h = u.size(2), w = u.size(3);
  const int64_t p = options_.kernel_size / 2, f = kernels.size(0);
  Tensor x = u.reshape({n * c, 1, h, w});
  Tensor weight = kernels.unsqueeze(1);
  Tensor out;
  if (options_.padding_mode == PadMode::Constant) {
    out = conv2d(x, weight, {}, {.pad_h = p, .pad_w = p});
  } else {
    out = conv2d(pad(x, {p, p, p, p}, options_.padding_mode), weight);
  }
  return out.view({n, c, f, h, w});
}

Tensor MomentConv2d::operator()(const Tensor& u) const { return convolve(u, kernels()); }

void MomentConv2d::set_kernel(int64_t f, const Tensor& stencil) {
  const int64_t k = options_.kernel_size;
  CTDL_CHECK(f >= 0 && f < size(), "MomentConv2d::set_kernel: filter ", f, " of ", size());
  CTDL_CHECK(stencil.dim() == 2 && stencil.size(0) == k && stencil.size(1) == k,
             "MomentConv2d::set_kernel: expected a stencil [", k, ", ", k, "], got ",
             stencil.shape());
  Tensor m = kernel_to_moments(stencil.to(DType::Float64));
  if (options_.constraint != MomentConstraint::Free) {
    std::vector<double> mv = m.to_vector<double>();
    auto [ax, ay] = orders_[f];
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        if (i + j >= ax + ay + options_.accuracy) continue;
        double want = (i == ax && j == ay) ? 1.0 : 0.0;
        CTDL_CHECK(std::abs(mv[i * k + j] - want) < 1e-8, "MomentConv2d::set_kernel: filter ", f,
                   " approximates d^{", ax, ",", ay, "} but the stencil's moment {", i, ",", j,
                   "} is ", mv[i * k + j], ", not ", want);
      }
  }
  autograd::NoGradGuard no_grad;
  Tensor mf = m.to(moments.dtype()), mask = free_mask.select(0, f);
  moments.select(0, f).copy_(mf * mask / options_.learning_scale + mf * (1.0 - mask));
  fixed_moments.select(0, f).copy_(mf * (1.0 - mask));
}

}  // namespace ctdl::nn

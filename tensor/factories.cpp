// Tensors made from nothing, from host data, or at random.
#include <cmath>

#include "ctdl/tensor/dispatch.h"
#include "ctdl/tensor/ops.h"

namespace ctdl {
namespace {

Tensor finish(Tensor t, const TensorOptions& options) {
  if (options.requires_grad) t.requires_grad_(true);
  return t;
}

DType float_type(const TensorOptions& options) { return options.dtype.value_or(kDefaultFloat); }

// Copies host values into a new tensor on options.device, converting to the requested type.
template <class T>
Tensor from_host(const T* values, int64_t count, const Dims& shape, DType natural,
                 const TensorOptions& options) {
  CTDL_CHECK(count == numel(shape), "tensor: ", count, " values do not fill shape ", shape);
  Tensor host = dispatch::empty(shape, dtype_of<T>(), Device::cpu());
  std::copy(values, values + count, host.data<T>());
  Tensor t = dispatch::to_device(dispatch::cast(host, options.dtype.value_or(natural)), options.device);
  return finish(t, options);
}

}  // namespace

Tensor empty(const Dims& shape, TensorOptions options) {
  return finish(dispatch::empty(shape, float_type(options), options.device), options);
}

Tensor full(const Dims& shape, double value, TensorOptions options) {
  return finish(dispatch::fill(shape, value, float_type(options), options.device), options);
}

Tensor zeros(const Dims& shape, TensorOptions options) { return full(shape, 0.0, options); }
Tensor ones(const Dims& shape, TensorOptions options) { return full(shape, 1.0, options); }
Tensor scalar_tensor(double value, TensorOptions options) { return full({}, value, options); }

Tensor zeros_like(const Tensor& t, std::optional<DType> dtype) { return full_like(t, 0.0, dtype); }
Tensor ones_like(const Tensor& t, std::optional<DType> dtype) { return full_like(t, 1.0, dtype); }
Tensor full_like(const Tensor& t, double value, std::optional<DType> dtype) {
  return dispatch::fill(t.shape(), value, dtype.value_or(t.dtype()), t.device());
}

Tensor scalar_like(double value, const Tensor& like) {
  bool integral = std::floor(value) == value && std::abs(value) < 9.2e18;
  return dispatch::fill({}, value, promote_with_scalar(like.dtype(), integral), like.device());
}

Tensor arange(double end, TensorOptions options) { return arange(0.0, end, 1.0, options); }

Tensor arange(double start, double end, double step, TensorOptions options) {
  CTDL_CHECK(step != 0.0, "arange: step must be non-zero");
  auto n = static_cast<int64_t>(std::ceil((end - start) / step));
  n = std::max<int64_t>(n, 0);
  std::vector<double> values(n);
  for (int64_t i = 0; i < n; ++i) values[i] = start + static_cast<double>(i) * step;
  bool integral = std::floor(start) == start && std::floor(step) == step;
  return from_host(values.data(), n, {n}, integral ? DType::Int64 : kDefaultFloat, options);
}

Tensor linspace(double start, double end, int64_t steps, TensorOptions options) {
  CTDL_CHECK(steps >= 0, "linspace: steps must be non-negative, got ", steps);
  std::vector<double> values(steps);
  for (int64_t i = 0; i < steps; ++i)
    values[i] = steps == 1 ? start : start + (end - start) * static_cast<double>(i) / static_cast<double>(steps - 1);
  if (steps > 1) values[steps - 1] = end;
  return from_host(values.data(), steps, {steps}, kDefaultFloat, options);
}

Tensor eye(int64_t n, TensorOptions options) {
  std::vector<double> values(n * n, 0.0);
  for (int64_t i = 0; i < n; ++i) values[i * n + i] = 1.0;
  return from_host(values.data(), n * n, {n, n}, kDefaultFloat, options);
}

Tensor tensor(const std::vector<double>& values, const Dims& shape, TensorOptions options) {
  return from_host(values.data(), values.size(), shape, kDefaultFloat, options);
}
Tensor tensor(const std::vector<float>& values, const Dims& shape, TensorOptions options) {
  return from_host(values.data(), values.size(), shape, DType::Float32, options);
}
Tensor tensor(const std::vector<int64_t>& values, const Dims& shape, TensorOptions options) {
  return from_host(values.data(), values.size(), shape, DType::Int64, options);
}
Tensor tensor(const std::vector<bool>& values, const Dims& shape, TensorOptions options) {
  std::vector<char> bytes(values.begin(), values.end());
  CTDL_CHECK(static_cast<int64_t>(bytes.size()) == numel(shape), "tensor: ", bytes.size(),
             " values do not fill shape ", shape);
  Tensor host = dispatch::empty(shape, DType::Bool, Device::cpu());
  std::copy(bytes.begin(), bytes.end(), reinterpret_cast<char*>(host.raw_data()));
  return finish(dispatch::to_device(dispatch::cast(host, options.dtype.value_or(DType::Bool)), options.device),
                options);
}
Tensor tensor(std::initializer_list<double> values, TensorOptions options) {
  return tensor(std::vector<double>(values), {static_cast<int64_t>(values.size())}, options);
}
Tensor tensor(std::initializer_list<std::initializer_list<double>> rows, TensorOptions options) {
  std::vector<double> values;
  int64_t cols = rows.size() ? static_cast<int64_t>(rows.begin()->size()) : 0;
  for (const auto& row : rows) {
    CTDL_CHECK(static_cast<int64_t>(row.size()) == cols, "tensor: rows of different lengths (",
               row.size(), " and ", cols, ")");
    values.insert(values.end(), row.begin(), row.end());
  }
  return tensor(values, {static_cast<int64_t>(rows.size()), cols}, options);
}

Tensor rand(const Dims& shape, TensorOptions options, Generator* generator) {
  return finish(dispatch::random(RandomKind::Uniform, shape, float_type(options), options.device, 0.0, 1.0, generator),
                options);
}

Tensor randn(const Dims& shape, TensorOptions options, Generator* generator) {
  return finish(dispatch::random(RandomKind::Normal, shape, float_type(options), options.device, 0.0, 1.0, generator),
                options);
}

Tensor randint(int64_t low, int64_t high, const Dims& shape, TensorOptions options,
               Generator* generator) {
  CTDL_CHECK(low < high, "randint: empty range [", low, ", ", high, ")");
  return finish(dispatch::random(RandomKind::Integer, shape, options.dtype.value_or(DType::Int64),
                                 options.device, static_cast<double>(low), static_cast<double>(high), generator),
                options);
}

Tensor rand_like(const Tensor& t, Generator* generator) {
  return rand(t.shape(), {.dtype = t.dtype(), .device = t.device()}, generator);
}

Tensor randn_like(const Tensor& t, Generator* generator) {
  return randn(t.shape(), {.dtype = t.dtype(), .device = t.device()}, generator);
}

}  // namespace ctdl

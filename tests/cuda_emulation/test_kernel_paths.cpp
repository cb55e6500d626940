// The CUDA kernels' paths that the op database's small samples never reach, on the CPU
// (test_cuda_emulated only): long and many rows (warp, block and chunked reductions,
// two-pass argmax), 16-byte packs with tails and misaligned views, eight-term combinations,
// matmul's batch splits, host loops and copies, repeated indices, dilated windows with
// padding, and long random streams. Each result is checked against the CPU backend.
#include <cmath>
#include <functional>
#include <limits>
#include <source_location>

#include "cuda/cuda_device.h"

namespace ctdl::testing {
namespace {

using Op = std::function<Tensor(const TensorList&)>;

// f on `inputs` and on their device copies: floats within tolerance, others exactly.
void same(const Op& f, const TensorList& inputs, double rtol = 1e-6, double atol = 1e-9,
          std::source_location where = std::source_location::current()) {
  INFO("the case at line " << where.line());
  TensorList on_device;
  for (const Tensor& t : inputs) on_device.push_back(t.to(gpu()));
  const Tensor expected = f(inputs);
  const Tensor got = f(on_device);
  CHECK(got.device() == gpu());
  REQUIRE(got.dtype() == expected.dtype());
  REQUIRE(got.shape() == expected.shape());
  const Tensor host = got.to(Device::cpu());
  const bool floating = expected.is_floating_point();
  INFO("max |device - cpu| = " << max_abs_diff(host, expected));
  CHECK(allclose(host, expected, floating ? rtol : 0.0, floating ? atol : 0.0));
}

Tensor with_nan_at(Tensor x, int64_t flat_index) {
  std::vector<double> v = x.to_vector<double>();
  v[flat_index] = std::nan("");
  return tensor(v, x.shape()).to(x.dtype());
}

TEST_CASE("cuda kernels on the cpu: reductions along every path", "[cuda][emulated][reduce]") {
  manual_seed(1);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype);
    const TensorOptions o{.dtype = dtype};
    // The CPU forms float32 sums and products in short float blocks: float32 is compared
    // loosely, float64 (accumulated in double on both) tightly.
    const double tol = dtype == DType::Float32 ? 1e-4 : 1e-12;
    for (auto reduce : {+[](const Tensor& x, const Dims& d) { return sum(x, d); },
                        +[](const Tensor& x, const Dims& d) { return amax(x, d); },
                        +[](const Tensor& x, const Dims& d) { return amin(x, d); }}) {
      auto along = [&](Dims d) { return [=](const TensorList& in) { return reduce(in[0], d); }; };
      same(along({1}), {randn({300, 5}, o)}, tol, tol);         // short rows, a thread each
      same(along({0}), {randn({30000, 7}, o)}, tol, tol);       // columns: rows adjacent, chunked
      same(along({1}), {randn({5000, 40}, o)}, tol, tol);       // many rows, a warp each
      same(along({1}), {randn({4096, 1100}, o)}, tol, tol);     // many long rows, a block each
      same(along({1}), {randn({2, 100000}, o)}, tol, tol);      // few long rows, in chunks
      same(along({}), {randn({2200000}, o)}, tol, tol);         // more than 256 chunks
      same(along({1, 2}), {randn({30, 4, 50}, o).permute({1, 0, 2})}, tol, tol);
      // NaN wins max and min, whichever chunk or lane holds it.
      same(along({1}), {with_nan_at(randn({2, 100000}, o), 150000)}, tol, tol);
      same(along({1}), {with_nan_at(randn({5000, 40}, o), 12345)}, tol, tol);
    }
    same([](const TensorList& in) { return prod(in[0], {1}); }, {1.0 + 0.001 * randn({5000, 40}, o)}, tol, tol);
    same([](const TensorList& in) { return prod(in[0], {1}); }, {1.0 + 0.0001 * randn({2, 100000}, o)},
         dtype == DType::Float32 ? 1e-2 : 1e-12);
  }
  {
    Tensor i = randint(-1000, 1000, {3000, 300});
    same([](const TensorList& in) { return sum(in[0], {1}); }, {i});
    same([](const TensorList& in) { return sum(in[0], {0}); }, {i});
    same([](const TensorList& in) { return amax(in[0], {1}); }, {i});
    same([](const TensorList& in) { return amin(in[0]); }, {randint(-1000, 1000, {500000})});
    Tensor b = gt(randn({3000, 300}), full({1}, 2.5));
    same([](const TensorList& in) { return any(in[0], {1}); }, {b});
    same([](const TensorList& in) { return all(in[0], {0}); }, {logical_not(b)});
    same([](const TensorList& in) { return any(in[0]); }, {gt(randn({300000}), full({1}, 4.5))});
  }
}

TEST_CASE("cuda kernels on the cpu: argmax and argmin, ties to the first", "[cuda][emulated][reduce]") {
  manual_seed(2);
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64}) {
    INFO(dtype);
    // Few distinct values: many ties, which the first index must win.
    auto values = [&](const Dims& shape) { return randint(0, 7, shape).to(dtype); };
    for (auto arg : {+[](const Tensor& x, int64_t d) { return argmax(x, d); },
                     +[](const Tensor& x, int64_t d) { return argmin(x, d); }}) {
      auto along = [&](int64_t d) { return [=](const TensorList& in) { return arg(in[0], d); }; };
      same(along(1), {values({5000, 40})});      // a warp per row
      same(along(1), {values({3, 1500})});       // a block per row
      same(along(1), {values({2, 100000})});     // chunks, then a finishing pass
      same(along(1), {values({40, 5000}).t()});  // elements apart
      same(along(0), {values({300000, 2})});
      if (dtype != DType::Int64) {
        same(along(1), {with_nan_at(randn({2, 100000}).to(dtype), 170000)});
        same(along(1), {with_nan_at(randn({5000, 40}).to(dtype), 4321)});
      }
    }
  }
}

TEST_CASE("cuda kernels on the cpu: elementwise packs, tails and layouts", "[cuda][emulated][elementwise]") {
  manual_seed(3);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype);
    const TensorOptions o{.dtype = dtype};
    Tensor a = randn({1001, 24}, o), row = randn({24}, o), c = randn({300, 300}, o);
    same([](const TensorList& in) { return in[0] + in[1]; }, {a, row});                  // repeated row
    same([](const TensorList& in) { return in[0] * in[1]; }, {a.narrow(1, 1, 23), row.narrow(0, 1, 23)});  // misaligned
    same([](const TensorList& in) { return in[0] - 2.5; }, {a.narrow(0, 1, 1000)});      // broadcast value
    same([](const TensorList& in) { return exp(in[0]); }, {c.t()}, 1e-6);                // strided
    same([](const TensorList& in) { return in[0] / in[1]; }, {c, c.t()});
    same([](const TensorList& in) { return maximum(in[0], in[1]); }, {with_nan_at(c, 7), c.t()});
    same([](const TensorList& in) { return lt(in[0], in[1]); }, {a, row});               // bool out, 16 per pack
    same([](const TensorList& in) { return where(in[0], in[1], in[2]); },
         {gt(a, full({1}, 0.0)), a, row});
    same([](const TensorList& in) { return in[0].to(DType::Int64); }, {a * 100.0});
    same([](const TensorList& in) { return in[0].to(DType::Bool); }, {relu(c)});
    same([](const TensorList& in) { return pow(in[0], 3.0); }, {c.narrow(1, 3, 297)}, 1e-6);
    same([](const TensorList& in) { return pow(in[0], 3.0); }, {c.narrow(1, 1, 297)}, 1e-6);
    same([](const TensorList& in) { return clamp(in[0], -0.5, 0.5); }, {c.t()});
    for (Activation act : {Activation::None, Activation::Relu, Activation::Tanh, Activation::Sigmoid})
      same([act](const TensorList& in) { return bias_activation(in[0], in[1], act); }, {a, row}, 1e-6);
    // Eight terms: packs, misaligned, a repeated row and a transposed one.
    Tensor t = randn({8, 1001}, o);
    TensorList terms;
    for (int k = 0; k < 8; ++k) terms.push_back(t.select(0, k));
    // float32: the CPU rounds strided layouts' sums differently in the last bit.
    const double ctol = dtype == DType::Float32 ? 1e-5 : 1e-6;
    auto combine = [](const TensorList& in) {
      return linear_combination(in, {0.5, -1.0, 2.0, 0.25, 3.0, -0.75, 1.5, 0.1});
    };
    same(combine, terms, ctol);
    TensorList shifted;
    for (int k = 0; k < 8; ++k) shifted.push_back(t.select(0, k).narrow(0, 1, 1000));
    same(combine, shifted, ctol);
    Tensor m = randn({64, 48}, o), r = randn({48}, o);
    same(combine, {m, r, m.t().t(), randn({48, 64}, o).t(), m, r, m, m}, ctol);
  }
  Tensor i = randint(-50, 50, {1001, 3});
  same([](const TensorList& in) { return clamp(in[0], -10.5, 20.5); }, {i});
  same([](const TensorList& in) { return abs(in[0]) + in[1]; }, {i, i.t().t()});
  same([](const TensorList& in) { return zeros_like(in[0]) + in[0].t().t(); }, {i});
}

TEST_CASE("cuda kernels on the cpu: matmul's batch splits, loops and copies", "[cuda][emulated][matmul]") {
  manual_seed(4);
  auto mm = [](const TensorList& in) { return matmul(in[0], in[1]); };
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype);
    const TensorOptions o{.dtype = dtype};
    const double rtol = dtype == DType::Float32 ? 1e-4 : 1e-12;
    const double atol = dtype == DType::Float32 ? 1e-4 : 1e-12;
    same(mm, {randn({5, 7}, o), randn({7, 3}, o)}, rtol, atol);
    same(mm, {randn({7, 5}, o).t(), randn({3, 7}, o).t()}, rtol, atol);               // transposed
    same(mm, {randn({7}, o), randn({7, 3}, o)}, rtol, atol);                          // vector · matrix
    same(mm, {randn({5, 7}, o), randn({7}, o)}, rtol, atol);                          // matrix · vector
    same(mm, {randn({4, 5, 6}, o), randn({6, 3}, o)}, rtol, atol);                    // broadcast weight
    same(mm, {randn({4, 5, 6}, o), randn({4, 6, 3}, o)}, rtol, atol);
    same(mm, {randn({2, 3, 5, 6}, o), randn({2, 1, 6, 4}, o)}, rtol, atol);           // host loop
    same(mm, {randn({5, 20, 3, 6}, o).permute({1, 0, 2, 3}), randn({20, 5, 6, 4}, o)}, rtol, atol);  // copies
    same(mm, {randn({5, 20}, o).slice(1, 0, 20, 2), randn({10, 3}, o)}, rtol, atol); // column stride
    same(mm, {randn({5, 1}, o).expand({5, 6}), randn({6, 3}, o)}, rtol, atol);        // broadcast within
    same(mm, {randn({3, 0}, o), randn({0, 4}, o)}, rtol, atol);                       // K = 0
    same(mm, {randn({1, 6}, o), randn({6, 1}, o)}, rtol, atol);
  }
}

TEST_CASE("cuda kernels on the cpu: index kernels with repeated indices", "[cuda][emulated][index]") {
  manual_seed(5);
  Tensor idx = tensor(std::vector<int64_t>{3, 0, 3, 49, 7, 3, 0}, {7});
  for (DType dtype : {DType::Float32, DType::Float64, DType::Int64, DType::Bool}) {
    INFO(dtype);
    Tensor x = (randn({50, 60}) * 10).to(dtype);
    same([&](const TensorList& in) { return index_select(in[0], 0, in[1]); }, {x, idx});
    same([&](const TensorList& in) { return index_select(in[0], 1, in[1]); }, {x.t(), idx});
    Tensor src = (randn({7, 60}) * 10).to(dtype);
    same([](const TensorList& in) { return index_add_zeros({50, 60}, 0, in[1], in[0]); }, {src, idx}, 1e-6);
    same([](const TensorList& in) { return index_add_zeros({60, 50}, 1, in[1], in[0]); }, {src.t(), idx}, 1e-6);
    Tensor g = randint(0, 40, {30, 25, 5});
    Tensor y = (randn({30, 40, 5}) * 10).to(dtype);
    same([](const TensorList& in) { return gather(in[0], 1, in[1]); }, {y, g});
    same([](const TensorList& in) { return scatter_add(in[0], 1, in[1], in[2]); },
         {y, g, (randn({30, 25, 5}) * 10).to(dtype)}, 1e-6);
  }
}

TEST_CASE("cuda kernels on the cpu: windows with stride, padding and dilation", "[cuda][emulated][window]") {
  manual_seed(6);
  for (DType dtype : {DType::Float32, DType::Float64}) {
    INFO(dtype);
    const TensorOptions o{.dtype = dtype};
    const Conv2dOptions conv{.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 2, .dilation_h = 2, .dilation_w = 1};
    Tensor x = randn({2, 3, 17, 19}, o);
    same([&](const TensorList& in) { return unfold2d(in[0], conv, 3, 4); }, {x});
    same([&](const TensorList& in) { return unfold2d(in[0], conv, 3, 4); }, {x.transpose(2, 3)});
    Tensor cols = unfold2d(x, conv, 3, 4);
    same([&](const TensorList& in) { return fold2d(in[0], {2, 3, 17, 19}, conv); }, {randn_like(cols)}, 1e-6);
    same([&](const TensorList& in) { return conv2d(in[0], in[1], in[2], conv); },
         {x, randn({5, 3, 3, 4}, o), randn({5}, o)}, 1e-5, 1e-5);
    const Pool2dOptions pool{.kernel_h = 3, .kernel_w = 2, .stride_h = 2, .stride_w = 2, .pad_h = 1, .pad_w = 1, .dilation_h = 2};
    Tensor p = with_nan_at(randn({2, 3, 17, 19}, o), 100);
    same([&](const TensorList& in) { return max_pool2d(in[0], pool); }, {p});
    same([&](const TensorList& in) { return max_pool2d(in[0], pool); }, {full({1, 2, 6, 6}, -INFINITY, o)});
  }
}

TEST_CASE("cuda kernels on the cpu: long random streams are the CPU's", "[cuda][emulated][random]") {
  for (DType dtype : {DType::Float32, DType::Float64}) {
    Generator a(9), b(9);
    CHECK(rand({300001}, {.dtype = dtype}, &a).to_vector<double>() ==
          rand({300001}, {.dtype = dtype, .device = gpu()}, &b).to(Device::cpu()).to_vector<double>());
    CHECK(randn({300001}, {.dtype = dtype}, &a).to_vector<double>() ==
          randn({300001}, {.dtype = dtype, .device = gpu()}, &b).to(Device::cpu()).to_vector<double>());
  }
  Generator a(10), b(10);
  CHECK(randint(-5, 1000, {300001}, {}, &a).to_vector<double>() ==
        randint(-5, 1000, {300001}, {.device = gpu()}, &b).to(Device::cpu()).to_vector<double>());
}

}  // namespace
}  // namespace ctdl::testing

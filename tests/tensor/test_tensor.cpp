// Tensor basics: views, copies, dtypes, factories, printing, in-place ops.
#include <algorithm>
#include <functional>
#include <sstream>
#include <string>
#include <utility>

#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

TEST_CASE("views share storage and never copy", "[tensor]") {
  Tensor x = arange(0, 24, 1, {.dtype = DType::Float32}).reshape({2, 3, 4});
  Tensor t = x.transpose(0, 2);
  CHECK(t.shape() == Dims{4, 3, 2});
  CHECK(t.strides() == Dims{1, 4, 12});
  CHECK_FALSE(t.is_contiguous());
  CHECK(t.raw_data() == x.raw_data());
  Tensor s = x.select(1, 2);  // [2, 4]
  CHECK(s.to_vector<double>() == std::vector<double>{8, 9, 10, 11, 20, 21, 22, 23});
  Tensor n = x.narrow(2, 1, 2).slice(0, 1, 2);
  CHECK(n.shape() == Dims{1, 3, 2});
  CHECK(n.offset() == 13);
  Tensor e = arange(0, 3, 1, {.dtype = DType::Float32}).unsqueeze(1).expand({3, 5});
  CHECK(e.strides() == Dims{1, 0});
  CHECK(e.sum().item() == 15.0);
  {
    autograd::NoGradGuard no_grad;
    s.fill_(-1.0);  // writes through the view
  }
  CHECK(x.select(1, 2).sum().item() == -8.0);
}

TEST_CASE("reshape copies only when it must", "[tensor]") {
  Tensor x = randn({4, 6});
  CHECK(x.reshape({2, 12}).raw_data() == x.raw_data());
  CHECK(x.reshape({24}).raw_data() == x.raw_data());
  Tensor t = x.t();                                        // [6, 4], not contiguous
  CHECK(t.reshape({6, 2, 2}).raw_data() == x.raw_data());  // splitting a dim is still a view
  Tensor flat = t.reshape({24});                           // merging transposed dims is not
  CHECK(flat.raw_data() != x.raw_data());
  CHECK(allclose(flat, t.contiguous().view({24})));
  CHECK_THROWS_WITH(t.view({24}), Catch::Contains("view") && Catch::Contains("reshape"));
  CHECK(x.reshape({-1, 3}).shape() == Dims{8, 3});
}

TEST_CASE("contiguous, clone and detach", "[tensor]") {
  Tensor x = randn({3, 4});
  CHECK(x.contiguous().same(x));
  Tensor c = x.clone();
  CHECK(c.raw_data() != x.raw_data());
  CHECK(allclose(c, x));
  Tensor w = randn({3}, {.requires_grad = true});
  Tensor d = (w * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
  CHECK(d.grad_fn() == nullptr);
}

TEST_CASE("dtype promotion follows the written rules", "[tensor]") {
  Tensor f32 = ones({2}), f64 = ones({2}, {.dtype = DType::Float64});
  Tensor i64 = ones({2}, {.dtype = DType::Int64}), b = ones({2}, {.dtype = DType::Bool});
  CHECK((f32 + f64).dtype() == DType::Float64);
  CHECK((f32 + i64).dtype() == DType::Float32);
  CHECK((i64 + b).dtype() == DType::Int64);
  CHECK((f32 * 2.0).dtype() == DType::Float32);  // a scalar never widens
  CHECK((i64 * 2.0).dtype() == DType::Int64);    // an integral scalar keeps int64
  CHECK((i64 * 2.5).dtype() == DType::Float32);  // a fractional scalar makes it floating
  CHECK((i64 / i64).dtype() == DType::Float32);  // true division
  CHECK(exp(i64).dtype() == DType::Float32);
  CHECK((f32 < f64).dtype() == DType::Bool);
  CHECK(argmax(f32).dtype() == DType::Int64);
  CHECK(sum(b).dtype() == DType::Int64);
  CHECK(promote_types(DType::Bool, DType::Float64) == DType::Float64);
}

TEST_CASE("factories", "[tensor]") {
  CHECK(zeros({2, 3}).sum().item() == 0.0);
  CHECK(ones({2, 3}, {.dtype = DType::Int64}).sum().item<int64_t>() == 6);
  CHECK(full({2}, 7.5).to_vector<double>() == std::vector<double>{7.5, 7.5});
  CHECK(arange(5).dtype() == DType::Int64);
  CHECK(arange(0, 1, 0.25).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75});
  CHECK(linspace(0, 1, 5).to_vector<double>() == std::vector<double>{0, 0.25, 0.5, 0.75, 1});
  CHECK(eye(3).sum().item() == 3.0);
  CHECK(eye(3).to_vector<double>()[4] == 1.0);
  Tensor m = tensor({{1, 2}, {3, 4}});
  CHECK(m.shape() == Dims{2, 2});
  CHECK(m.select(0, 1).to_vector<double>() == std::vector<double>{3, 4});
  CHECK(tensor(std::vector<int64_t>{1, 2, 3}, {3}).dtype() == DType::Int64);
  CHECK(tensor(std::vector<bool>{true, false}, {2}).dtype() == DType::Bool);
  CHECK(zeros({0, 3}).numel() == 0);
  CHECK(scalar_tensor(2.0).dim() == 0);
  Tensor r = randint(3, 7, {1000});
  CHECK(amin(r).item<int64_t>() == 3);
  CHECK(amax(r).item<int64_t>() == 6);
}

TEST_CASE("printing shows values, shape, dtype and device", "[tensor]") {
  std::ostringstream out;
  out << tensor({{1.0, -2.5}, {0.0, 3.25}});
  CHECK(out.str() ==
        "tensor([[ 1.0000, -2.5000],\n"
        "        [ 0.0000,  3.2500]], shape=[2, 2], dtype=float32, device=cpu)");
  std::ostringstream out2;
  out2 << arange(3) << " " << (ones({2}, {.requires_grad = true}) * 2.0);
  CHECK(out2.str() ==
        "tensor([0, 1, 2], shape=[3], dtype=int64, device=cpu) "
        "tensor([2.0000, 2.0000], shape=[2], dtype=float32, device=cpu, grad_fn=<mul>)");
  std::ostringstream big;
  big << zeros({2000});
  CHECK(big.str().find("...") != std::string::npos);
  std::ostringstream s;
  s << scalar_tensor(1e-6, {.dtype = DType::Float64});
  CHECK(s.str() == "tensor(1.0000e-06, shape=[], dtype=float64, device=cpu)");
}

TEST_CASE("in-place ops under no-grad", "[tensor]") {
  Tensor x = ones({3});
  x.add_(tensor({1.0, 2.0, 3.0}), 2.0);
  CHECK(x.to_vector<double>() == std::vector<double>{3, 5, 7});
  x.mul_(0.5);
  CHECK(x.to_vector<double>() == std::vector<double>{1.5, 2.5, 3.5});
  x.clamp_(2.0, 3.0);
  CHECK(x.to_vector<double>() == std::vector<double>{2, 2.5, 3});
  Tensor y = zeros({2, 3});
  y.copy_(tensor({1.0, 2.0, 3.0}));  // broadcasts
  CHECK(y.sum().item() == 12.0);
}

TEST_CASE("in-place ops refuse broadcast views, fill_ writes through them", "[tensor]") {
  Tensor x = zeros({1, 3});
  Tensor view = x.expand({4, 3});  // four rows at one address
  auto refuses = [&](auto&& write) {
    try {
      write();
    } catch (const Error& e) {
      const std::string m = e.what();
      return m.find("broadcast view") != std::string::npos &&
             m.find("strides [0, 1]") != std::string::npos;
    }
    return false;
  };
  CHECK(refuses([&] { view.add_(arange(0, 12, 1, {.dtype = DType::Float32}).reshape({4, 3})); }));
  CHECK(refuses([&] { view.mul_(2.0); }));
  CHECK(refuses([&] { view.div_(ones({4, 3})); }));
  CHECK(refuses([&] { view.copy_(ones({4, 3})); }));
  CHECK(refuses([&] { view.clamp_(0.0, 1.0); }));
  CHECK(x.to_vector<double>() == std::vector<double>{0, 0, 0});  // nothing written
  view.fill_(2.0);
  CHECK(x.to_vector<double>() == std::vector<double>{2, 2, 2});
  x.expand({1, 3}).add_(ones({1, 3}));  // size-1 dims may have any stride
  CHECK(x.to_vector<double>() == std::vector<double>{3, 3, 3});
}

TEST_CASE("elements_distinct: whether a layout gives each element an address of its own",
          "[tensor]") {
  CHECK(elements_distinct({2, 3}, {3, 1}));        // contiguous
  CHECK(elements_distinct({3, 2}, {1, 3}));        // its transpose
  CHECK(elements_distinct({2, 3}, {6, 2}));        // every other column of a [2, 6]
  CHECK(elements_distinct({4, 1, 3}, {3, 0, 1}));  // a size-1 dimension's stride is moot
  CHECK(elements_distinct({5}, {0}) == false);     // a broadcast view
  CHECK(elements_distinct({2, 3}, {0, 1}) == false);
  CHECK(elements_distinct({2, 3}, {2, 1}) == false);  // (0, 2) and (1, 0) both at offset 2
  CHECK(elements_distinct({2, 3}, {-3, 1}));          // a reversed dimension
  CHECK(elements_distinct({0, 3}, {0, 0}));           // no elements at all
  // A transposed (non-contiguous, distinct) view takes in-place ops element by element.
  Tensor x = arange(0, 6, 1, {.dtype = DType::Float64}).reshape({2, 3});
  x.t().add_(tensor({{10.0, 20.0}, {30.0, 40.0}, {50.0, 60.0}}, {.dtype = DType::Float64}));
  CHECK(x.to_vector<double>() == std::vector<double>{10, 31, 52, 23, 44, 65});
}

TEST_CASE("split, chunk and the index helpers", "[tensor]") {
  Tensor x = arange(0, 10, 1, {.dtype = DType::Float32});
  TensorList parts = split(x, 4);
  REQUIRE(parts.size() == 3);
  CHECK(parts[2].to_vector<double>() == std::vector<double>{8, 9});
  CHECK(chunk(x, 3).size() == 3);
  CHECK(one_hot(tensor(std::vector<int64_t>{1, 0}, {2}), 3).to_vector<int64_t>() ==
        std::vector<int64_t>{0, 1, 0, 1, 0, 0});
  CHECK(all(x >= 0.0).item<bool>());
  CHECK_FALSE(any(x > 9.0).item<bool>());
  CHECK(isnan(log(tensor({-1.0}))).item<bool>());
}

TEST_CASE("numerically stable formulas", "[tensor]") {
  Tensor big = tensor({1000.0, 1000.0});
  CHECK(logsumexp(big).item() == Approx(1000.0 + std::log(2.0)));
  CHECK(softmax(big, 0).to_vector<double>() == std::vector<double>{0.5, 0.5});
  CHECK(sigmoid(tensor({-1000.0})).item() == 0.0);
  CHECK(softplus(tensor({1000.0})).item() == 1000.0);
  CHECK(softplus(tensor({-1000.0})).item() == 0.0);
  Tensor neg_inf = full({3}, -INFINITY);
  CHECK(std::isinf(logsumexp(neg_inf).item()));
  // Float32 sums accumulate in double: a million ones and 0.1s add up exactly enough.
  CHECK(full({1000000}, 0.1).sum().item() == Approx(100000.0).epsilon(1e-6));
}

TEST_CASE("norms of zeros have gradient 0, not NaN, to the second order", "[tensor]") {
  // sqrt and the p-th root have infinite slope at 0; a norm of zeros (a zero row of weights,
  // a state at rest) must still give a usable gradient: 0, the subgradient PyTorch gives.
  for (double p : {2.0, 3.0}) {
    INFO("p = " << p);
    Tensor x = tensor({{0.0, 0.0}, {3.0, -4.0}}, {.dtype = DType::Float64, .requires_grad = true});
    Tensor n = norm(x, p, {1});
    CHECK(n.to_vector<double>()[0] == 0.0);
    CHECK(n.to_vector<double>()[1] ==
          Approx(std::pow(std::pow(3.0, p) + std::pow(4.0, p), 1.0 / p)).epsilon(1e-14));
    Tensor g = autograd::grad({n.sum()}, {x}, {}, {.create_graph = true})[0];
    const std::vector<double> gv = g.to_vector<double>();
    CHECK(gv[0] == 0.0);
    CHECK(gv[1] == 0.0);
    // Away from 0 the usual gradient, x·|x|^(p-2) / ‖x‖^(p-1): for p = 2, (3, -4)/5.
    const double r = n.to_vector<double>()[1];
    CHECK(gv[2] == Approx(3.0 * std::pow(3.0, p - 2) / std::pow(r, p - 1)).epsilon(1e-12));
    CHECK(gv[3] == Approx(-4.0 * std::pow(4.0, p - 2) / std::pow(r, p - 1)).epsilon(1e-12));
    Tensor gg = autograd::grad({g.square().sum()}, {x})[0];
    for (double v : gg.to_vector<double>()) CHECK(std::isfinite(v));
  }
}

TEST_CASE("promotion for every pair of dtypes, with values", "[tensor]") {
  using D = DType;
  const D types[] = {D::Bool, D::Int64, D::Float32, D::Float64};
  // The table of tensor/dtype.h written out: row a, column b, in the order above.
  const D expected[4][4] = {{D::Bool, D::Int64, D::Float32, D::Float64},
                            {D::Int64, D::Int64, D::Float32, D::Float64},
                            {D::Float32, D::Float32, D::Float32, D::Float64},
                            {D::Float64, D::Float64, D::Float64, D::Float64}};
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) {
      INFO(types[i] << " with " << types[j]);
      Tensor a = tensor({1.0, 0.0, 1.0}, {.dtype = types[i]});
      Tensor b = tensor({1.0, 1.0, 0.0}, {.dtype = types[j]});
      CHECK(promote_types(types[i], types[j]) == expected[i][j]);
      Tensor s = a * b, c = a < b;
      CHECK(s.dtype() == expected[i][j]);
      CHECK(s.to_vector<double>() == std::vector<double>{1, 0, 0});
      CHECK(c.dtype() == D::Bool);
      CHECK(c.to_vector<double>() == std::vector<double>{0, 1, 0});
      if (types[i] != D::Bool || types[j] != D::Bool) {
        Tensor d = a - b;
        CHECK(d.dtype() == expected[i][j]);
        CHECK(d.to_vector<double>() == std::vector<double>{0, -1, 1});
      }
    }
  }
  // Scalars: never widen a tensor of their kind; a fractional one makes integers float32.
  Tensor b = tensor(std::vector<bool>{true, false}, {2});
  Tensor i = tensor(std::vector<int64_t>{7, -2}, {2});
  Tensor f64 = tensor({0.5, 1.5}, {.dtype = D::Float64});
  CHECK((b + 3.0).dtype() == D::Int64);
  CHECK((b + 3.0).to_vector<int64_t>() == std::vector<int64_t>{4, 3});
  CHECK((b * 2.5).dtype() == D::Float32);
  CHECK((b * 2.5).to_vector<double>() == std::vector<double>{2.5, 0});
  CHECK((i + 3.0).to_vector<int64_t>() == std::vector<int64_t>{10, 1});
  CHECK((i * 0.5).to_vector<double>() == std::vector<double>{3.5, -1});
  CHECK((i / tensor(std::vector<int64_t>{2, 4}, {2})).to_vector<double>() ==
        std::vector<double>{3.5, -0.5});
  CHECK((f64 * 2.0).dtype() == D::Float64);
  CHECK((f64 * 0.1).to_vector<double>() ==
        std::vector<double>{0.5 * 0.1, 1.5 * 0.1});  // no float32 rounding
  CHECK((i < 2.5).to_vector<double>() == std::vector<double>{0, 1});
  CHECK(mean(i).dtype() == D::Float32);
  CHECK(mean(i).item() == 2.5);
  CHECK(sqrt(tensor(std::vector<int64_t>{4, 9}, {2})).to_vector<double>() ==
        std::vector<double>{2, 3});
}

TEST_CASE("every view op aliases its input and writes through", "[tensor]") {
  auto views_of = [](const Tensor& x) {
    return std::vector<std::pair<std::string, Tensor>>{
        {"view", x.view({6, 4})},
        {"reshape", x.reshape({3, 8})},
        {"permute", x.permute({2, 0, 1})},
        {"transpose", x.transpose(0, 2)},
        {"mT", x.mT()},
        {"narrow", x.narrow(2, 1, 2)},
        {"slice", x.slice(2, 0, 4, 3)},
        {"select", x.select(1, 2)},
        {"expand", x.unsqueeze(0).expand({5, 2, 3, 4})},
        {"squeeze", x.unsqueeze(1).squeeze()},
        {"squeeze(dim)", x.unsqueeze(3).squeeze(3)},
        {"unsqueeze", x.unsqueeze(-1)},
        {"flatten", x.flatten()},
        {"detach", x.detach()}};
  };
  auto make = [] { return arange(0, 24, 1, {.dtype = DType::Float64}).reshape({2, 3, 4}); };
  const size_t count = views_of(make()).size();
  for (size_t k = 0; k < count; ++k) {
    Tensor x = make();
    auto [name, v] = views_of(x)[k];
    INFO(name);
    CHECK(v.impl()->storage == x.impl()->storage);
    // The elements v shows, by value (x holds 0..23, so values name positions).
    std::vector<double> shown = v.to_vector<double>();
    std::sort(shown.begin(), shown.end());
    shown.erase(std::unique(shown.begin(), shown.end()), shown.end());
    {
      autograd::NoGradGuard no_grad;
      v.fill_(-1.0);
    }
    std::vector<double> after = x.to_vector<double>();
    for (int64_t i = 0; i < 24; ++i) {
      bool in_view = std::binary_search(shown.begin(), shown.end(), static_cast<double>(i));
      CHECK(after[i] == (in_view ? -1.0 : static_cast<double>(i)));
    }
  }
  // Copies do not alias.
  Tensor x = randn({2, 3});
  CHECK(x.clone().impl()->storage != x.impl()->storage);
  CHECK(x.t().contiguous().impl()->storage != x.impl()->storage);
  CHECK(x.expand({4, 2, 3}).reshape({8, 3}).impl()->storage != x.impl()->storage);
}

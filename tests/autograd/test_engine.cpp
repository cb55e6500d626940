// The autograd engine: backward, grad, accumulation, higher order, hooks, memory.
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {

Tensor scalar(double v) {
  return scalar_tensor(v, {.dtype = DType::Float64, .requires_grad = true});
}

}  // namespace

// micrograd's own engine tests, with the values PyTorch gives for the same expressions.
TEST_CASE("micrograd-style scalar expressions", "[autograd]") {
  SECTION("sanity check") {
    Tensor x = scalar(-4.0);
    Tensor z = 2.0 * x + 2.0 + x;
    Tensor q = relu(z) + z * x;
    Tensor h = relu(z * z);
    Tensor y = h + q + q * x;
    y.backward();
    CHECK(y.item() == Approx(-20.0));
    CHECK(x.grad().item() == Approx(46.0));
  }
  SECTION("more ops") {
    Tensor a = scalar(-4.0), b = scalar(2.0);
    Tensor c = a + b;
    Tensor d = a * b + pow(b, 3.0);
    c = c + c + 1.0;
    c = c + 1.0 + c + (-a);
    d = d + d * 2.0 + relu(b + a);
    d = d + 3.0 * d + relu(b - a);
    Tensor e = c - d;
    Tensor f = pow(e, 2.0);
    Tensor g = f / 2.0;
    g = g + 10.0 / f;
    g.backward();
    CHECK(g.item() == Approx(24.70408163265306).epsilon(1e-12));
    CHECK(a.grad().item() == Approx(138.83381924198252).epsilon(1e-12));
    CHECK(b.grad().item() == Approx(645.5772594752186).epsilon(1e-12));
  }
}

TEST_CASE("gradients accumulate into .grad and zero_grad clears them", "[autograd]") {
  Tensor w = tensor({1.0, 2.0, 3.0}, {.dtype = DType::Float64, .requires_grad = true});
  (w * w).sum().backward();
  (w * 3.0).sum().backward();
  CHECK(allclose(w.grad(), tensor({5.0, 7.0, 9.0}, {.dtype = DType::Float64})));
  w.zero_grad();
  CHECK_FALSE(w.grad().defined());
}

TEST_CASE("backward with an explicit gradient and through broadcasting", "[autograd]") {
  Tensor a = randn({3, 1}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor b = randn({4}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y = a * b;  // [3, 4]
  Tensor g = ones({3, 4}, {.dtype = DType::Float64});
  y.backward(g);
  CHECK(a.grad().shape() == Dims{3, 1});
  CHECK(allclose(a.grad(), b.sum().expand({3, 1})));
  CHECK(allclose(b.grad(), a.sum().expand({4})));
}

TEST_CASE("retain_graph allows a second backward, its absence refuses it", "[autograd]") {
  Tensor x = scalar(2.0);
  Tensor y = exp(x) * x;
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  double once = std::exp(2.0) * 3.0;
  CHECK(x.grad().item() == Approx(2 * once));
  Tensor z = exp(x) * x;
  z.backward();
  CHECK_THROWS_WITH(z.backward(), Catch::Contains("second time"));
}

TEST_CASE("grad() returns gradients without touching .grad", "[autograd]") {
  Tensor x = randn({5}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y = (sin(x) * x).sum();
  TensorList g = autograd::grad({y}, {x});
  CHECK_FALSE(x.grad().defined());
  CHECK(allclose(g[0], cos(x.detach()) * x.detach() + sin(x.detach())));
  Tensor unused = randn({2}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y2 = (x * x).sum();
  CHECK_THROWS_WITH(autograd::grad({y2}, {unused}), Catch::Contains("was not used"));
  TensorList g2 = autograd::grad({(x * x).sum()}, {unused, x}, {}, {.allow_unused = true});
  CHECK_FALSE(g2[0].defined());
  CHECK(allclose(g2[1], 2.0 * x.detach()));
}

TEST_CASE("grad() without create_graph returns gradients without history", "[autograd]") {
  Tensor x = randn({3}, {.dtype = DType::Float64, .requires_grad = true});
  // add's backward hands the seed on unchanged: the one way a gradient can carry history
  // when nothing is recorded.
  Tensor seed = randn({3}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor g = autograd::grad({x + 1.0}, {x}, {seed})[0];
  CHECK_FALSE(g.requires_grad());
  CHECK(seed.requires_grad());
  CHECK(allclose(g, seed.detach()));
  Tensor computed = autograd::grad({(x * x).sum()}, {x})[0];  // made in the pass
  CHECK_FALSE(computed.requires_grad());
  CHECK(autograd::grad({x + 1.0}, {x}, {seed}, {.create_graph = true})[0].requires_grad());
}

TEST_CASE("grad() with respect to an intermediate tensor", "[autograd]") {
  Tensor x = randn({4}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor h = tanh(x);
  Tensor y = (h * h).sum();
  TensorList g = autograd::grad({y}, {h});
  CHECK(allclose(g[0], 2.0 * h.detach()));
}

TEST_CASE("higher-order gradients through create_graph", "[autograd]") {
  Tensor x = tensor({0.3, -1.2, 2.0}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor y = pow(x, 3.0).sum() + (sin(x) * x).sum();
  Tensor dy = autograd::grad({y}, {x}, {}, {.create_graph = true})[0];
  Tensor d2y = autograd::grad({dy.sum()}, {x}, {}, {.create_graph = true})[0];
  Tensor d3y = autograd::grad({d2y.sum()}, {x})[0];
  Tensor xv = x.detach();
  CHECK(allclose(dy, 3.0 * xv * xv + cos(xv) * xv + sin(xv), 1e-12, 1e-12));
  CHECK(allclose(d2y, 6.0 * xv - sin(xv) * xv + 2.0 * cos(xv), 1e-12, 1e-12));
  CHECK(allclose(d3y, full({3}, 6.0, {.dtype = DType::Float64}) - cos(xv) * xv - 3.0 * sin(xv),
                 1e-12, 1e-12));
}

TEST_CASE("backward on a non-scalar output needs a gradient", "[autograd]") {
  Tensor x = randn({3}, {.requires_grad = true});
  Tensor y = x * 2.0;
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("backward") && Catch::Contains("[3]") &&
                                      Catch::Contains("one-element"));
  Tensor c = randn({3});
  CHECK_THROWS_WITH(c.sum().backward(), Catch::Contains("does not require grad"));
}

TEST_CASE("no-grad mode records nothing", "[autograd]") {
  Tensor x = randn({3}, {.requires_grad = true});
  {
    autograd::NoGradGuard no_grad;
    Tensor y = x * 2.0;
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
  }
  CHECK((x * 2.0).requires_grad());
  Tensor d = (x * 2.0).detach();
  CHECK_FALSE(d.requires_grad());
}

TEST_CASE("in-place ops are refused on tensors in a graph and on modified saved tensors",
          "[autograd]") {
  Tensor w = randn({3}, {.requires_grad = true});
  CHECK_THROWS_WITH(w.add_(ones({3})), Catch::Contains("add_") && Catch::Contains("requires grad"));
  {
    autograd::NoGradGuard no_grad;
    w.add_(ones({3}));  // an optimizer step
  }
  Tensor x = randn({3});
  Tensor y = (w * x).sum();
  x.mul_(2.0);  // x was saved by mul
  CHECK_THROWS_WITH(y.backward(), Catch::Contains("modified in place"));
}

TEST_CASE("retain_grad and hooks", "[autograd]") {
  Tensor x = randn({3}, {.dtype = DType::Float64, .requires_grad = true});
  Tensor h = x * 3.0;
  h.retain_grad();
  Tensor doubled;
  h.register_hook([&](const Tensor& g) {
    doubled = g * 2.0;
    return doubled;
  });
  (h * h).sum().backward();
  CHECK(allclose(h.grad(), 2.0 * h.detach()));              // retained before the hook ran
  CHECK(allclose(x.grad(), 3.0 * 2.0 * 2.0 * h.detach()));  // the hook doubled what flowed on
  Tensor seen;
  x.register_hook([&](const Tensor& g) {
    seen = g;
    return Tensor();
  });
  x.zero_grad();
  (x * 5.0).sum().backward();
  CHECK(allclose(seen, full({3}, 5.0, {.dtype = DType::Float64})));
}

TEST_CASE("a graph of a million nodes backpropagates and frees without recursion", "[autograd]") {
  Tensor x = scalar(1.0);
  Tensor y = x;
  const int n = 1'000'000;
  for (int i = 0; i < n; ++i) y = y * 1.0000001;
  y.backward();
  CHECK(x.grad().item() == Approx(std::pow(1.0000001, n)).epsilon(1e-9));
  Tensor z = x;
  for (int i = 0; i < n; ++i) z = z + 1.0;
  z = Tensor();  // destroying the chain must not overflow the stack
  SUCCEED();
}

TEST_CASE("releasing graphs frees their memory: 1000 training steps leave allocations unchanged",
          "[autograd]") {
  Generator gen(3);
  Tensor w1 = randn({4, 16}, {.dtype = DType::Float64}, &gen).requires_grad_();
  Tensor w2 = randn({16, 1}, {.dtype = DType::Float64}, &gen).requires_grad_();
  Tensor x = randn({32, 4}, {.dtype = DType::Float64}, &gen),
         target = randn({32, 1}, {.dtype = DType::Float64}, &gen);
  auto step = [&] {
    Tensor loss = square(matmul(tanh(matmul(x, w1)), w2) - target).mean();
    loss.backward();
    autograd::NoGradGuard no_grad;
    w1.sub_(w1.grad() * 0.01);
    w2.sub_(w2.grad() * 0.01);
    w1.zero_grad();
    w2.zero_grad();
  };
  step();  // warm up anything cached
  MemoryStats before = memory_stats();
  for (int i = 0; i < 1000; ++i) step();
  MemoryStats after = memory_stats();
  CHECK(after.live_allocations == before.live_allocations);
  CHECK(after.live_bytes == before.live_bytes);
}

TEST_CASE("a retained graph is freed when its output goes away", "[autograd]") {
  MemoryStats before = memory_stats();
  {
    Tensor x = randn({100}, {.requires_grad = true});
    Tensor y = exp(tanh(x) * 2.0).sum();
    y.backward({}, true);
  }
  CHECK(memory_stats().live_allocations == before.live_allocations);
}

TEST_CASE("custom functions", "[autograd]") {
  struct Cube : autograd::CustomFunction {
    const char* name() const override { return "cube"; }
    TensorList forward(const TensorList& in) override {
      save_for_backward({in[0]});
      return {in[0] * in[0] * in[0], in[0] * 2.0};
    }
    TensorList backward(const TensorList& grad_out) override {
      Tensor x = saved()[0];
      return {grad_out[0] * 3.0 * x * x + grad_out[1] * 2.0};
    }
  };
  Tensor x = tensor({0.5, -1.5, 2.0}, {.dtype = DType::Float64, .requires_grad = true});
  TensorList out = autograd::apply(std::make_shared<Cube>(), {x});
  CHECK(out[0].grad_fn()->name() == std::string("cube"));
  (out[0].sum() + out[1].sum()).backward();
  CHECK(allclose(x.grad(), 3.0 * x.detach() * x.detach() + 2.0));
  // only one output used: the other's gradient arrives as zeros
  x.zero_grad();
  autograd::apply(std::make_shared<Cube>(), {x})[0].sum().backward();
  CHECK(allclose(x.grad(), 3.0 * x.detach() * x.detach()));
  // gradcheck through the custom function, and through its backward (it uses saved inputs)
  auto f = [](const TensorList& in) {
    return TensorList{autograd::apply(std::make_shared<Cube>(), in)[0]};
  };
  CHECK(autograd::gradcheck(f, {x}).ok);
  CHECK(autograd::gradgradcheck(f, {x}).ok);
}

TEST_CASE("gradcheck catches a wrong backward rule", "[autograd]") {
  struct WrongSquare : autograd::CustomFunction {
    TensorList forward(const TensorList& in) override {
      save_for_backward({in[0]});
      return {in[0] * in[0]};
    }
    TensorList backward(const TensorList& g) override { return {g[0] * saved()[0] * 2.1}; }
  };
  auto f = [](const TensorList& in) {
    return TensorList{autograd::apply(std::make_shared<WrongSquare>(), in)[0]};
  };
  Tensor x = randn({3}, {.dtype = DType::Float64, .requires_grad = true});
  autograd::GradcheckResult r = autograd::gradcheck(f, {x});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Catch::Contains("mismatch"));
}

TEST_CASE("gradgradcheck catches a rule that is right once but not twice", "[autograd]") {
  // The first derivative is right, but the rule reads x through a detached copy, so the
  // derivative of the rule with respect to x (6 v x) is lost.
  struct DetachedCube : autograd::CustomFunction {
    TensorList forward(const TensorList& in) override {
      save_for_backward({in[0]});
      return {in[0] * in[0] * in[0]};
    }
    TensorList backward(const TensorList& g) override {
      Tensor x = saved()[0].detach();
      return {g[0] * 3.0 * x * x};
    }
  };
  auto f = [](const TensorList& in) {
    return TensorList{autograd::apply(std::make_shared<DetachedCube>(), in)[0]};
  };
  Tensor x = tensor({0.5, -1.5, 2.0}, {.dtype = DType::Float64, .requires_grad = true});
  CHECK(autograd::gradcheck(f, {x}).ok);
  autograd::GradcheckResult r = autograd::gradgradcheck(f, {x});
  CHECK_FALSE(r.ok);
  CHECK_THAT(r.message, Catch::Contains("gradgradcheck") && Catch::Contains("mismatch"));
}

TEST_CASE("a hook on a fresh leaf survives until the leaf is used", "[autograd]") {
  Tensor x = tensor({1.0, 2.0}, {.dtype = DType::Float64, .requires_grad = true});
  int calls = 0;
  x.register_hook([&](const Tensor& g) {
    ++calls;
    return g * 10.0;
  });
  (x * x).sum().backward();
  CHECK(calls == 1);
  CHECK(allclose(x.grad(), tensor({20.0, 40.0}, {.dtype = DType::Float64})));
}

TEST_CASE("backward with create_graph leaves no cycle through .grad", "[autograd]") {
  // x.grad holds a graph that reaches x's own AccumulateGrad node; it must not keep x alive.
  MemoryStats before = memory_stats();
  {
    Tensor x = randn({1000}, {.dtype = DType::Float64, .requires_grad = true});
    pow(x, 3.0).sum().backward({}, false, /*create_graph=*/true);
    CHECK(x.grad().requires_grad());
    // The gradient is differentiable: d/dx sum(3 x^2) = 6 x.
    TensorList h = autograd::grad({x.grad().sum()}, {x});
    CHECK(allclose(h[0], 6.0 * x.detach(), 1e-12, 1e-12));
  }
  CHECK(memory_stats().live_allocations == before.live_allocations);
  CHECK(memory_stats().live_bytes == before.live_bytes);
}

TEST_CASE("a gradient whose leaf is gone is dropped", "[autograd]") {
  MemoryStats before = memory_stats();
  Tensor y;
  {
    Tensor x = randn({3}, {.dtype = DType::Float64, .requires_grad = true});
    y = (x + 1.0).sum();  // add saves nothing: only the graph refers to x's node
  }
  y.backward();  // nowhere to accumulate (a sanitizer build checks no freed memory is read)
  y = Tensor();
  CHECK(memory_stats().live_allocations == before.live_allocations);
}

TEST_CASE("a deep graph with fan-in: grad() and backward agree with the closed form",
          "[autograd]") {
  // y_{k+1} = y_k * c + x (two nodes a step): x feeds every step, so its node receives
  // 200,000 gradients, summed in the engine's buffer.
  Tensor x = scalar(0.5);
  const int n = 200'000;
  const double c = 0.99999;
  Tensor y = x;
  for (int i = 1; i < n; ++i) y = y * c + x;
  // y = x (1 + c + ... + c^(n-1)), so dy/dx = (1 - c^n) / (1 - c).
  double expected = (1.0 - std::pow(c, n)) / (1.0 - c);
  CHECK(y.item() == Approx(0.5 * expected).epsilon(1e-9));
  CHECK(autograd::grad({y}, {x}, {}, {.retain_graph = true})[0].item() ==
        Approx(expected).epsilon(1e-9));
  y.backward();
  CHECK(x.grad().item() == Approx(expected).epsilon(1e-9));
}

TEST_CASE("the engine sums gradients in place only where nothing else holds them",
          "[autograd]") {
  Tensor x = tensor({1.0, 2.0, 3.0}, {.dtype = DType::Float64, .requires_grad = true});
  SECTION("a broadcast gradient (sum's backward) is not summed into") {
    // x's buffer gets sum's gradient, one value expanded to [3] (stride 0), and 2x: in
    // either order, since which comes first is the engine's business. (The factor 2 makes
    // sum's incoming gradient a tensor of its own, so that nothing else holds the view.)
    (x.sum() * 2.0 + (x * x).sum()).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{4, 6, 8});
    x.zero_grad();
    ((x * x).sum() + x.sum() * 2.0).backward();
    CHECK(x.grad().to_vector<double>() == std::vector<double>{4, 6, 8});
  }
  SECTION("transposed gradients (non-contiguous, each element its own) sum correctly") {
    Tensor m = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}},
                      {.dtype = DType::Float64, .requires_grad = true});
    Tensor a = tensor({{1.0, 2.0}, {3.0, 4.0}, {5.0, 6.0}}, {.dtype = DType::Float64});
    // m's buffer gets transpose's backward of a, then of 10a: two [2, 3] views of [3, 2]s.
    ((m.t() * a).sum() + (m.t() * (a * 10.0)).sum()).backward();
    CHECK(m.grad().to_vector<double>() == std::vector<double>{11, 33, 55, 22, 44, 66});
  }
  SECTION("a gradient the caller holds is left as it was") {
    // add's backward passes the caller's gradient on to both of its inputs, here x twice.
    Tensor seed = tensor({1.0, 10.0, 100.0}, {.dtype = DType::Float64});
    (x + x).backward(seed);
    CHECK(x.grad().to_vector<double>() == std::vector<double>{2, 20, 200});
    CHECK(seed.to_vector<double>() == std::vector<double>{1, 10, 100});
  }
  SECTION("a gradient a hook kept is left as it was") {
    Tensor h = x * 3.0;
    Tensor seen;
    h.register_hook([&](const Tensor& g) {
      seen = g;
      return Tensor();
    });
    (h * 2.0 + h).sum().backward();  // h's buffer: 2 (from h·2), then 1 added
    CHECK(seen.to_vector<double>() == std::vector<double>{3, 3, 3});
    CHECK(x.grad().to_vector<double>() == std::vector<double>{9, 9, 9});
  }
  SECTION("with create_graph the sums are recorded, so second derivatives see them") {
    Tensor g = autograd::grad({(x * x).sum() + (x * x * x).sum()}, {x}, {},
                              {.create_graph = true})[0];  // 2x + 3x²
    Tensor gg = autograd::grad({g.sum()}, {x})[0];         // 2 + 6x
    CHECK(gg.to_vector<double>() == std::vector<double>{8, 14, 20});
  }
}

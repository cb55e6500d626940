// nn::Module: registration, dotted names, handle semantics under copy and move, training
// mode, conversion, apply, loading with every mismatch reported; modules in ODEs (ODEBlock).
#include "ctdl/nn/nn.h"
#include "ctdl/ode/lab/exact.h"
#include "ctdl/ode/ode.h"
#include "helpers.h"

using namespace ctdl;
using ctdl::testing::allclose;

namespace {

struct Block : nn::Module {
  nn::Linear fc = register_module("fc", nn::Linear(3, 4));
  nn::Dropout drop = register_module("drop", nn::Dropout(0.5));
  Tensor operator()(const Tensor& x) const { return drop(tanh(fc(x))); }
};

struct Net : nn::Module {
  Block block = register_module("block", Block());
  nn::Linear head = register_module("head", nn::Linear(4, 2));
  Tensor scale = register_parameter("scale", ones({2}));
  Tensor steps = register_buffer("steps", zeros({}, {.dtype = DType::Int64}));
  Tensor operator()(const Tensor& x) const { return head(block(x)) * scale; }
};

std::vector<std::string> names(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [n, t] : named) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("named_parameters gives dotted names in registration order", "[nn][module]") {
  Net net;
  CHECK(names(net.named_parameters()) == std::vector<std::string>{"scale", "block.fc.weight",
                                                                  "block.fc.bias", "head.weight",
                                                                  "head.bias"});
  CHECK(names(net.named_buffers()) == std::vector<std::string>{"steps"});
  CHECK(net.parameters().size() == 5);
  CHECK(net.num_parameters() == 2 + 12 + 4 + 8 + 2);
  for (const Tensor& p : net.parameters()) CHECK(p.requires_grad());
  CHECK(net.at("block.fc.weight").same(net.block.fc.weight));
  CHECK(net.contains("head.bias"));
  CHECK_FALSE(net.contains("head.gamma"));
  CHECK_THROWS_WITH_ALL(net.at("head.gamma"), "no parameter or buffer named 'head.gamma'",
                        "head.bias");
  std::vector<std::string> modules;
  for (const auto& [n, m] : net.named_modules()) modules.push_back(n + ":" + m.type_name());
  CHECK(modules == std::vector<std::string>{":Module", "block:Block", "block.fc:Linear",
                                            "block.drop:Dropout", "head:Linear"});
}

TEST_CASE("members and the registry stay one module through copies and moves", "[nn][module]") {
  Net original;
  Net copy = original;  // a handle: the same parameters
  Net moved = std::move(copy);
  std::vector<Net> many(3, moved);  // copies inside a container, reallocated on growth
  many.push_back(original);
  for (const Net* n : {&original, &moved, &many[0], &many[3]}) {
    TensorList params = n->parameters();
    CHECK(params[1].same(n->block.fc.weight));  // registry entry == member
    CHECK(params[1].same(original.block.fc.weight));
  }
  // A change through one handle is seen through every other.
  {
    autograd::NoGradGuard no_grad;
    many[2].head.weight.fill_(0.5);
  }
  CHECK(original.head.weight.to_vector<double>() == std::vector<double>(8, 0.5));
  // The training flag is shared state too.
  many[1].eval();
  CHECK_FALSE(original.is_training());
  CHECK_FALSE(original.block.drop.is_training());
  original.train();
  CHECK(moved.block.drop.is_training());
}

TEST_CASE("a copied model computes the same function as the original", "[nn][module]") {
  manual_seed(1);
  Net net;
  net.eval();
  Tensor x = randn({5, 3});
  Net copy = net;
  CHECK(allclose(copy(x), net(x), 0, 0));
  // And a model built then loaded from the first one's state also does.
  Net other;
  other.eval();
  CHECK_FALSE(allclose(other(x), net(x)));
  other.load_state_dict(net.state_dict());
  CHECK(allclose(other(x), net(x), 0, 0));
  CHECK_FALSE(other.head.weight.same(net.head.weight));  // independent storage
}

TEST_CASE("train and eval reach every descendant and change Dropout", "[nn][module]") {
  Net net;
  Tensor x = ones({200, 3});
  net.eval();
  for (const auto& [n, m] : net.named_modules()) CHECK_FALSE(m.is_training());
  CHECK(allclose(net(x), net(x), 0, 0));  // deterministic in evaluation
  net.train();
  for (const auto& [n, m] : net.named_modules()) CHECK(m.is_training());
  Tensor h = net.block(x);
  double zero_fraction = eq(h, zeros_like(h)).to(DType::Float64).mean().item();
  CHECK(zero_fraction > 0.4);
  CHECK(zero_fraction < 0.6);
}

TEST_CASE("to(dtype) converts in place: members and optimizer lists follow", "[nn][module]") {
  Net net;
  TensorList held = net.parameters();  // what an optimizer would keep
  std::vector<double> before = net.head.weight.to_vector<double>();
  net.to(DType::Float64);
  CHECK(net.head.weight.dtype() == DType::Float64);
  CHECK(held[3].dtype() == DType::Float64);
  CHECK(held[3].same(net.head.weight));
  CHECK(net.steps.dtype() == DType::Int64);  // integer buffers keep their type
  CHECK(net.head.weight.requires_grad());
  CHECK(net.head.weight.to_vector<double>() == before);
  Tensor y = net(randn({2, 3}, {.dtype = DType::Float64}));
  CHECK(y.dtype() == DType::Float64);
  y.sum().backward();
  CHECK(held[3].grad().defined());
  CHECK_THROWS_WITH_ALL(net.to(DType::Int64), "Module::to", "floating");
}

TEST_CASE("apply visits every module, children first", "[nn][module]") {
  Net net;
  std::vector<std::string> order;
  net.apply([&](nn::Module& m) {
    order.push_back(m.type_name());
    if (m.type_name() == "Linear") nn::init::zeros_(m.at("weight"));
  });
  CHECK(order == std::vector<std::string>{"Linear", "Dropout", "Linear", "Block", "Module"});
  CHECK(net.head.weight.abs().sum().item() == 0.0);
  CHECK(net.block.fc.weight.abs().sum().item() == 0.0);
}

TEST_CASE("load_state_dict reports every mismatch at once", "[nn][module]") {
  Net net;
  nn::NamedTensors state = net.state_dict();
  state.erase(state.begin() + 2);                        // block.fc.bias missing
  state[0].second = ones({3});                           // scale: wrong shape
  state[3].second = state[3].second.to(DType::Float64);  // head.bias: wrong dtype
  state.emplace_back("extra.weight", zeros({1}));        // unexpected
  std::vector<double> scale_before = net.scale.to_vector<double>();
  CHECK_THROWS_WITH_ALL(net.load_state_dict(state, "ckpt.safetensors"), "4 mismatches",
                        "missing 'block.fc.bias'",
                        "'scale' has shape [3] in ckpt.safetensors but [2]",
                        "'head.bias' is float64", "unexpected 'extra.weight'");
  CHECK(net.scale.to_vector<double>() == scale_before);  // nothing was copied
}

TEST_CASE("registration refuses bad names, duplicates and cycles", "[nn][module]") {
  struct Bad : nn::Module {
    void add(const std::string& name) { register_parameter(name, zeros({1})); }
    void add_module(const std::string& name, const nn::Module& m) { register_module(name, m); }
  };
  Bad bad;
  bad.add("w");
  CHECK_THROWS_WITH_ALL(bad.add("w"), "register_parameter", "already has something named 'w'");
  CHECK_THROWS_WITH_ALL(bad.add("a.b"), "must be non-empty and contain no '.'");
  Bad child;
  bad.add_module("child", child);
  CHECK_THROWS_WITH_ALL(child.add_module("parent", bad), "cannot be its own descendant");
}

TEST_CASE("a module shared by two parents is counted once", "[nn][module]") {
  nn::Linear shared(2, 2);
  nn::Sequential twice(shared, nn::Tanh(), shared);
  CHECK(twice.parameters().size() == 2);
  CHECK(names(twice.named_parameters()) == std::vector<std::string>{"0.weight", "0.bias"});
}

TEST_CASE("containers: Sequential, StaticSequential, ModuleList, Residual", "[nn][module]") {
  manual_seed(3);
  nn::Linear a(4, 8), b(8, 3);
  Tensor x = randn({6, 4});
  Tensor expected = b(relu(a(x)));

  nn::Sequential dynamic(a, nn::ReLU(), b);
  CHECK(allclose(dynamic(x), expected, 0, 0));
  CHECK(names(dynamic.named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"});
  CHECK(dynamic.get<nn::Linear>(2).weight.same(b.weight));
  CHECK_THROWS_WITH_ALL(dynamic.get<nn::Linear>(1), "layer 1 is not a Linear");
  nn::Sequential alias = dynamic;
  alias.push_back([](const Tensor& t) { return t * 2.0; });  // grows both handles
  CHECK(dynamic.size() == 4);
  CHECK(allclose(dynamic(x), expected * 2.0, 0, 0));

  nn::StaticSequential fixed(a, nn::ReLU(), b);
  CHECK(allclose(fixed(x), expected, 0, 0));
  CHECK(fixed.get<2>().weight.same(b.weight));
  CHECK(names(fixed.named_parameters()) ==
        names(nn::Sequential(a, nn::ReLU(), b).named_parameters()));

  nn::ModuleList<nn::Linear> list;
  for (int i = 0; i < 3; ++i) list.push_back(nn::Linear(4, 4));
  Tensor y = x;
  for (const nn::Linear& layer : list) y = layer(y);
  CHECK(allclose(y, list[2](list[1](list[0](x))), 0, 0));
  CHECK(list.parameters().size() == 6);

  nn::Residual residual(list[0]);
  CHECK(allclose(residual(x), x + list[0](x), 0, 0));
  CHECK(names(residual.named_parameters()) ==
        std::vector<std::string>{"block.weight", "block.bias"});

  nn::Autonomous f(list[1]);
  CHECK(allclose(f(0.5, x), list[1](x), 0, 0));
  CHECK(f.parameters().size() == 2);
}

TEST_CASE("a module prints as a tree with its parameters' shapes", "[nn][module]") {
  Net net;
  std::ostringstream out;
  out << net;
  CHECK(out.str() ==
        "Module (scale [2])\n"
        "  block: Block\n"
        "    fc: Linear (weight [4, 3], bias [4])\n"
        "    drop: Dropout\n"
        "  head: Linear (weight [2, 4], bias [2])\n");
}

TEST_CASE("a module is the right-hand side of odeint, its parameters trained by any scheme",
          "[nn][module][ode]") {
  // The user code of docs: a struct module with f(t, z), passed to odeint by value (a copy of
  // a module is a handle to the same parameters).
  struct ODEFunc : nn::Module {
    nn::Linear fc1 = register_module("fc1", nn::Linear(2, 16, {.dtype = DType::Float64}));
    nn::Linear fc2 = register_module("fc2", nn::Linear(16, 2, {.dtype = DType::Float64}));
    Tensor operator()(double, const Tensor& z) { return fc2(tanh(fc1(z))); }
  };
  manual_seed(4);
  ODEFunc f;
  Tensor z0 = randn({8, 2}, {.dtype = DType::Float64});
  auto gradients = [&](ode::Grad scheme) {
    f.zero_grad();
    Tensor zT = ode::odeint(f, z0, {0.0, 1.0},
                            {.solver = ode::Dopri5{.rtol = 1e-10, .atol = 1e-10},
                             .grad = scheme,
                             .params = f.parameters()});
    square(zT.select(0, 1)).sum().backward();
    TensorList g;
    for (const Tensor& p : f.parameters()) g.push_back(p.grad().clone());
    return g;
  };
  TensorList backprop = gradients(ode::Backprop{}), adjoint = gradients(ode::BacksolveAdjoint{});
  REQUIRE(backprop.size() == 4);
  for (size_t i = 0; i < 4; ++i) CHECK(allclose(adjoint[i], backprop[i], 1e-6, 1e-8));
  CHECK(backprop[0].abs().sum().item() > 0);
  nn::Adam opt(f.parameters(), {.lr = 1e-2});
  opt.step();  // the gradients left by the last solve feed an optimizer directly
  CHECK_FALSE(allclose(f.fc1.weight.grad(), zeros_like(f.fc1.weight)));
}

TEST_CASE("ODEBlock maps x to z(t1) and trains its dynamics under every gradient scheme",
          "[nn][module][ode]") {
  // f(z) = z·Wᵀ (a Linear without bias): z(1) = x·e^{W}ᵀ, with dL/dx and dL/dW known exactly
  // (ode/lab/exact.h, from the matrix exponential, not from a solver).
  manual_seed(7);
  const TensorOptions f64{.dtype = DType::Float64};
  nn::Linear linear(3, 3, {.bias = false, .dtype = DType::Float64});
  Tensor x = randn({4, 3}, f64), weights = randn({4, 3}, f64);
  auto loss = [&](const Tensor& z1) { return square(z1).sum() + (z1 * weights).sum(); };
  ode::lab::LinearReference exact = ode::lab::linear_exact(
      linear.weight.detach(), x, {0.0, 1.0}, [&](const TensorList& zs) { return loss(zs[1]); });
  const ode::Solver tight = ode::Dopri5{.rtol = 1e-11, .atol = 1e-12};
  for (ode::Grad grad :
       {ode::Grad(ode::Backprop{}), ode::Grad(ode::BacksolveAdjoint{.rtol = 1e-11, .atol = 1e-12}),
        ode::Grad(ode::CheckpointAdjoint{.checkpoints = 3}), ode::Grad(ode::SymplecticAdjoint{})}) {
    INFO(grad.name());
    nn::ODEBlock block(linear, {.solver = tight, .grad = grad});
    CHECK(names(block.named_parameters()) == std::vector<std::string>{"f.weight"});
    Tensor input = x.detach().requires_grad_();
    Tensor z1 = block(input);
    CHECK(allclose(z1, exact.states[1], 1e-9, 1e-10));
    TensorList g = autograd::grad({loss(z1)}, {input, linear.weight});
    CHECK(allclose(g[0], exact.grad_z0, 1e-8, 1e-9));
    CHECK(allclose(g[1], exact.grad_A, 1e-8, 1e-9));
  }
}

TEST_CASE("ODEBlock: time-dependent dynamics, trajectories, shared options, inside Sequential",
          "[nn][module][ode]") {
  struct Dynamics : nn::Module {
    nn::Linear fc1 = register_module("fc1", nn::Linear(2, 8, {.dtype = DType::Float64}));
    nn::Linear fc2 = register_module("fc2", nn::Linear(8, 2, {.dtype = DType::Float64}));
    Tensor operator()(double t, const Tensor& z) const { return fc2(tanh(fc1(z))) * (1.0 + t); }
  };
  manual_seed(8);
  const TensorOptions f64{.dtype = DType::Float64};
  Dynamics f;
  auto stats = std::make_shared<ode::Stats>();
  nn::ODEBlock block(f, {.solver = ode::RK4{.step_size = 0.25}, .stats = stats});
  Tensor x = randn({5, 2}, f64);
  // Four rk4 steps of f(t, z), written out.
  Tensor z = x;
  for (int n = 0; n < 4; ++n) {
    double t = 0.25 * n, h = 0.25;
    Tensor k1 = f(t, z), k2 = f(t + h / 2, z + k1 * (h / 2)), k3 = f(t + h / 2, z + k2 * (h / 2)),
           k4 = f(t + h, z + k3 * h);
    z = z + (k1 + k2 * 2.0 + k3 * 2.0 + k4) * (h / 6);
  }
  CHECK(allclose(block(x), z, 1e-13, 1e-13));
  CHECK(stats->steps == 4);
  Tensor zs = block.trajectory(x, {0.0, 0.5, 1.0});
  CHECK(zs.shape() == Dims{3, 5, 2});
  CHECK(allclose(zs.select(0, 2), z, 1e-13, 1e-13));

  // Options are shared by copies, like everything else of a module.
  nn::Sequential net(nn::Linear(3, 2, {.dtype = DType::Float64}), block);
  CHECK(names(net.named_parameters()) ==
        std::vector<std::string>{"0.weight", "0.bias", "1.f.fc1.weight", "1.f.fc1.bias",
                                 "1.f.fc2.weight", "1.f.fc2.bias"});
  block.options().grad = ode::BacksolveAdjoint{};
  block.options().solver = ode::Dopri5{.rtol = 1e-10, .atol = 1e-10};
  Tensor input = randn({5, 3}, f64);
  TensorList adjoint = autograd::grad({square(net(input)).sum()}, net.parameters());
  block.options().grad = ode::Backprop{};
  TensorList backprop = autograd::grad({square(net(input)).sum()}, net.parameters());
  for (size_t i = 0; i < backprop.size(); ++i) CHECK(allclose(adjoint[i], backprop[i], 1e-6, 1e-8));

  // An autonomous module f(z) works as it is.
  nn::ODEBlock linear_flow(nn::Linear(2, 2, {.bias = false, .dtype = DType::Float64}),
                           {.solver = ode::Euler{.step_size = 1.0}});
  CHECK(allclose(linear_flow(x), x + linear_flow.f(x), 1e-15, 0));
}

// Modules made of modules: Sequential (run time), StaticSequential (compile time),
// ModuleList, Residual, and Autonomous (a layer seen as the right-hand side f(t, z) of an ODE).
//
//   nn::Sequential mlp(nn::Linear(784, 256), nn::ReLU(), nn::Linear(256, 10));
//   mlp.push_back(nn::LogSoftmax(-1));                   // grows at run time
//   nn::Linear& first = mlp.get<nn::Linear>(0);          // typed access to a layer
//   // parameters: 0.weight, 0.bias, 2.weight, 2.bias
//
//   nn::StaticSequential fast(nn::Linear(2, 8), nn::Tanh(), nn::Linear(8, 2));  // types fixed
//   Tensor w = fast.get<0>().weight;
//
//   nn::ModuleList<nn::Linear> blocks;                   // one type, indexed, for loops
//   for (int i = 0; i < 4; ++i) blocks.push_back(nn::Linear(16, 16));
//   nn::Residual block(nn::Sequential(nn::Linear(16, 16), nn::ReLU()));   // x + f(x)
//   nn::Autonomous f(nn::Linear(2, 2));                  // f(t, z) = linear(z), for odeint
//
// Layers may be modules (registered under their index, as in PyTorch) or any callable
// Tensor(const Tensor&) (a lambda, `relu`), which takes an index but holds no parameters.
// Like every module these are handles: a copy shares the layers, and layers added to one
// copy appear in the other.
#pragma once

#include <any>
#include <deque>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "ctdl/nn/module.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

class Sequential : public Module {
 public:
  Sequential() : Module("Sequential"), layers_(std::make_shared<std::deque<Layer>>()) {}
  // One argument that is itself a Sequential is the copy constructor, not a nested layer.
  // clang-format off
  template <class... Layers>
    requires(sizeof...(Layers) > 0 &&
             !(sizeof...(Layers) == 1 && (std::is_same_v<std::remove_cvref_t<Layers>, Sequential> && ...)))
  explicit Sequential(Layers&&... layers) : Sequential() {
    (push_back(std::forward<Layers>(layers)), ...);
  }
  // clang-format on

  template <class L>
  Sequential& push_back(L layer) {
    std::string name = std::to_string(layers_->size());
    if constexpr (std::is_base_of_v<Module, L>) register_module(name, layer);
    layers_->push_back({[layer](const Tensor& x) mutable -> Tensor { return layer(x); }, layer});
    return *this;
  }

  Tensor operator()(const Tensor& x) const {
    Tensor y = x;
    for (Layer& layer : *layers_) y = layer.forward(y);
    return y;
  }
  size_t size() const { return layers_->size(); }
  // Layer i as type L (a handle sharing its parameters); throws if it is not an L.
  template <class L>
  L& get(size_t i) const {
    CTDL_CHECK(i < layers_->size(), "Sequential::get: index ", i, " out of range for ",
               layers_->size(), " layers");
    L* layer = std::any_cast<L>(&(*layers_)[i].value);
    CTDL_CHECK(layer != nullptr, "Sequential::get: layer ", i, " is not a ",
               detail::demangled_type_name(typeid(L).name()));
    return *layer;
  }

 private:
  struct Layer {
    std::function<Tensor(const Tensor&)> forward;
    std::any value;
  };
  std::shared_ptr<std::deque<Layer>> layers_;  // a deque: get() references survive push_back
};

template <class... Layers>
class StaticSequential : public Module {
 public:
  explicit StaticSequential(Layers... layers)
      : Module("StaticSequential"), layers_(std::move(layers)...) {
    register_all(std::index_sequence_for<Layers...>{});
  }
  Tensor operator()(const Tensor& x) const { return call<0>(x); }
  template <size_t I>
  auto& get() const {
    return std::get<I>(layers_);
  }
  static constexpr size_t size() { return sizeof...(Layers); }

 private:
  template <size_t... I>
  void register_all(std::index_sequence<I...>) {
    (register_one(std::to_string(I), std::get<I>(layers_)), ...);
  }
  template <class L>
  void register_one(const std::string& name, const L& layer) {
    if constexpr (std::is_base_of_v<Module, L>) register_module(name, layer);
  }
  template <size_t I>
  Tensor call(const Tensor& x) const {
    if constexpr (I == sizeof...(Layers))
      return x;
    else
      return call<I + 1>(std::get<I>(layers_)(x));
  }
  mutable std::tuple<Layers...> layers_;  // mutable: a layer's operator() need not be const
};

template <class M>
class ModuleList : public Module {
 public:
  ModuleList() : Module("ModuleList"), items_(std::make_shared<std::deque<M>>()) {}
  M& push_back(M module) {
    register_module(std::to_string(items_->size()), module);
    items_->push_back(std::move(module));
    return items_->back();
  }
  M& operator[](size_t i) const {
    CTDL_CHECK(i < items_->size(), "ModuleList: index ", i, " out of range for ", items_->size(),
               " modules");
    return (*items_)[i];
  }
  size_t size() const { return items_->size(); }
  auto begin() const { return items_->begin(); }
  auto end() const { return items_->end(); }

 private:
  std::shared_ptr<std::deque<M>> items_;  // a deque: references survive push_back
};

// y = x + block(x).
template <class M>
class Residual : public Module {
 public:
  explicit Residual(M block)
      : Module("Residual"), block(register_module("block", std::move(block))) {}
  Tensor operator()(const Tensor& x) const { return x + block(x); }
  mutable M block;
};

// f(t, z) = module(z): a time-independent layer as the right-hand side of an ODE.
template <class M>
class Autonomous : public Module {
 public:
  explicit Autonomous(M f) : Module("Autonomous"), f(register_module("f", std::move(f))) {}
  Tensor operator()(double /*t*/, const Tensor& z) const { return f(z); }
  mutable M f;
};

}  // namespace ctdl::nn

// nn::Module: the base of every layer and model, with named parameters, buffers and children.
//
//   struct MLP : nn::Module {
//     nn::Linear fc1 = register_module("fc1", nn::Linear(2, 64));
//     nn::Linear fc2 = register_module("fc2", nn::Linear(64, 2));
//     Tensor scale = register_parameter("scale", ones({2}));
//     Tensor operator()(const Tensor& x) const { return fc2(tanh(fc1(x))) * scale; }
//   };
//
//   MLP net;
//   for (auto& [name, p] : net.named_parameters()) std::cout << name << " " << p.shape() << "\n";
//   // fc1.weight [64, 2], fc1.bias [64], fc2.weight [2, 64], fc2.bias [2], scale [2]
//   nn::Adam opt(net.parameters(), {.lr = 1e-3});
//   net.eval();                        // every child sees it: Dropout, BatchNorm change behaviour
//   net.to(DType::Float64);            // converts every parameter and buffer in place
//
// Modules are handles, like Tensors. A module's registry (its parameters, buffers, children
// and training flag) lives in one shared state; copying a module copies the handle, and both
// copies name the same parameters. That is what makes the line
// `nn::Linear fc1 = register_module("fc1", nn::Linear(2, 64));` sound: the member `fc1` and
// the parent's registry entry are two handles of one state, so nothing dangles when the
// parent is copied or moved, and `fc1(x)` is a plain call (no holder, no `->`). For an
// independent copy, build a second model and `load_state_dict(first.state_dict())`.
//
// Calling conventions are free: a module is any type with an operator(); `Tensor(const
// Tensor&)` is what Sequential chains, `Tensor(double t, const Tensor& z)` what an ODE solver
// integrates. Parameters come back as a TensorList, in registration order, so optimizers and
// solvers take them directly.
#pragma once

#include <functional>
#include <memory>
#include <ostream>
#include <string>
#include <typeinfo>
#include <utility>
#include <vector>

#include "ctdl/tensor/tensor.h"

namespace ctdl::nn {

// Ordered (name, tensor) pairs: a module's state, a checkpoint's content.
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

namespace detail {
struct ModuleState;
std::string demangled_type_name(const char* mangled);
}  // namespace detail

class Module {
 public:
  // A fresh, empty module. `type_name` is what printing shows ("Linear", "MLP"); a module
  // registered as a child without one gets its C++ type's name.
  Module() : Module("Module") {}
  explicit Module(std::string type_name);
  virtual ~Module() = default;
  Module(const Module&) = default;  // shares the state: see the header comment
  Module(Module&&) noexcept = default;
  Module& operator=(const Module&) = default;
  Module& operator=(Module&&) noexcept = default;

  // ---- what the module holds (children's entries get dotted names: "fc1.weight") ----------------
  TensorList parameters() const;  // each parameter once, even when shared
  NamedTensors named_parameters() const;
  TensorList buffers() const;
  NamedTensors named_buffers() const;
  // Parameters and buffers together: what checkpoints save.
  NamedTensors state_dict() const;
  std::vector<std::pair<std::string, Module>> named_children() const;
  // This module ("") and every descendant, parents before children.
  std::vector<std::pair<std::string, Module>> named_modules() const;
  int64_t num_parameters() const;  // total number of elements

  // A parameter or buffer by (dotted) name, e.g. net.at("fc1.weight"); throws naming the
  // names there are when it is absent.
  Tensor at(const std::string& name) const;
  bool contains(const std::string& name) const;

  // ---- state changes (they reach every descendant) ----------------------------------------------
  void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const;
  // Converts parameters and floating buffers in place: existing handles (members, optimizer
  // lists) see the new device and dtype. Gradients are dropped.
  Module& to(Device device);
  Module& to(DType dtype);
  Module& to(Device device, DType dtype);
  // Calls fn on every descendant, then on this module (as PyTorch's apply), e.g. to
  // initialize weights by type:
  //   net.apply([](nn::Module& m) {
  //     if (m.type_name() == "Linear") nn::init::xavier_uniform_(m.at("weight"));
  //   });
  Module& apply(const std::function<void(Module&)>& fn);
  void zero_grad();

  // Copies `state` into the module's parameters and buffers (no autograd recorded). Every
  // problem — a missing name, an unexpected one, a shape or dtype that differs — is
  // collected and reported in one error. `source` names where the state came from.
  void load_state_dict(const NamedTensors& state, const std::string& source = "state dict");

  const std::string& type_name() const;
  // Whether two handles name the same module.
  bool same(const Module& other) const { return state_ == other.state_; }

 protected:
  // Adds a parameter (requires_grad is set unless `requires_grad` is false) and returns it,
  // for the member that keeps it.
  Tensor register_parameter(const std::string& name, Tensor value, bool requires_grad = true);
  // Adds a tensor saved with the module but not trained (BatchNorm's running statistics).
  Tensor register_buffer(const std::string& name, Tensor value);
  // Adds a child module and returns it (a handle of the same state) for the member.
  template <class M>
  M register_module(const std::string& name, M module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    add_child(name, module, detail::demangled_type_name(typeid(M).name()));
    return module;
  }

 private:
  void add_child(const std::string& name, const Module& child, const std::string& type_name);
  void print(std::ostream& out, const std::string& name, int depth) const;
  friend std::ostream& operator<<(std::ostream& out, const Module& module);
  std::shared_ptr<detail::ModuleState> state_;
};

// Prints the tree of modules with their parameters' shapes.
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace ctdl::nn

#include "ctdl/nn/module.h"

#include <cxxabi.h>

#include <cstdlib>
#include <unordered_set>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/state.h"
#include "ctdl/tensor/error.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::nn {

namespace detail {

struct ModuleState {
  std::string type_name;
  NamedTensors parameters;
  NamedTensors buffers;
  std::vector<std::pair<std::string, Module>> children;
  bool training = true;
};

std::string demangled_type_name(const char* mangled) {
  int status = 0;
  char* raw = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && raw ? raw : mangled;
  std::free(raw);
  // "ctdl::nn::Linear" -> "Linear", "(anonymous namespace)::Net" -> "Net"; keep template
  // arguments whole.
  size_t cut = name.find('<');
  size_t colon = name.rfind("::", cut == std::string::npos ? std::string::npos : cut);
  return colon == std::string::npos ? name : name.substr(colon + 2);
}

}  // namespace detail

namespace {

using detail::ModuleState;

std::string dotted(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

void check_name(const ModuleState& state, const std::string& name, const char* op) {
  CTDL_CHECK(!name.empty() && name.find('.') == std::string::npos, op, ": the name '", name,
             "' must be non-empty and contain no '.' (dots separate the levels of nested names)");
  auto taken = [&](const auto& list) {
    for (const auto& entry : list)
      if (entry.first == name) return true;
    return false;
  };
  CTDL_CHECK(!taken(state.parameters) && !taken(state.buffers) && !taken(state.children), op,
             ": a ", state.type_name, " already has something named '", name, "'");
}

// Replaces the data behind `t` (storage, dtype, layout) with `value`'s, keeping the handle:
// every copy of `t` (a member, an optimizer's list) sees the change.
void replace_data(const Tensor& t, const Tensor& value) {
  TensorImpl* impl = t.impl();
  const TensorImpl* src = value.impl();
  impl->storage = src->storage;
  impl->shape = src->shape;
  impl->strides = src->strides;
  impl->offset = src->offset;
  impl->dtype = src->dtype;
  impl->grad.reset();
}

}  // namespace

Module::Module(std::string type_name) : state_(std::make_shared<ModuleState>()) {
  state_->type_name = std::move(type_name);
}

const std::string& Module::type_name() const { return state_->type_name; }

Tensor Module::register_parameter(const std::string& name, Tensor value, bool requires_grad) {
  check_name(*state_, name, "register_parameter");
  CTDL_CHECK(value.defined(), "register_parameter: '", name, "' is an undefined tensor");
  CTDL_CHECK(value.is_leaf(), "register_parameter: '", name,
             "' must be a leaf tensor (it was "
             "computed from others); pass value.detach()");
  if (requires_grad) value.requires_grad_(true);
  state_->parameters.emplace_back(name, value);
  return value;
}

Tensor Module::register_buffer(const std::string& name, Tensor value) {
  check_name(*state_, name, "register_buffer");
  CTDL_CHECK(value.defined(), "register_buffer: '", name, "' is an undefined tensor");
  state_->buffers.emplace_back(name, value);
  return value;
}

void Module::add_child(const std::string& name, const Module& child, const std::string& type_name) {
  check_name(*state_, name, "register_module");
  bool cycle = false;
  for (const auto& [n, m] : child.named_modules()) cycle = cycle || m.state_ == state_;
  CTDL_CHECK(!cycle, "register_module: '", name, "' contains this ", state_->type_name,
             " already; a module cannot be its own descendant");
  if (child.state_->type_name == "Module") child.state_->type_name = type_name;
  state_->children.emplace_back(name, child);
}

// ---- traversal ----------------------------------------------------------------------------------

std::vector<std::pair<std::string, Module>> Module::named_modules() const {
  std::vector<std::pair<std::string, Module>> out;
  std::unordered_set<const ModuleState*> seen;  // a module shared by two parents counts once
  std::function<void(const std::string&, const Module&)> visit = [&](const std::string& prefix,
                                                                     const Module& m) {
    if (!seen.insert(m.state_.get()).second) return;
    out.emplace_back(prefix, m);
    for (const auto& [name, child] : m.state_->children) visit(dotted(prefix, name), child);
  };
  visit("", *this);
  return out;
}

std::vector<std::pair<std::string, Module>> Module::named_children() const {
  return state_->children;
}

namespace {

NamedTensors collect(const std::vector<std::pair<std::string, Module>>& modules,
                     const std::function<const NamedTensors&(const Module&)>& list) {
  NamedTensors out;
  std::unordered_set<const TensorImpl*> seen;  // a tensor shared by two modules counts once
  for (const auto& [prefix, m] : modules)
    for (const auto& [name, t] : list(m))
      if (seen.insert(t.impl()).second) out.emplace_back(dotted(prefix, name), t);
  return out;
}

TensorList values(const NamedTensors& named) {
  TensorList out;
  out.reserve(named.size());
  for (const auto& entry : named) out.push_back(entry.second);
  return out;
}

}  // namespace

NamedTensors Module::named_parameters() const {
  return collect(named_modules(),
                 [](const Module& m) -> const NamedTensors& { return m.state_->parameters; });
}

NamedTensors Module::named_buffers() const {
  return collect(named_modules(),
                 [](const Module& m) -> const NamedTensors& { return m.state_->buffers; });
}

TensorList Module::parameters() const { return values(named_parameters()); }
TensorList Module::buffers() const { return values(named_buffers()); }

NamedTensors Module::state_dict() const {
  NamedTensors out = named_parameters();
  for (auto& entry : named_buffers()) out.push_back(std::move(entry));
  return out;
}

int64_t Module::num_parameters() const {
  int64_t n = 0;
  for (const Tensor& p : parameters()) n += p.numel();
  return n;
}

bool Module::contains(const std::string& name) const {
  for (const auto& [n, t] : state_dict())
    if (n == name) return true;
  return false;
}

Tensor Module::at(const std::string& name) const {
  NamedTensors all = state_dict();
  for (const auto& [n, t] : all)
    if (n == name) return t;
  std::string names;
  for (const auto& [n, t] : all) names += (names.empty() ? "" : ", ") + n;
  fail("Module::at: a ", type_name(), " has no parameter or buffer named '", name,
       "' (it has: ", names.empty() ? "none" : names, ")");
}

// ---- state changes ------------------------------------------------------------------------------

void Module::train(bool on) {
  for (auto& [prefix, m] : named_modules()) m.state_->training = on;
}

bool Module::is_training() const { return state_->training; }

Module& Module::apply(const std::function<void(Module&)>& fn) {
  std::vector<std::pair<std::string, Module>> modules = named_modules();
  for (auto it = modules.rbegin(); it != modules.rend(); ++it) fn(it->second);
  return *this;
}

void Module::zero_grad() {
  for (Tensor& p : parameters()) p.zero_grad();
}

namespace {

void convert_all(const Module& module, const std::function<Tensor(const Tensor&, bool)>& convert) {
  autograd::NoGradGuard no_grad;
  for (const Tensor& p : module.parameters()) replace_data(p, convert(p.detach(), true));
  for (const Tensor& b : module.buffers()) replace_data(b, convert(b.detach(), false));
}

}  // namespace

Module& Module::to(Device device) {
  convert_all(*this, [&](const Tensor& t, bool) { return t.to(device); });
  return *this;
}

Module& Module::to(DType dtype) {
  CTDL_CHECK(is_floating(dtype), "Module::to: parameters must stay floating, got ", dtype);
  // Integer buffers (counters) keep their type; floating ones follow the parameters.
  convert_all(*this,
              [&](const Tensor& t, bool) { return t.is_floating_point() ? t.to(dtype) : t; });
  return *this;
}

Module& Module::to(Device device, DType dtype) {
  to(device);
  return to(dtype);
}

// ---- loading ------------------------------------------------------------------------------------

void Module::load_state_dict(const NamedTensors& state, const std::string& source) {
  assign_named(state_dict(), state, source, "the " + type_name());
}

// ---- printing -----------------------------------------------------------------------------------

void Module::print(std::ostream& out, const std::string& name, int depth) const {
  out << std::string(2 * depth, ' ') << (name.empty() ? "" : name + ": ") << type_name();
  bool first = true;
  for (const auto& [n, t] : state_->parameters) {
    out << (first ? " (" : ", ") << n << " " << t.shape();
    first = false;
  }
  if (!first) out << ")";
  out << "\n";
  for (const auto& [child_name, child] : state_->children) child.print(out, child_name, depth + 1);
}

std::ostream& operator<<(std::ostream& out, const Module& module) {
  module.print(out, "", 0);
  return out;
}

}  // namespace ctdl::nn

#include "ctdl/nn/state.h"

#include <map>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

void assign_named(const NamedTensors& targets, const NamedTensors& values,
                  const std::string& source, const std::string& destination) {
  std::map<std::string, const Tensor*> given;
  for (const auto& [name, t] : values) given[name] = &t;
  std::vector<std::string> problems;
  std::vector<std::pair<Tensor, Tensor>> copies;
  for (const auto& [name, target] : targets) {
    auto found = given.find(name);
    if (found == given.end()) {
      problems.push_back(str("missing '", name, "' (", target.dtype(), " ", target.shape(), ")"));
      continue;
    }
    const Tensor& value = *found->second;
    given.erase(found);
    if (value.shape() != target.shape())
      problems.push_back(str("'", name, "' has shape ", value.shape(), " in ", source, " but ",
                             target.shape(), " in ", destination));
    else if (value.dtype() != target.dtype())
      problems.push_back(str("'", name, "' is ", value.dtype(), " in ", source, " but ",
                             target.dtype(), " in ", destination));
    else
      copies.emplace_back(target, value);
  }
  for (const auto& [name, t] : given)
    problems.push_back(
        str("unexpected '", name, "' (", t->dtype(), " ", t->shape(), ") in ", source));
  if (!problems.empty()) {
    std::string message =
        str("load: ", problems.size(), problems.size() == 1 ? " mismatch" : " mismatches",
            " between ", source, " and ", destination, ":");
    for (const std::string& p : problems) message += "\n  " + p;
    fail(message);
  }
  autograd::NoGradGuard no_grad;
  for (auto& [target, value] : copies) target.copy_(value);
}

void load_state(const StateLoad& load, const NamedTensors& values, const std::string& source,
                const std::string& destination) {
  assign_named(load.targets, values, source, destination);
  if (load.finish) load.finish();
}

NamedTensors with_prefix_removed(const NamedTensors& named, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, t] : named)
    if (name.compare(0, prefix.size(), prefix) == 0)
      out.emplace_back(name.substr(prefix.size()), t);
  return out;
}

NamedTensors with_prefix(const NamedTensors& named, const std::string& prefix) {
  NamedTensors out;
  for (const auto& [name, t] : named) out.emplace_back(prefix + name, t);
  return out;
}

}  // namespace ctdl::nn

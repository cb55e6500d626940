// Copying named tensors into named tensors with every mismatch reported at once: what
// Module::load_state_dict and the optimizers' load_state_dict share.
//
//   nn::assign_named(model.state_dict(), file_tensors, "ckpt.safetensors", "the model");
//   // ctdl::Error: load: 2 mismatches between ckpt.safetensors and the model:
//   //   missing 'fc2.bias' (float32 [10])
//   //   'fc1.weight' has shape [64, 784] in ckpt.safetensors but [256, 784] in the model
#pragma once

#include <functional>
#include <string>

#include "ctdl/nn/module.h"

namespace ctdl::nn {

// Copies values[name] into targets[name] for every target (no autograd recorded). Throws,
// before copying anything, if a target is missing from values, a value has no target, or a
// shape or dtype differs.
void assign_named(const NamedTensors& targets, const NamedTensors& values,
                  const std::string& source, const std::string& destination);

// How an object (a module, an optimizer, a scheduler) takes a saved state: the tensors to
// copy it into — their names, shapes and dtypes are what loading checks — and what to do
// once they hold the new values. Splitting the check from the object lets a checkpoint
// check a model, its optimizer and its schedule together and report every problem at once.
struct StateLoad {
  NamedTensors targets;
  std::function<void()> finish;  // may be empty
};

// assign_named(load.targets, values, ...), then load.finish().
void load_state(const StateLoad& load, const NamedTensors& values, const std::string& source,
                const std::string& destination);

// The entries whose names start with `prefix`, with the prefix removed.
NamedTensors with_prefix_removed(const NamedTensors& named, const std::string& prefix);
// The same entries with `prefix` added to every name.
NamedTensors with_prefix(const NamedTensors& named, const std::string& prefix);

}  // namespace ctdl::nn

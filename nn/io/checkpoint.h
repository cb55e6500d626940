// Checkpoints: a model's parameters and buffers, and optionally its optimizer's and
// scheduler's state, in one .safetensors file.
//
//   nn::save(net, "net.safetensors");     // just the model (PyTorch-compatible names)
//   nn::load(net, "net.safetensors");     // checks names, shapes and dtypes
//
//   nn::save_checkpoint("ckpt.safetensors", {.model = &net, .optimizer = &opt,
//                                            .scheduler = &schedule,
//                                            .metadata = {{"epoch", "4"}}});
//   nn::Metadata meta = nn::load_checkpoint("ckpt.safetensors",
//       {.model = &net, .optimizer = &opt, .scheduler = &schedule});
//
// In a checkpoint the entries are named "model.<name>", "optimizer.<name>" and
// "scheduler.<name>". Loading checks every entry of every part against the objects given
// and reports all mismatches in one error before changing anything.
#pragma once

#include <string>

#include "ctdl/nn/io/safetensors.h"
#include "ctdl/nn/module.h"

namespace ctdl::nn {

class Optimizer;
class Scheduler;

void save(const Module& model, const std::string& path, const Metadata& metadata = {});
Metadata load(Module& model, const std::string& path);

struct CheckpointParts {
  const Module* model = nullptr;
  const Optimizer* optimizer = nullptr;
  const Scheduler* scheduler = nullptr;
  Metadata metadata;
};
void save_checkpoint(const std::string& path, const CheckpointParts& parts);

struct CheckpointTargets {
  Module* model = nullptr;
  Optimizer* optimizer = nullptr;
  Scheduler* scheduler = nullptr;
};
// Returns the checkpoint's metadata.
Metadata load_checkpoint(const std::string& path, const CheckpointTargets& targets);

}  // namespace ctdl::nn

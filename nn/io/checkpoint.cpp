#include "ctdl/nn/io/checkpoint.h"

#include "ctdl/nn/optim/optimizer.h"
#include "ctdl/nn/optim/scheduler.h"
#include "ctdl/nn/state.h"

namespace ctdl::nn {

void save(const Module& model, const std::string& path, const Metadata& metadata) {
  save_safetensors(path, model.state_dict(), metadata);
}

Metadata load(Module& model, const std::string& path) {
  Safetensors file = load_safetensors(path);
  model.load_state_dict(file.tensors, path);
  return file.metadata;
}

void save_checkpoint(const std::string& path, const CheckpointParts& parts) {
  NamedTensors all;
  auto add = [&](const NamedTensors& part, const std::string& prefix) {
    for (auto& entry : with_prefix(part, prefix)) all.push_back(std::move(entry));
  };
  if (parts.model) add(parts.model->state_dict(), "model.");
  if (parts.optimizer) add(parts.optimizer->state_dict(), "optimizer.");
  if (parts.scheduler) add(parts.scheduler->state_dict(), "scheduler.");
  Metadata metadata = parts.metadata;
  metadata["format"] = "ctdl checkpoint 1";
  save_safetensors(path, all, metadata);
}

Metadata load_checkpoint(const std::string& path, const CheckpointTargets& targets) {
  Safetensors file = load_safetensors(path);
  // One combined load: every part's targets under its prefix, checked together.
  std::vector<StateLoad> loads;
  StateLoad all;
  auto add = [&](StateLoad load, const std::string& prefix) {
    for (auto& entry : with_prefix(load.targets, prefix)) all.targets.push_back(std::move(entry));
    loads.push_back(std::move(load));
  };
  if (targets.model) add({targets.model->state_dict(), {}}, "model.");
  if (targets.optimizer)
    add(targets.optimizer->prepare_load(with_prefix_removed(file.tensors, "optimizer.")),
        "optimizer.");
  if (targets.scheduler) add(targets.scheduler->prepare_load(), "scheduler.");
  all.finish = [&] {
    for (const StateLoad& l : loads)
      if (l.finish) l.finish();
  };
  // Parts the caller did not ask for are skipped (load just the model of a training
  // checkpoint); entries of no part at all are reported as unexpected.
  NamedTensors values;
  for (const auto& [name, t] : file.tensors) {
    bool skipped = (name.rfind("model.", 0) == 0 && !targets.model) ||
                   (name.rfind("optimizer.", 0) == 0 && !targets.optimizer) ||
                   (name.rfind("scheduler.", 0) == 0 && !targets.scheduler);
    if (!skipped) values.emplace_back(name, t);
  }
  std::string what = targets.model ? "the model" : "";
  if (targets.optimizer)
    what += what.empty() ? "the optimizer" : (targets.scheduler ? ", optimizer" : " and optimizer");
  if (targets.scheduler) what += what.empty() ? "the scheduler" : " and scheduler";
  load_state(all, values, path, what);
  return file.metadata;
}

}  // namespace ctdl::nn

// The registry of examples that `ctdl run NAME` runs. An example is a function of a run
// context and a config struct; registering it is one declaration in its own folder:
//
//   // examples/spiral/spiral.cpp
//   struct SpiralConfig {
//     int64_t epochs = 20;
//     double lr = 1e-2;
//     std::string optimizer = "adam";
//   };
//   NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SpiralConfig, epochs, lr, optimizer)
//
//   void train_spiral(nn::Run& run, const SpiralConfig& config) {
//     ... run.log(...); run.set_metric(...);
//   }
//
//   const nn::RegisterExample<SpiralConfig> spiral{{
//       .name = "spiral",
//       .description = "two interleaved spirals, a small MLP",
//       .quick = {{"epochs", 3}},        // what --quick changes
//       .run = train_spiral,
//   }};
//
// and one line `add_subdirectory(spiral)` in examples/CMakeLists.txt, whose CMakeLists adds
// the sources to the ctdl_examples object library (see examples/README.md). The defaults
// are the struct's member initializers; `ctdl run spiral --set lr=0.1 --config my.json` is
// checked against them key by key (nn/train/config.h).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ctdl/nn/train/config.h"

namespace ctdl::nn {

class Run;

// The type-erased entry the registry keeps.
struct ExampleEntry {
  std::string name;
  std::string description;
  Json defaults;  // the config struct's defaults
  Json quick;     // overrides for --quick
  std::function<void(Run&, const Json&)> run;
  std::function<void(const Json&)> check;  // throws if the JSON does not convert to the config
};

void register_example(ExampleEntry entry);
// Sorted by name.
std::vector<const ExampleEntry*> registered_examples();
// Null when there is none of that name.
const ExampleEntry* find_example(const std::string& name);

template <class Config>
struct Example {
  std::string name;
  std::string description;
  Json quick = Json::object();
  std::function<void(Run&, const Config&)> run;
};

// Registers an example at static-initialization time (the object's only job).
template <class Config>
struct RegisterExample {
  explicit RegisterExample(Example<Config> example) {
    register_example(
        {example.name, example.description, Json(Config{}), example.quick,
         [run = example.run](Run& r, const Json& config) { run(r, config.get<Config>()); },
         [](const Json& config) { (void)config.get<Config>(); }});
  }
};

}  // namespace ctdl::nn

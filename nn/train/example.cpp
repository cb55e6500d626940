#include "ctdl/nn/train/example.h"

#include <algorithm>
#include <memory>

#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace {

// A function-local static: registrations run during static initialization, in an order
// between files that C++ does not fix, so the registry must exist before the first of them.
std::vector<std::unique_ptr<ExampleEntry>>& registry() {
  static std::vector<std::unique_ptr<ExampleEntry>> entries;
  return entries;
}

}  // namespace

void register_example(ExampleEntry entry) {
  CTDL_CHECK(!entry.name.empty() && entry.run,
             "register_example: an example needs a name and a run function");
  CTDL_CHECK(find_example(entry.name) == nullptr, "register_example: two examples are named '",
             entry.name, "'");
  CTDL_CHECK(entry.defaults.is_object(), "register_example: the config of '", entry.name,
             "' must convert to a JSON object (define to_json/from_json, e.g. with "
             "NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT)");
  registry().push_back(std::make_unique<ExampleEntry>(std::move(entry)));
}

std::vector<const ExampleEntry*> registered_examples() {
  std::vector<const ExampleEntry*> out;
  for (const auto& e : registry()) out.push_back(e.get());
  std::sort(out.begin(), out.end(),
            [](const ExampleEntry* a, const ExampleEntry* b) { return a->name < b->name; });
  return out;
}

const ExampleEntry* find_example(const std::string& name) {
  for (const auto& e : registry())
    if (e->name == name) return e.get();
  return nullptr;
}

}  // namespace ctdl::nn

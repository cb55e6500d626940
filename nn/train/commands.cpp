// `ctdl run` and `ctdl list`.
#include <cstring>
#include <filesystem>
#include <iostream>

#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/parallel.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/progress.h"
#include "ctdl/nn/train/run.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace fs = std::filesystem;

namespace {

const char* kRunUsage =
    "usage: ctdl run EXAMPLE [--config FILE.json] [--set KEY=VALUE ...] [--out RUN_DIR]\n"
    "                        [--quick] [--data DIR] [--resume]\n"
    "\n"
    "Runs a registered example ('ctdl list' shows them) and writes to RUN_DIR (default\n"
    "runs/EXAMPLE): config.json, metrics.jsonl, checkpoint.safetensors, summary.json and\n"
    "loss/accuracy plots.\n"
    "\n"
    "  --config FILE   JSON object of config values (only known keys, of the right type)\n"
    "  --set KEY=VALUE one config value, e.g. --set lr=0.01 --set model.width=64\n"
    "                  (VALUE is read as JSON, or as a string when it is not JSON)\n"
    "  --quick         the example's short configuration (minutes on a laptop)\n"
    "  --out RUN_DIR   where to write (a fresh run clears its metrics and checkpoint)\n"
    "  --data DIR      where the data is (DIR/NAME or DIR itself); default $CTDL_DATA,\n"
    "                  then the shared data folder next to the source tree\n"
    "  --resume        continue RUN_DIR's run from its checkpoint, with its saved config\n"
    "\n"
    "Values apply in this order: the example's defaults, --quick, --config, --set.\n"
    "'ctdl run EXAMPLE --help' lists EXAMPLE's config keys and defaults.\n";

void print_example_help(const ExampleEntry& e) {
  std::cout << "ctdl run " << e.name << ": " << e.description << "\n\nconfig (default";
  if (!e.quick.empty()) std::cout << ", --quick";
  std::cout << "):\n";
  for (const auto& [key, value] : e.defaults.items()) {
    std::cout << "  " << key << " = " << value.dump();
    if (e.quick.contains(key)) std::cout << "   (quick: " << e.quick[key].dump() << ")";
    std::cout << "\n";
  }
  std::cout << "\n" << kRunUsage;
}

std::string next_value(int& i, int argc, char** argv) {
  CTDL_CHECK(i + 1 < argc, "option ", argv[i], " needs a value (ctdl run --help)");
  return argv[++i];
}

}  // namespace

int list_examples_command(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h")) {
      std::cout
          << "usage: ctdl list\n\nLists the examples 'ctdl run' knows, with one line on each.\n";
      return 0;
    }
    std::cerr << "ctdl list: unexpected argument '" << argv[i] << "'\n";
    return 2;
  }
  size_t width = 0;
  for (const ExampleEntry* e : registered_examples()) width = std::max(width, e->name.size());
  for (const ExampleEntry* e : registered_examples())
    std::cout << e->name << std::string(width + 2 - e->name.size(), ' ') << e->description << "\n";
  return 0;
}

int run_example_command(int argc, char** argv) {
  std::string name, config_file, out, data;
  std::vector<std::string> sets;
  bool quick = false, resume = false, help = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--help" || a == "-h")
      help = true;
    else if (a == "--config")
      config_file = next_value(i, argc, argv);
    else if (a == "--set")
      sets.push_back(next_value(i, argc, argv));
    else if (a == "--out")
      out = next_value(i, argc, argv);
    else if (a == "--data")
      data = next_value(i, argc, argv);
    else if (a == "--quick")
      quick = true;
    else if (a == "--resume")
      resume = true;
    else if (!a.empty() && a[0] == '-')
      fail("unknown option '", a, "' (ctdl run --help)");
    else if (name.empty())
      name = a;
    else
      fail("unexpected argument '", a, "' (one example at a time; ctdl run --help)");
  }
  if (name.empty()) {
    (help ? std::cout : std::cerr) << kRunUsage;
    return help ? 0 : 2;
  }
  const ExampleEntry* example = find_example(name);
  if (!example) {
    std::string names;
    for (const ExampleEntry* e : registered_examples()) names += " " + e->name;
    fail("no example named '", name, "' (examples:", names.empty() ? " none" : names, ")");
  }
  if (help) {
    print_example_help(*example);
    return 0;
  }

  fs::path dir = out.empty() ? fs::path("runs") / name : fs::path(out);
  Json config = example->defaults;
  fs::path saved = dir / "config.json";
  if (resume && fs::exists(saved)) {
    Json previous = read_json_file(saved.string());
    CTDL_CHECK(previous.value("example", "") == name, "--resume: ", saved.string(),
               " belongs to the example '", previous.value("example", "?"), "', not '", name, "'");
    merge_config(config, previous.at("config"), saved.string());
  } else if (quick) {
    merge_config(config, example->quick, "the --quick config of " + name);
  }
  if (!config_file.empty()) merge_config(config, read_json_file(config_file), config_file);
  for (const std::string& s : sets) merge_config(config, parse_assignment(s), "--set " + s);
  try {  // the conversion to the config struct, checked before the run starts
    example->check(config);
  } catch (const Json::exception& e) {
    fail("config of ", name, ": ", e.what());
  }

  Run run({.example = name,
           .dir = dir,
           .config = config,
           .data = data,
           .quick = quick,
           .resume = resume});
  std::cout << "ctdl run " << name << (quick ? " --quick" : "") << " -> " << dir.string() << "\n";
  example->run(run, config);
  double wall = run.elapsed_seconds();
  run.write_summary(wall);
  if (!is_main_process()) return 0;  // data-parallel: rank 0 writes and reports
  try {
    for (const std::string& png : plot_metrics(dir.string())) std::cout << "plot: " << png << "\n";
  } catch (const Error& e) {
    std::cerr << "warning: no plots: " << e.what() << "\n";
  }
  Json summary = read_json_file((dir / "summary.json").string());
  std::cout << "metrics: " << summary["metrics"].dump() << "\n"
            << "summary: " << (dir / "summary.json").string() << " (" << format_duration(wall)
            << ")\n";
  return 0;
}

}  // namespace ctdl::nn

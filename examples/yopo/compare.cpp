// yopo-compare: reads a yopo-mnist run and a pgd-mnist run (their metrics.jsonl curves of
// robust accuracy against training time) and writes the comparison the paper makes: how much
// sooner YOPO reaches PGD's robust accuracy, and one plot of both curves.
//
//   ctdl run pgd-mnist --quick && ctdl run yopo-mnist --quick && ctdl run yopo-compare
//
// Both curves must come from the same machine under similar load (run them one after the
// other, not side by side); CPU seconds are compared too, as a check on the wall times.
#include <fstream>
#include <sstream>
#include <iostream>
#include <optional>

#include "ctdl/nn/train/example.h"
#include "ctdl/nn/train/plot.h"
#include "ctdl/nn/train/run.h"
#include "ctdl/tensor/error.h"

namespace ctdl::examples::yopo {
namespace {

struct CompareConfig {
  std::string yopo_run = "runs/yopo-mnist";
  std::string pgd_run = "runs/pgd-mnist";
  // "Within this many points of PGD's robust accuracy" (the target: 2 points).
  double tolerance = 0.02;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(CompareConfig, yopo_run, pgd_run, tolerance)

struct Curve {
  std::vector<double> seconds, cpu_seconds, robust, clean;
  nn::Json summary;
};

Curve read_curve(const std::string& dir) {
  Curve c;
  std::ifstream metrics(dir + "/metrics.jsonl");
  CTDL_CHECK(metrics.good(), "yopo-compare: cannot read ", dir,
             "/metrics.jsonl (run yopo-mnist and pgd-mnist first, or set yopo_run/pgd_run)");
  std::string line;
  while (std::getline(metrics, line)) {
    nn::Json r = nn::Json::parse(line, nullptr, false);
    if (r.is_discarded() || !r.contains("curve_robust_accuracy")) continue;
    c.seconds.push_back(r["train_seconds"].get<double>());
    c.cpu_seconds.push_back(r["train_cpu_seconds"].get<double>());
    c.robust.push_back(r["curve_robust_accuracy"].get<double>());
    c.clean.push_back(r["curve_clean_accuracy"].get<double>());
  }
  CTDL_CHECK(!c.seconds.empty(), "yopo-compare: ", dir, "/metrics.jsonl has no curve records");
  std::ifstream summary(dir + "/summary.json");
  if (summary.good()) c.summary = nn::Json::parse(summary, nullptr, false);
  return c;
}

// The index of the first curve point at or above `level`.
std::optional<size_t> first_reaching(const Curve& c, double level) {
  for (size_t i = 0; i < c.robust.size(); ++i)
    if (c.robust[i] >= level) return i;
  return std::nullopt;
}

nn::Json or_null(std::optional<double> v) { return v ? nn::Json(*v) : nn::Json(nullptr); }

// "YOPO-5-10" or "PGD-40 training", from the run's own config.
std::string label(const Curve& c, bool yopo) {
  const nn::Json config = c.summary.is_object() ? c.summary.value("config", nn::Json::object())
                                                : nn::Json::object();
  if (yopo)
    return "YOPO-" + std::to_string(config.value("yopo_m", 5)) + "-" +
           std::to_string(config.value("yopo_n", 10));
  if (config.contains("free_replays") && !config.contains("pgd_steps"))  // a free-mnist run
    return "Free AT (m = " + std::to_string(config.value("free_replays", 8)) + ")";
  return "PGD-" + std::to_string(config.value("pgd_steps", 40)) + " training";
}

// "eps = 0.3: robust accuracy (PGD-40)", from the PGD run's config (MNIST's defaults if it
// has none): the plots' titles for either dataset.
std::string setting(const Curve& c) {
  const nn::Json config = c.summary.is_object() ? c.summary.value("config", nn::Json::object())
                                                : nn::Json::object();
  std::ostringstream out;
  out << "eps = " << config.value("epsilon", 0.3) << ": robust accuracy (PGD-"
      << config.value("eval_steps", 40) << ")";
  return out.str();
}

void run_compare(nn::Run& run, const CompareConfig& config) {
  Curve yopo = read_curve(config.yopo_run), pgd = read_curve(config.pgd_run);
  const double pgd_final = pgd.robust.back(), yopo_final = yopo.robust.back();

  // The target: YOPO within `tolerance` of PGD's final robust accuracy, in at most a
  // third of PGD's training time.
  const double target = pgd_final - config.tolerance;
  // A target no higher than the untrained network's accuracy says nothing: left null.
  const double start = std::max(pgd.robust[0], yopo.robust[0]);
  std::optional<size_t> hit = first_reaching(yopo, target);
  std::optional<double> yopo_to_target, ratio, cpu_ratio;
  if (hit && target > start) {
    yopo_to_target = yopo.seconds[*hit];
    ratio = yopo.seconds[*hit] / pgd.seconds.back();
    cpu_ratio = yopo.cpu_seconds[*hit] / pgd.cpu_seconds.back();
  }
  // Speed-up to the same robust accuracy: the lower of the two final accuracies, reached
  // first by each method.
  const double level = std::min(pgd_final, yopo_final);
  std::optional<size_t> at_pgd = first_reaching(pgd, level), at_yopo = first_reaching(yopo, level);
  std::optional<double> speedup, cpu_speedup;
  if (at_pgd && at_yopo && level > start) {
    speedup = pgd.seconds[*at_pgd] / yopo.seconds[*at_yopo];
    cpu_speedup = pgd.cpu_seconds[*at_pgd] / yopo.cpu_seconds[*at_yopo];
  }

  run.set_metric("pgd_robust_accuracy_curve", pgd_final);
  run.set_metric("yopo_robust_accuracy_curve", yopo_final);
  if (pgd.summary.contains("metrics")) run.set_metric("pgd_summary", pgd.summary["metrics"]);
  if (yopo.summary.contains("metrics")) run.set_metric("yopo_summary", yopo.summary["metrics"]);
  run.set_metric("pgd_train_seconds", pgd.seconds.back());
  run.set_metric("yopo_train_seconds", yopo.seconds.back());
  run.set_metric("target_robust_accuracy", target);
  run.set_metric("yopo_seconds_to_target", or_null(yopo_to_target));
  run.set_metric("time_ratio_to_target", or_null(ratio));
  run.set_metric("cpu_time_ratio_to_target", or_null(cpu_ratio));
  run.set_metric("target_met", ratio.has_value() && *ratio <= 1.0 / 3.0);
  run.set_metric("same_accuracy_level", level);
  run.set_metric("speedup_to_same_accuracy", or_null(speedup));
  run.set_metric("cpu_speedup_to_same_accuracy", or_null(cpu_speedup));
  run.set_paper("time_ratio_to_target", 0.25);  // "about 1/5 to 1/4 of the GPU time"
  run.note("curves: " + setting(pgd) + " on the first held-out images against training "
           "time, from " + config.pgd_run + " and " + config.yopo_run);

  std::cout << "PGD: robust " << pgd_final << " after " << pgd.seconds.back() << " s; YOPO: "
            << yopo_final << " after " << yopo.seconds.back() << " s\n";
  if (ratio)
    std::cout << "YOPO reached " << target << " after " << *yopo_to_target << " s: "
              << *ratio << " of PGD's time (target <= 1/3; CPU time ratio " << *cpu_ratio
              << ")\n";
  else if (target <= start)
    std::cout << "PGD's robust accuracy minus " << config.tolerance
              << " is no higher than the untrained network's: no target\n";
  else
    std::cout << "YOPO never reached " << target << " (PGD's robust accuracy minus "
              << config.tolerance << ")\n";
  if (speedup)
    std::cout << "speed-up to the same robust accuracy " << level << ": " << *speedup
              << " (CPU time " << *cpu_speedup << ")\n";

  nn::plot_lines((run.dir() / "robust_vs_time.png").string(),
                 {{.title = label(pgd, false), .x = pgd.seconds, .y = pgd.robust,
                   .style = "linespoints"},
                  {.title = label(yopo, true), .x = yopo.seconds, .y = yopo.robust,
                   .style = "linespoints"}},
                 {.title = setting(pgd) + " against training time",
                  .xlabel = "training wall time (s)",
                  .ylabel = "robust accuracy"});
  // On a shared machine the wall times carry the other jobs' load; CPU time does not.
  nn::plot_lines((run.dir() / "robust_vs_cpu_time.png").string(),
                 {{.title = label(pgd, false), .x = pgd.cpu_seconds, .y = pgd.robust,
                   .style = "linespoints"},
                  {.title = label(yopo, true), .x = yopo.cpu_seconds, .y = yopo.robust,
                   .style = "linespoints"}},
                 {.title = setting(pgd) + " against training CPU time",
                  .xlabel = "training CPU time (s, all threads)",
                  .ylabel = "robust accuracy"});
}

const nn::RegisterExample<CompareConfig> registration{{
    .name = "yopo-compare",
    .description = "compares a yopo-mnist run with a pgd-mnist run: time to the same robust "
                   "accuracy and a plot of robust accuracy against training time",
    .quick = nn::Json::object(),
    .run = run_compare,
}};

}  // namespace
}  // namespace ctdl::examples::yopo

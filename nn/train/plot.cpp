#include "ctdl/nn/train/plot.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "ctdl/nn/train/metrics.h"
#include "ctdl/tensor/error.h"

namespace ctdl::nn {

namespace {

namespace fs = std::filesystem;

// A string as a gnuplot single-quoted string ('' stands for ').
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

// Writes NAME.gp beside the PNG and runs gnuplot on it.
void run_gnuplot(const std::string& png_path, const std::string& body, const PlotOptions& o) {
  fs::path png(png_path), script = fs::path(png_path).replace_extension(".gp");
  std::ofstream gp(script);
  // noenhanced: names like train_loss are text, not subscripts
  gp << "set terminal pngcairo noenhanced size " << o.width << "," << o.height
     << " font 'sans,11'\n"
     << "set output " << quoted(png.string()) << "\n";
  if (!o.title.empty()) gp << "set title " << quoted(o.title) << "\n";
  if (!o.xlabel.empty()) gp << "set xlabel " << quoted(o.xlabel) << "\n";
  if (!o.ylabel.empty()) gp << "set ylabel " << quoted(o.ylabel) << "\n";
  gp << body;
  gp.close();
  CTDL_CHECK(gp.good(), "plot: cannot write ", script.string());
  CTDL_CHECK(std::system("command -v gnuplot > /dev/null 2>&1") == 0,
             "plot: gnuplot is not installed; install gnuplot-nox (tools/setup.sh does) to draw ",
             png.string());
  fs::path log = fs::path(png_path).replace_extension(".log");
  std::string command =
      "gnuplot " + quoted(script.string()) + " > " + quoted(log.string()) + " 2>&1";
  // quoted() makes a gnuplot string; for the shell the same single quotes work as long as
  // the path has no quote of its own.
  CTDL_CHECK(script.string().find('\'') == std::string::npos,
             "plot: paths with ' are not supported: ", script.string());
  int rc = std::system(command.c_str());
  std::ifstream in(log);
  std::string messages((std::istreambuf_iterator<char>(in)), {});
  CTDL_CHECK(rc == 0 && fs::exists(png), "plot: gnuplot failed on ", script.string(), ": ",
             messages);
  fs::remove(log);
}

}  // namespace

void plot_lines(const std::string& png_path, const std::vector<Series>& series,
                const PlotOptions& o) {
  CTDL_CHECK(!series.empty(), "plot_lines: nothing to plot for ", png_path);
  fs::path data = fs::path(png_path).replace_extension(".dat");
  std::ofstream out(data);
  out.precision(10);
  bool positive = true;
  for (const Series& s :
       series) {  // one gnuplot data block per series, separated by two blank lines
    CTDL_CHECK(s.x.size() == s.y.size(), "plot_lines: series '", s.title, "' has ", s.x.size(),
               " x and ", s.y.size(), " y values");
    out << "# " << s.title << "\n";
    for (size_t i = 0; i < s.x.size(); ++i) {
      out << s.x[i] << " " << s.y[i] << "\n";
      positive = positive && s.y[i] > 0;
    }
    out << "\n\n";
  }
  out.close();
  std::string body = "set grid\nset key outside right top\n";
  if (o.log_y && positive) body += "set logscale y\n";
  body += "plot ";
  for (size_t i = 0; i < series.size(); ++i)
    body += (i ? ", " : "") + quoted(data.string()) + " index " + std::to_string(i) + " with " +
            series[i].style + " linewidth 2 title " + quoted(series[i].title);
  run_gnuplot(png_path, body + "\n", o);
}

void plot_image(const std::string& png_path, const Tensor& image, const PlotOptions& o) {
  CTDL_CHECK(image.dim() == 2, "plot_image: expected a 2-D tensor [H, W], got shape ",
             image.shape());
  fs::path data = fs::path(png_path).replace_extension(".dat");
  std::ofstream out(data);
  out.precision(8);
  std::vector<double> v = image.to_vector<double>();
  const int64_t h = image.shape()[0], w = image.shape()[1];
  for (int64_t r = 0; r < h; ++r) {
    for (int64_t c = 0; c < w; ++c) out << (c ? " " : "") << v[r * w + c];
    out << "\n";
  }
  out.close();
  std::string body =
      "set view map\nset size ratio -1\nset palette rgb 33,13,10\n"
      "set xrange [-0.5:" +
      std::to_string(w - 0.5) + "]\nset yrange [" + std::to_string(h - 0.5) + ":-0.5]\nplot " +
      quoted(data.string()) + " matrix with image notitle\n";
  run_gnuplot(png_path, body, o);
}

std::vector<std::string> plot_metrics(const std::string& run_dir) {
  fs::path dir(run_dir), file = dir / "metrics.jsonl";
  CTDL_CHECK(fs::exists(file), "plot: ", file.string(), " does not exist (is '", run_dir,
             "' a run directory?)");
  std::vector<nlohmann::json> records = read_metrics(file.string());
  std::string title = dir.filename().string();
  if (fs::exists(dir / "summary.json") || fs::exists(dir / "config.json")) {
    std::ifstream in(fs::exists(dir / "summary.json") ? dir / "summary.json" : dir / "config.json");
    nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
    if (j.is_object() && j.contains("example") && j["example"].is_string())
      title = j["example"].get<std::string>();
  }
  // Series by key, in the order keys first appear.
  std::vector<std::string> keys;
  std::map<std::string, Series> series;
  std::string x_key = "record";
  for (const auto& r : records)
    if (r.contains("epoch"))
      x_key = "epoch";
    else if (r.contains("step") && x_key == "record")
      x_key = "step";
  for (size_t i = 0; i < records.size(); ++i) {
    const auto& r = records[i];
    double x = static_cast<double>(i);
    if (x_key != "record") {
      if (!r.contains(x_key) || !r[x_key].is_number()) continue;
      x = r[x_key].get<double>();
    }
    for (const auto& [key, value] : r.items()) {
      if (!value.is_number() || key == "epoch" || key == "step" || key == "time_s") continue;
      if (!series.count(key)) keys.push_back(key), series[key].title = key;
      series[key].x.push_back(x);
      series[key].y.push_back(value.get<double>());
    }
  }
  struct Group {
    std::string file, label, match;
    bool log;
  };
  std::vector<std::string> written;
  for (const Group& g :
       {Group{"loss.png", "loss", "loss", true}, Group{"accuracy.png", "accuracy", "acc", false},
        Group{"lr.png", "learning rate", "lr", true}}) {
    std::vector<Series> chosen;
    for (const std::string& k : keys) {
      bool match = g.match == "lr" ? (k == "lr" || k.ends_with("_lr"))
                                   : k.find(g.match) != std::string::npos;
      if (!match) continue;
      Series s = series[k];
      s.style = s.x.size() > 50 ? "lines" : "linespoints";
      chosen.push_back(s);
    }
    if (chosen.empty()) continue;
    std::string png = (dir / g.file).string();
    plot_lines(
        png, chosen,
        {.title = title + ": " + g.label, .xlabel = x_key, .ylabel = g.label, .log_y = g.log});
    written.push_back(png);
  }
  CTDL_CHECK(!written.empty(), "plot: ", file.string(),
             " has no numeric loss, accuracy or lr values to draw");
  return written;
}

}  // namespace ctdl::nn

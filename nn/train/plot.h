// Plots as PNG files, drawn by gnuplot (Debian's gnuplot-nox, installed by tools/setup.sh).
//
//   nn::plot_lines("loss.png", {{.title = "train", .x = epochs, .y = losses}},
//                  {.title = "loss", .xlabel = "epoch", .log_y = true});
//   nn::plot_image("field.png", u, {.title = "u(x, y) at t = 1"});   // a 2-D tensor as a heat map
//   std::vector<std::string> pngs = nn::plot_metrics("runs/mnist-mlp");  // what `ctdl plot` does
//
// Why gnuplot: it draws real axes, ticks, legends, log scales and heat maps in one small
// Debian package with no display needed, and its scripts are plain text a reader can
// rerun and edit. ctdl writes the data and a script next to the PNG (NAME.dat, NAME.gp)
// and runs `gnuplot NAME.gp`; when gnuplot is missing the error says how to install it.
#pragma once

#include <string>
#include <vector>

#include "ctdl/tensor/tensor.h"

namespace ctdl::nn {

struct Series {
  std::string title;
  std::vector<double> x, y;
  std::string style = "lines";  // a gnuplot style: lines, linespoints, points
};

struct PlotOptions {
  std::string title, xlabel, ylabel;
  bool log_y = false;
  int width = 900, height = 560;
};

void plot_lines(const std::string& png_path, const std::vector<Series>& series,
                const PlotOptions& options = {});
// A 2-D tensor [H, W] as a heat map with a color bar (row 0 at the top).
void plot_image(const std::string& png_path, const Tensor& image, const PlotOptions& options = {});

// Draws RUN_DIR/metrics.jsonl: every numeric key with "loss" in its name into loss.png, with
// "acc" into accuracy.png, and "lr" into lr.png, against "epoch" (or "step", or the record
// number). Returns the files written.
std::vector<std::string> plot_metrics(const std::string& run_dir);

}  // namespace ctdl::nn

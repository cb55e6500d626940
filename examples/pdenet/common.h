// What pdenet and pdenet2 share: names of derivative terms, periodic interpolation from a
// coarse mesh, error measures, L-BFGS stages and plots.
//
//   GridInterpolation g = grid_interpolation(data.offsets, 50, 20, DType::Float64);
//   Tensor fields = interpolate(nodes, g);      // nodes [F, 20, 20] -> [B, F, 50, 50]
//   StageResult r = lbfgs_stage(params, [&] { return loss(fields); }, 250);
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/nn/nn.h"
#include "ctdl/nn/train/run.h"
#include "data.h"

namespace ctdl::examples::pdenet {

// "u", "u_x", "u_y", "u_xx", "u_xy", ... for ∂ˣⁱ∂ʸʲ of the field named `field`.
std::string term_name(const nn::DiffOrder& order, const std::string& field = "u");

// Periodic piecewise-cubic Lagrange interpolation from `mesh` equally spaced nodes on
// [0, 2π) to the points xs: the matrix [xs.size(), mesh], each row four nonzero weights.
std::vector<double> periodic_cubic_weights(const std::vector<double>& xs, int64_t mesh);

// Interpolation matrices for a batch of sample grids (data.h offsets): px, py [B, n, mesh].
struct GridInterpolation {
  Tensor px, py;
};
GridInterpolation grid_interpolation(const std::vector<std::array<double, 2>>& offsets, int64_t n,
                                     int64_t mesh, DType dtype);
// Fields [F, mesh, mesh] on the nodes -> [B, F, n, n] on each sample's grid.
Tensor interpolate(const Tensor& nodes, const GridInterpolation& g);

// A number for a plot title: 0.6, 1.2e-05.
std::string format_number(double v);

// ‖a − b‖ / ‖b‖ over all elements.
double relative_l2(const Tensor& a, const Tensor& b);
// ‖a − b‖ / ‖b‖ per sample (dim 0), as a vector.
std::vector<double> relative_l2_per_sample(const Tensor& a, const Tensor& b);
double median(std::vector<double> v);
double quantile(std::vector<double> v, double q);

// One L-BFGS stage (strong-Wolfe line search, tolerances off so it runs max_iter iterations
// unless the gradient vanishes). Returns the final loss and the number of closure calls.
struct StageResult {
  double loss_before = 0, loss_after = 0;
  int64_t evaluations = 0;
};
StageResult lbfgs_stage(const TensorList& params, const std::function<Tensor()>& loss,
                        int64_t max_iter, int64_t history = 50);

// Fields [n, n] side by side in one heat map (x down the rows), so they share one color
// scale; a strip of the smallest value separates them.
void plot_side_by_side(const std::filesystem::path& png, const std::vector<Tensor>& fields,
                       const std::string& title);

}  // namespace ctdl::examples::pdenet

// Training and test data for PDE-Net, generated at run time: random Fourier initial values,
// solved by the pseudo-spectral solver (spectral.h), observed on a coarse n×n grid that is a
// randomly shifted subgrid of a zoom·n fine grid, with Gaussian noise.
//
//   pdenet::DataOptions o{.pde = {.equation = pdenet::Equation::ConvectionDiffusion}};
//   pdenet::Trajectories d = pdenet::generate(o, /*batch=*/16, /*steps=*/20, /*dt=*/0.015, 7);
//   d.observed;   // [16, 21, 1, 50, 50]: u at t = 0, dt, ..., 20 dt, with noise
//   d.clean;      // the same without noise
//   d.offsets;    // each sample's grid origin (x0, y0)
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "ctdl/tensor/tensor.h"
#include "spectral.h"

namespace ctdl::examples::pdenet {

struct DataOptions {
  Pde pde;
  SolverOptions solver;
  InitialOptions initial;
  int64_t grid = 50;   // n: observations on n×n
  int64_t zoom = 4;    // the fine grid has zoom·n points; the coarse one is every zoom-th
  double noise = 0.0;  // Gaussian noise, std = noise·std(u(t = 0)) per sample and channel
  // The first `evolved` fraction of each batch is first solved for start_time (PDE-Net 2.0
  // observes half its Burgers samples from t = 1, when the shocks have formed).
  double start_time = 0.0;
  double evolved = 0.0;
  DType dtype = DType::Float64;
};

struct Trajectories {
  Tensor observed, clean;                      // [B, steps + 1, C, n, n]
  std::vector<std::array<double, 2>> offsets;  // (x0, y0) per sample
};

Trajectories generate(const DataOptions& options, int64_t batch, int64_t steps, double dt,
                      uint64_t seed);

// The coarse grid's coordinates for a sample's offset: x_i = x0 + 2π i/n.
std::vector<double> grid_coordinates(int64_t n, double origin);

}  // namespace ctdl::examples::pdenet

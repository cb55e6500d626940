// The data generator's solver: pseudo-spectral in space on a periodic N×N grid over
// [0, 2π]², integrating-factor RK4 in time (the constant-coefficient diffusion is integrated
// exactly, the rest by classical RK4), products dealiased by the 2/3 rule.
//
//   pdenet::Pde pde{.equation = pdenet::Equation::Burgers};
//   pdenet::SpectralSolver solver(pde, {.modes = 64, .max_dt = 2e-3});
//   std::mt19937_64 rng(0);
//   auto ic = pdenet::random_initial_condition(rng, pde.channels(), {.max_frequency = 4});
//   pdenet::SpectralSolver::State s = solver.initial_state(ic);
//   solver.advance(s, 0.5);                                  // to t = 0.5
//   std::vector<double> u = solver.sample(s, 0, 32, 0.0, 0.0); // u on a 32×32 grid, row-major
//
// Index convention everywhere in examples/pdenet: a field's first (row) index is x, its
// second is y; x_i = x0 + 2π i/n.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "fft.h"

namespace ctdl::examples::pdenet {

enum class Equation {
  // u_t = a10(x, y) u_x + a01(x, y) u_y + a20 u_xx + a02 u_yy (PDE-Net, 2018, eq. (10))
  ConvectionDiffusion,
  // u_t = c Δu + f_s(u), f_s(u) = β sin u (PDE-Net, 2018, Section 4.2)
  NonlinearDiffusion,
  // u_t = −u u_x − v u_y + ν Δu, v_t = −u v_x − v v_y + ν Δv (PDE-Net 2.0)
  Burgers,
};

Equation equation_from_name(const std::string& name);  // "convection_diffusion", ...

struct Pde {
  Equation equation = Equation::ConvectionDiffusion;
  double diffusivity = 0.3;  // NonlinearDiffusion: c
  double reaction = 15.0;    // NonlinearDiffusion: β
  double viscosity = 0.05;   // Burgers: ν
  int64_t channels() const { return equation == Equation::Burgers ? 2 : 1; }
};

// The true coefficient fields of ConvectionDiffusion, by name: "u_x" is a10 = 0.5(cos y +
// x(2π − x) sin x) + 0.6, "u_y" is a01 = 2(cos y + sin x) + 0.8, "u_xx" 0.2, "u_yy" 0.3.
double convection_diffusion_coefficient(const std::string& term, double x, double y);

// Σ_{|kx|, |ky| <= K} λ cos(kx x + ky y) + γ sin(kx x + ky y), λ, γ ~ N(0, 1), rescaled to
// max |u| = amplitude, plus a constant drawn uniformly from [−shift, shift]; per channel.
struct InitialOptions {
  int64_t max_frequency = 4;  // K
  double amplitude = 1.0;
  double shift = 0.0;
};
struct FourierSeries {
  int64_t max_frequency = 0;
  std::vector<double> cos_coeff, sin_coeff;  // [(kx + K)·(2K + 1) + (ky + K)]
  double constant = 0.0;
  double value(double x, double y) const;
};
std::vector<FourierSeries> random_initial_condition(std::mt19937_64& rng, int64_t channels,
                                                    const InitialOptions& options);

struct SolverOptions {
  int64_t modes = 64;    // N, a power of two
  double max_dt = 5e-3;  // largest internal time step
  bool dealias = true;   // 2/3 rule
};

class SpectralSolver {
 public:
  using Spectrum = std::vector<Complex>;  // N×N, row-major, FFT order of wave numbers
  using State = std::vector<Spectrum>;    // one per channel

  SpectralSolver(Pde pde, SolverOptions options);
  const Pde& pde() const { return pde_; }
  int64_t modes() const { return n_; }

  State initial_state(const std::vector<FourierSeries>& ic) const;
  // Advances by `duration` in equal internal steps of at most max_dt.
  void advance(State& state, double duration) const;
  // The Fourier series of the state evaluated on the n×n grid x_i = x0 + 2π i/n,
  // y_j = y0 + 2π j/n (row-major, x the row).
  std::vector<double> sample(const State& state, int64_t channel, int64_t n, double x0,
                             double y0) const;

 private:
  int64_t wave_number(int64_t index) const;
  void nonlinear(const State& s, State& out) const;  // N(û): everything but the diffusion
  double diffusion_symbol(int64_t channel, int64_t i, int64_t j) const;
  void step(State& s, double dt) const;

  Pde pde_;
  SolverOptions o_;
  int64_t n_;
  Fft2d fft_;
  std::vector<double> k_;          // wave number per index
  std::vector<double> keep_;       // dealiasing mask, N×N
  std::vector<double> a10_, a01_;  // ConvectionDiffusion coefficients on the grid
  double a20_ = 0.2, a02_ = 0.3;
};

}  // namespace ctdl::examples::pdenet

// The data of the `neural-ode` example, generated at run time from default_generator():
//
//   Labeled d = concentric_circles(1024);   // x [1024, 2], y [1024] (int64, 0 or 1)
//   Labeled s = two_spirals(1024);
//   Tensor path = cubic_spiral(1000, 25.0); // [1000, 2]: z(t) of dz/dt = (z³)·A, t ∈ [0, 25]
#pragma once

#include "ctdl/tensor/ops.h"

namespace ctdl::examples::neural_ode {

struct Labeled {
  Tensor x, y;
};

// Dupont, Doucet & Teh (2019)'s g(x): class 0 inside radius 0.5, class 1 on the ring
// 1 ≤ |x| ≤ 1.5, half of each. No homeomorphism of the plane separates them linearly, which
// is why the classifier pads x with zeros (the augmented neural ODE).
Labeled concentric_circles(int64_t n);

// Two interleaved spirals (half a point each), r from 0.1 to 1 over 1.5 turns, with a
// little Gaussian noise.
Labeled two_spirals(int64_t n, double noise = 0.02);

// torchdiffeq's demo trajectory (Chen et al. 2018): dz/dt = z³·A with
// A = [[-0.1, 2], [-2, -0.1]] (row-vector convention: z³ is [.., 2]), z(0) = (2, 0), sampled
// at `points` equally spaced times in [0, t_end]; solved with dopri5 at rtol 1e-9.
Tensor cubic_spiral(int64_t points, double t_end);
Tensor cubic_spiral_matrix();

}  // namespace ctdl::examples::neural_ode

// Multigrid reduction in time (MGRIT): the points of a long sequence u_{i+1} = Φ_i(u_i) —
// time steps, or the layers of a deep residual network — computed in parallel over ranks,
// by iterating on all points at once instead of sweeping through them one after another
// (Falgout et al. 2014; for residual networks, Günther, Ruthotto, Schroder, Cyr & Gauger,
// "Layer-parallel training of deep residual neural networks", SIMODS 2020).
//
//   distributed::Mgrit mgrit(comm, 256, {.coarsening = 8, .levels = 2});
//   std::vector<Tensor> u;   // this rank's points: u[i - mgrit.begin()]
//   distributed::MgritResult r = mgrit.solve(
//       [&](int level, int64_t i, const Tensor& x) {   // point i of `level` to point i + 1
//         int64_t layer = i * mgrit.stride(level);       // a level-l step spans m^l layers
//         return x + mgrit.stride(level) * h * tanh(matmul(x, K[layer]));
//       },
//       u0, u);
//   r.residuals;   // one norm per iteration, falling
//
// The method. Level 0 holds every point; every m-th point of level l (a C-point) is a point
// of level l + 1, whose step spans m steps of level l (the caller's coarse propagator, e.g.
// one step of m·h with the first layer's weights). An iteration relaxes level 0 — an
// F-sweep propagates each C-point through the m - 1 points after it, the intervals in
// parallel; FCF adds a C-update and a second F-sweep — measures the residual at the
// C-points, and corrects the C-points from the coarse level: full approximation storage,
// recursively (a V-cycle), down to the coarsest level, which is solved by a sweep that goes
// through the ranks one after another. With two levels and F-relaxation this is parareal:
// U_{j+1} ← G(U_j) + F(U_j^old) − G(U_j^old). After k iterations the first k coarse
// intervals are exact; the iteration is exact after as many iterations as there are coarse
// intervals, and is useful when it gets within tolerance in far fewer.
//
// Layout. Rank order[k] holds block k: points [k·B, (k+1)·B) with B = steps / ranks, and the
// last block also the end point. B must be a multiple of m^(levels−1), so that every coarse
// interval lies on one rank. A problem that runs backwards over the ranks (an adjoint) sets
// reverse: block k then lives on rank ranks − 1 − k.
#pragma once

#include <functional>
#include <vector>

#include "ctdl/distributed/communicator.h"

namespace ctdl::distributed {

struct MgritOptions {
  int64_t coarsening = 4;   // m
  int levels = 2;           // 1: a plain sweep over the ranks; 2: two-level (parareal with F)
  bool fcf = false;         // FCF-relaxation instead of F-relaxation
  int max_iterations = 20;  // coarse-grid corrections at most
  double tolerance = 1e-8;  // on the residual norm (2-norm over all C-points)
  // After the last correction without convergence: one more F-sweep (the residual of the
  // result is then known and the points agree with the corrected C-points). Without it an
  // iteration costs one sweep less; training with warm starts can do without.
  bool final_relax = true;
  bool reverse = false;  // block k on rank (ranks - 1 - k)
};

// Point i of `level` to point i + 1 of the same level.
using MgritStep = std::function<Tensor(int level, int64_t i, const Tensor& u)>;

struct MgritResult {
  std::vector<double> residuals;  // before each correction (and after the last, if measured)
  int iterations = 0;             // coarse-grid corrections done
  bool converged = false;         // a residual fell to the tolerance
};

class Mgrit {
 public:
  Mgrit(Communicator& comm, int64_t steps, MgritOptions options = {});

  int64_t steps() const { return steps_; }
  // This rank's points on the fine level: [begin(), end()); the last block's end() is
  // steps() + 1 (it holds the end point).
  int64_t begin() const { return begin_; }
  int64_t end() const { return end_; }
  bool holds_start() const { return begin_ == 0; }
  bool holds_end() const { return end_ == steps_ + 1; }
  // Fine steps per step of `level` (m^level).
  int64_t stride(int level) const;
  const MgritOptions& options() const { return o_; }
  MgritOptions& options() { return o_; }

  // Solves u_0 = u0 (given on the rank holding point 0, ignored elsewhere), u_{i+1} =
  // step(0, i, u_i). `states` receives this rank's points; if it already holds end() -
  // begin() of them, they are the first guess (a warm start), else the first guess comes
  // from a sweep of the coarsest level.
  MgritResult solve(const MgritStep& step, const Tensor& u0, std::vector<Tensor>& states);

  struct Level;

 private:
  Communicator& comm_;
  int64_t steps_;
  MgritOptions o_;
  int block_ = 0, blocks_ = 1;
  int64_t begin_ = 0, end_ = 0;
};

}  // namespace ctdl::distributed

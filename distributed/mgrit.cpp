#include "ctdl/distributed/mgrit.h"

#include <algorithm>
#include <cmath>

#include "ctdl/autograd/grad_mode.h"
#include "ctdl/tensor/ops.h"

namespace ctdl::distributed {

// One level's points on this rank, [lo, hi), indexed i - lo. At a C-point c, w holds the
// F-sweep's propagation into it, Φ(u_{c-1}), and tau the coarse-grid correction term
// Φ(u_{c-1}) − Φ_coarse(u_{c-m}) (received from the previous block at c = lo).
struct Mgrit::Level {
  int64_t stride = 1, n = 0, lo = 0, hi = 0;
  std::vector<Tensor> u, g, w, tau;
};

namespace {

Tensor plus(const Tensor& a, const Tensor& b) { return b.defined() ? a + b : a; }

class Solver {
 public:
  Solver(Communicator& comm, const MgritOptions& o, const MgritStep& step, int block, int blocks,
         std::vector<Mgrit::Level>& levels)
      : comm_(comm), o_(o), step_(step), block_(block), blocks_(blocks), levels_(levels) {}

  // Every level's points from the coarsest level's sweep, constant in between.
  void first_guess() {
    const int c = static_cast<int>(levels_.size()) - 1;
    Mgrit::Level& coarse = levels_[c];
    for (Tensor& g : coarse.g) g = Tensor();
    if (coarse.lo == 0) coarse.g[0] = levels_[0].g[0];
    coarse_sweep(c);
    Mgrit::Level& fine = levels_[0];
    for (int64_t i = fine.lo; i < fine.hi; ++i)
      fine.u[i - fine.lo] = coarse.u[i / coarse.stride - coarse.lo];
  }

  // Level l's points after point lo, interval by interval (C-point, then m - 1 F-points); the
  // last interval's end goes to the next block, the first C-point's w (and tau) arrive from
  // the previous one.
  void f_relax(int l, bool with_tau) {
    Mgrit::Level& v = levels_[l];
    const int64_t m = o_.coarsening;
    std::vector<int64_t> starts;
    for (int64_t c = v.lo; c < std::min(v.hi, v.n); c += m) starts.push_back(c);
    std::vector<std::unique_ptr<Work>> sends;
    // The interval whose end another rank waits for comes first.
    if (!starts.empty()) std::rotate(starts.begin(), starts.end() - 1, starts.end());
    for (int64_t c : starts) {
      Tensor x = v.u[c - v.lo];
      for (int64_t i = c + 1; i < c + m; ++i) {
        x = plus(step_(l, i - 1, x), v.g[i - v.lo]);
        v.u[i - v.lo] = x;
      }
      Tensor w = step_(l, c + m - 1, x), tau;
      if (with_tau) tau = w - step_(l + 1, c / m, v.u[c - v.lo]);
      if (c + m < v.hi) {
        v.w[c + m - v.lo] = w;
        v.tau[c + m - v.lo] = tau;
      } else {
        sends.push_back(comm_.start_send(w.contiguous(), next_rank(), tag(l, 0)));
        if (with_tau) sends.push_back(comm_.start_send(tau.contiguous(), next_rank(), tag(l, 1)));
      }
    }
    if (v.lo > 0) {
      v.w[0] = receive(l, 0, v.u[0]);
      v.tau[0] = with_tau ? receive(l, 1, v.u[0]) : Tensor();
    }
    for (auto& s : sends)
      comm_.wait(*s, str("rank ", next_rank(), " to take level ", l, " values"));
  }

  void c_relax(int l) {
    Mgrit::Level& v = levels_[l];
    for (int64_t c = first_c_point(v); c < v.hi; c += o_.coarsening)
      v.u[c - v.lo] = plus(v.w[c - v.lo], v.g[c - v.lo]);
  }

  // ‖Φ(u_{c-1}) + g_c − u_c‖ over every C-point of every rank (the F-points' residuals are
  // zero after an F-sweep).
  double residual(int l) {
    Mgrit::Level& v = levels_[l];
    double sum = 0;
    for (int64_t c = first_c_point(v); c < v.hi; c += o_.coarsening) {
      Tensor r = plus(v.w[c - v.lo], v.g[c - v.lo]) - v.u[c - v.lo];
      sum += (r * r).sum().item<double>();
    }
    return std::sqrt(comm_.sum({sum})[0]);
  }

  // Level l + 1 gets the C-points and the full-approximation right-hand side
  // g_c + Φ(u_{c-1}) − Φ_coarse(u_{c-m}).
  void restrict_to(int l) {
    Mgrit::Level &f = levels_[l], &c = levels_[l + 1];
    const int64_t m = o_.coarsening;
    for (int64_t j = c.lo; j < c.hi; ++j) {
      const int64_t i = j * m - f.lo;
      c.u[j - c.lo] = f.u[i];
      c.g[j - c.lo] = j == 0 ? f.g[0] : plus(f.tau[i], f.g[i]);
    }
  }

  void correct(int l) {
    Mgrit::Level &f = levels_[l], &c = levels_[l + 1];
    for (int64_t j = c.lo; j < c.hi; ++j) f.u[j * o_.coarsening - f.lo] = c.u[j - c.lo];
  }

  // Levels l and coarser: relax, restrict, recurse, correct, and (below level 0) bring the
  // F-points up to date with the corrected C-points.
  void cycle(int l) {
    if (l == static_cast<int>(levels_.size()) - 1) return coarse_sweep(l);
    f_relax(l, !o_.fcf);
    if (o_.fcf) {
      c_relax(l);
      f_relax(l, true);
    }
    restrict_to(l);
    cycle(l + 1);
    correct(l);
    f_relax(l, false);
  }

  // The level solved exactly: u_i = Φ(u_{i-1}) + g_i, one block after another.
  void coarse_sweep(int l) {
    Mgrit::Level& v = levels_[l];
    int64_t first = v.lo + 1;
    if (v.lo == 0) {
      v.u[0] = v.g[0];
    } else {
      v.u[0] = plus(receive(l, 2, v.u[0]), v.g[0]);
    }
    for (int64_t i = first; i < v.hi; ++i)
      v.u[i - v.lo] = plus(step_(l, i - 1, v.u[i - 1 - v.lo]), v.g[i - v.lo]);
    if (block_ + 1 < blocks_) {
      Tensor out = step_(l, v.hi - 1, v.u[v.hi - 1 - v.lo]).contiguous();
      auto send = comm_.start_send(out, next_rank(), tag(l, 2));
      comm_.wait(*send, str("rank ", next_rank(), " to take the coarse sweep of level ", l));
    }
  }

 private:
  int rank_of(int block) const { return o_.reverse ? blocks_ - 1 - block : block; }
  int next_rank() const { return rank_of(block_ + 1); }
  int prev_rank() const { return rank_of(block_ - 1); }
  static int tag(int level, int kind) { return 1000 + 8 * level + kind; }
  int64_t first_c_point(const Mgrit::Level& v) const { return v.lo == 0 ? o_.coarsening : v.lo; }

  Tensor receive(int l, int kind, const Tensor& like) {
    CTDL_CHECK(like.defined(), "mgrit: rank ", comm_.rank(), " has no state to receive into");
    Tensor buffer = empty(like.shape(), {.dtype = like.dtype(), .device = like.device()});
    comm_.recv_(buffer, prev_rank(), tag(l, kind));
    return buffer;
  }

  Communicator& comm_;
  const MgritOptions& o_;
  const MgritStep& step_;
  int block_, blocks_;
  std::vector<Mgrit::Level>& levels_;
};

}  // namespace

Mgrit::Mgrit(Communicator& comm, int64_t steps, MgritOptions options)
    : comm_(comm), steps_(steps), o_(options) {
  blocks_ = comm.size();
  block_ = o_.reverse ? blocks_ - 1 - comm.rank() : comm.rank();
  CTDL_CHECK(o_.levels >= 1, "Mgrit: levels must be at least 1, got ", o_.levels);
  CTDL_CHECK(o_.coarsening >= 2, "Mgrit: the coarsening factor must be at least 2, got ",
             o_.coarsening);
  CTDL_CHECK(o_.max_iterations >= 0, "Mgrit: max_iterations must be >= 0, got ", o_.max_iterations);
  CTDL_CHECK(steps > 0 && steps % blocks_ == 0, "Mgrit: ", steps,
             " steps do not split evenly over ", blocks_, " ranks");
  const int64_t block_steps = steps / blocks_;
  CTDL_CHECK(block_steps % stride(o_.levels - 1) == 0, "Mgrit: each rank's ", block_steps,
             " steps must be a multiple of coarsening^(levels - 1) = ", stride(o_.levels - 1),
             " (coarsening ", o_.coarsening, ", ", o_.levels, " levels)");
  begin_ = block_ * block_steps;
  end_ = begin_ + block_steps + (block_ == blocks_ - 1 ? 1 : 0);
}

int64_t Mgrit::stride(int level) const {
  int64_t s = 1;
  for (int l = 0; l < level; ++l) s *= o_.coarsening;
  return s;
}

MgritResult Mgrit::solve(const MgritStep& step, const Tensor& u0, std::vector<Tensor>& states) {
  autograd::NoGradGuard no_grad;  // a step that needs gradients turns them on itself
  CTDL_CHECK(!holds_start() || u0.defined(), "Mgrit::solve: the rank holding point 0 needs u0");
  std::vector<Level> levels(o_.levels);
  const int64_t block_steps = steps_ / blocks_;
  for (int l = 0; l < o_.levels; ++l) {
    Level& v = levels[l];
    v.stride = stride(l);
    v.n = steps_ / v.stride;
    v.lo = block_ * block_steps / v.stride;
    v.hi = (block_ + 1) * block_steps / v.stride + (holds_end() ? 1 : 0);
    const size_t count = static_cast<size_t>(v.hi - v.lo);
    v.u.resize(count), v.g.resize(count), v.w.resize(count), v.tau.resize(count);
  }
  Level& fine = levels[0];
  if (holds_start()) fine.g[0] = u0;
  const bool warm = static_cast<int64_t>(states.size()) == end_ - begin_;
  // A rank that does not hold point 0 needs the state's shape before anything arrives.
  Tensor like = warm ? states[0] : u0;
  if (!holds_start() && !like.defined())
    fail("Mgrit::solve: rank ", comm_.rank(), " needs u0 (any tensor of the state's shape) or ",
         "a warm start, to know what it receives");
  for (Level& v : levels) v.u[0] = like;

  Solver solver(comm_, o_, step, block_, blocks_, levels);
  MgritResult result;
  if (o_.levels == 1) {  // one level: the plain sweep, exact at once
    solver.coarse_sweep(0);
    result.residuals = {0.0};
    result.converged = true;
    states = std::move(fine.u);
    return result;
  }
  if (warm) {
    fine.u = states;
    if (holds_start()) fine.u[0] = u0;
  } else {
    solver.first_guess();
  }
  for (int k = 0;; ++k) {
    solver.f_relax(0, !o_.fcf);
    double r = solver.residual(0);
    result.residuals.push_back(r);
    if (r <= o_.tolerance || k == o_.max_iterations) {
      result.converged = r <= o_.tolerance;
      solver.c_relax(0);
      break;
    }
    if (o_.fcf) {
      solver.c_relax(0);
      solver.f_relax(0, true);
    }
    solver.restrict_to(0);
    solver.cycle(1);
    solver.correct(0);
    ++result.iterations;
    if (result.iterations == o_.max_iterations && !o_.final_relax) break;
  }
  states = std::move(fine.u);
  return result;
}

}  // namespace ctdl::distributed

#include "ctdl/ode/krylov.h"

#include <cmath>

#include "ctdl/autograd/engine.h"
#include "ctdl/autograd/function.h"
#include "ctdl/autograd/functional.h"
#include "ctdl/autograd/grad_mode.h"

namespace ctdl::ode {
namespace {

double host_dot(const State& a, const State& b) {
  return dot(a, b).to(DType::Float64).item<double>();
}

// Passes z* forward; backward turns the incoming gradient g into w = (I - αJᵀ)⁻¹ g, which then
// flows into the graph of y = c + αF(z*) (the node's input): that is the IFT gradient.
class ImplicitFunctionGradient final : public autograd::CustomFunction {
 public:
  ImplicitFunctionGradient(std::function<State(const State&)> F, State z_star, double alpha,
                           KrylovOptions krylov, std::string context)
      : F_(std::move(F)),
        z_(std::move(z_star)),
        alpha_(alpha),
        krylov_(krylov),
        context_(std::move(context)) {}
  const char* name() const override { return "implicit_solve"; }
  TensorList forward(const TensorList&) override { return z_; }
  TensorList backward(const TensorList& g) override {
    return implicit_adjoint_solve(F_, z_, alpha_, g, krylov_, context_);
  }

 private:
  std::function<State(const State&)> F_;
  State z_;
  double alpha_;
  KrylovOptions krylov_;
  std::string context_;
};

}  // namespace

KrylovResult gmres(const LinearOperator& A, const State& b, const State& x0,
                   const KrylovOptions& options) {
  KrylovResult result;
  result.x = x0.empty() ? zeros_like(b) : x0;
  const double bnorm = std::sqrt(host_dot(b, b));
  if (bnorm == 0.0) {
    result.x = zeros_like(b);
    result.converged = true;
    return result;
  }
  const double tol = std::max(options.rtol * bnorm, options.atol);
  const int m = std::max(1, options.restart);
  bool x_is_zero = x0.empty();
  while (true) {
    State r = x_is_zero ? b : sub(b, A(result.x));
    if (!x_is_zero) ++result.iterations;
    x_is_zero = false;
    double beta = std::sqrt(host_dot(r, r));
    result.residual = beta;
    if (beta <= tol) {
      result.converged = true;
      return result;
    }
    if (result.iterations >= options.max_iters) return result;
    std::vector<State> V{scale(r, 1.0 / beta)};
    std::vector<std::vector<double>> H(m + 1, std::vector<double>(m, 0.0));
    std::vector<double> cs(m, 0.0), sn(m, 0.0), g(m + 1, 0.0);
    g[0] = beta;
    int k = 0;
    for (int j = 0; j < m && result.iterations < options.max_iters; ++j) {
      State w = A(V[j]);
      ++result.iterations;
      for (int i = 0; i <= j; ++i) {
        H[i][j] = host_dot(w, V[i]);
        w = axpy(w, -H[i][j], V[i]);
      }
      H[j + 1][j] = std::sqrt(host_dot(w, w));
      for (int i = 0; i < j; ++i) {
        double a = H[i][j], c = H[i + 1][j];
        H[i][j] = cs[i] * a + sn[i] * c;
        H[i + 1][j] = -sn[i] * a + cs[i] * c;
      }
      double denom = std::hypot(H[j][j], H[j + 1][j]);
      cs[j] = denom == 0 ? 1.0 : H[j][j] / denom;
      sn[j] = denom == 0 ? 0.0 : H[j + 1][j] / denom;
      double sub_diagonal = H[j + 1][j];
      H[j][j] = denom;
      H[j + 1][j] = 0.0;
      g[j + 1] = -sn[j] * g[j];
      g[j] = cs[j] * g[j];
      k = j + 1;
      result.residual = std::abs(g[j + 1]);
      if (result.residual <= tol || sub_diagonal <= 1e-300) break;
      V.push_back(scale(w, 1.0 / sub_diagonal));
    }
    // Back substitution for the least-squares coefficients.
    std::vector<double> y(k, 0.0);
    for (int i = k - 1; i >= 0; --i) {
      double s = g[i];
      for (int l = i + 1; l < k; ++l) s -= H[i][l] * y[l];
      y[i] = H[i][i] == 0 ? 0.0 : s / H[i][i];
    }
    for (int i = 0; i < k; ++i) result.x = axpy(result.x, y[i], V[i]);
    if (result.residual <= tol) {
      result.converged = true;
      return result;
    }
    if (result.iterations >= options.max_iters) return result;
  }
}

double nonlinear_tolerance(const NonlinearSolve& options, const State& z) {
  if (options.tol > 0) return options.tol;
  for (const Tensor& t : z)
    if (t.dtype() == DType::Float32) return 1e-5;
  return 1e-10;
}

State implicit_solve(const std::function<State(const State&)>& F, const State& c, double alpha,
                     const State& guess, const NonlinearSolve& options,
                     const std::string& context) {
  const double tol = nonlinear_tolerance(options, guess);
  State z_star;
  {
    autograd::NoGradGuard no_grad;
    State cc = c.empty() ? State() : detach(c);
    auto residual_base = [&](const State& Fz) {
      return cc.empty() ? scale(Fz, alpha) : axpy(cc, alpha, Fz);
    };
    State z = detach(guess);
    double update = 0;
    bool converged = false;
    int it = 0;
    for (; it < options.max_iters && !converged; ++it) {
      State next;
      if (options.method == NonlinearMethod::FixedPoint) {
        next = residual_base(F(z));
      } else {
        // Newton on G(z) = z - c - αF(z): (I - αJ) δ = -G(z), J·v by autograd's jvp.
        autograd::Linearization lin([&](const TensorList& x) { return F(x); }, z);
        State G = sub(z, residual_base(detach(lin.outputs())));
        KrylovResult kr = gmres([&](const State& v) { return axpy(v, -alpha, lin.jvp(v)); },
                                scale(G, -1.0), {}, options.krylov);
        CTDL_CHECK(kr.converged || std::isfinite(kr.residual), context,
                   ": the Newton step's linear "
                   "solve (GMRES) failed: residual ",
                   kr.residual, " after ", kr.iterations, " iterations");
        next = add(z, detach(kr.x));
      }
      update = rms_norm(sub(next, z));
      CTDL_CHECK(std::isfinite(update), context, ": the ",
                 options.method == NonlinearMethod::Newton ? "Newton" : "fixed-point",
                 " iteration produced NaN or Inf at iteration ", it + 1);
      converged = update <= tol * (1.0 + rms_norm(next));
      z = std::move(next);
    }
    CTDL_CHECK(converged, context, ": the ",
               options.method == NonlinearMethod::Newton ? "Newton" : "fixed-point",
               " iteration did not converge in ", options.max_iters, " iterations (last update ",
               update, ", tolerance ", tol, ")",
               options.method == NonlinearMethod::FixedPoint
                   ? "; fixed-point iteration needs a contraction "
                     "(alpha·Lipschitz(F) < 1): try a smaller step or Newton"
                   : "; try a smaller step or more max_iters");
    z_star = std::move(z);
  }
  if (!autograd::grad_enabled()) return z_star;
  // y = c + αF(z*) carries the graph to c and to whatever F uses; the IFT node in front of it
  // replaces the incoming gradient by (I - αJᵀ)⁻¹·gradient.
  State Fz = F(z_star);
  State y = c.empty() ? scale(Fz, alpha) : axpy(c, alpha, Fz);
  bool needs = false;
  for (const Tensor& t : y) needs = needs || t.requires_grad();
  if (!needs) return z_star;
  return autograd::apply(
      std::make_shared<ImplicitFunctionGradient>(F, z_star, alpha, options.krylov, context), y);
}

State implicit_adjoint_solve(const std::function<State(const State&)>& F, const State& z_star,
                             double alpha, const State& g, const KrylovOptions& options,
                             const std::string& context) {
  autograd::EnableGradGuard grad_on;
  State x = leaves(z_star);
  State y = F(x);
  TensorList roots;
  std::vector<size_t> which;
  for (size_t i = 0; i < y.size(); ++i)
    if (y[i].requires_grad()) roots.push_back(y[i]), which.push_back(i);
  auto transposed = [&](const State& v) {
    if (roots.empty()) return v;
    TensorList seeds;
    for (size_t i : which) seeds.push_back(v[i]);
    TensorList jt = autograd::grad(roots, x, seeds, {.retain_graph = true, .allow_unused = true});
    State out = v;
    for (size_t i = 0; i < out.size(); ++i)
      if (jt[i].defined()) out[i] = out[i] - jt[i] * alpha;
    return out;
  };
  KrylovResult r = gmres(transposed, detach(g), {}, options);
  CTDL_CHECK(r.converged, context,
             ": the adjoint linear solve (I - alpha·J)ᵀ w = g did not converge: "
             "GMRES residual ",
             r.residual, " after ", r.iterations, " iterations");
  return detach(r.x);
}

}  // namespace ctdl::ode

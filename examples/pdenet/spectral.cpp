#include "spectral.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <stdexcept>

namespace ctdl::examples::pdenet {

namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
const Complex kI{0.0, 1.0};

}  // namespace

Equation equation_from_name(const std::string& name) {
  if (name == "convection_diffusion") return Equation::ConvectionDiffusion;
  if (name == "nonlinear_diffusion") return Equation::NonlinearDiffusion;
  if (name == "burgers") return Equation::Burgers;
  throw std::invalid_argument("pdenet: unknown equation '" + name +
                              "' (convection_diffusion, nonlinear_diffusion, burgers)");
}

double convection_diffusion_coefficient(const std::string& term, double x, double y) {
  if (term == "u_x") return 0.5 * (std::cos(y) + x * (kTwoPi - x) * std::sin(x)) + 0.6;
  if (term == "u_y") return 2.0 * (std::cos(y) + std::sin(x)) + 0.8;
  if (term == "u_xx") return 0.2;
  if (term == "u_yy") return 0.3;
  return 0.0;
}

double FourierSeries::value(double x, double y) const {
  const int64_t K = max_frequency, w = 2 * K + 1;
  double s = constant;
  for (int64_t kx = -K; kx <= K; ++kx)
    for (int64_t ky = -K; ky <= K; ++ky) {
      double phase = kx * x + ky * y;
      int64_t m = (kx + K) * w + (ky + K);
      s += cos_coeff[m] * std::cos(phase) + sin_coeff[m] * std::sin(phase);
    }
  return s;
}

std::vector<FourierSeries> random_initial_condition(std::mt19937_64& rng, int64_t channels,
                                                    const InitialOptions& o) {
  std::normal_distribution<double> normal(0.0, 1.0);
  std::uniform_real_distribution<double> uniform(-1.0, 1.0);
  const int64_t K = o.max_frequency, w = 2 * K + 1;
  std::vector<FourierSeries> out;
  for (int64_t c = 0; c < channels; ++c) {
    FourierSeries f{.max_frequency = K,
                    .cos_coeff = std::vector<double>(w * w),
                    .sin_coeff = std::vector<double>(w * w)};
    for (int64_t m = 0; m < w * w; ++m) f.cos_coeff[m] = normal(rng), f.sin_coeff[m] = normal(rng);
    // Rescale to the wanted maximum, measured on a grid fine enough for these frequencies.
    const int64_t g = 8 * (K + 1);
    double peak = 0;
    for (int64_t i = 0; i < g; ++i)
      for (int64_t j = 0; j < g; ++j)
        peak = std::max(peak, std::abs(f.value(kTwoPi * i / g, kTwoPi * j / g)));
    for (int64_t m = 0; m < w * w; ++m) {
      f.cos_coeff[m] *= o.amplitude / peak;
      f.sin_coeff[m] *= o.amplitude / peak;
    }
    f.constant = o.shift * uniform(rng);
    out.push_back(std::move(f));
  }
  return out;
}

SpectralSolver::SpectralSolver(Pde pde, SolverOptions o)
    : pde_(pde), o_(o), n_(o.modes), fft_(o.modes), k_(o.modes) {
  if (o.max_dt <= 0) throw std::invalid_argument("SpectralSolver: max_dt must be positive");
  for (int64_t i = 0; i < n_; ++i) k_[i] = static_cast<double>(wave_number(i));
  keep_.assign(n_ * n_, 1.0);
  const double cutoff = o.dealias ? n_ / 3.0 : n_ / 2.0 - 0.5;
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = 0; j < n_; ++j)
      if (std::abs(k_[i]) > cutoff || std::abs(k_[j]) > cutoff || std::abs(k_[i]) * 2 == n_ ||
          std::abs(k_[j]) * 2 == n_)
        keep_[i * n_ + j] = 0.0;
  if (pde_.equation == Equation::ConvectionDiffusion) {
    a10_.resize(n_ * n_), a01_.resize(n_ * n_);
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        double x = kTwoPi * i / n_, y = kTwoPi * j / n_;
        a10_[i * n_ + j] = convection_diffusion_coefficient("u_x", x, y);
        a01_[i * n_ + j] = convection_diffusion_coefficient("u_y", x, y);
      }
  }
}

int64_t SpectralSolver::wave_number(int64_t index) const {
  return index < n_ / 2 ? index : index - n_;
}

SpectralSolver::State SpectralSolver::initial_state(const std::vector<FourierSeries>& ic) const {
  if (static_cast<int64_t>(ic.size()) != pde_.channels())
    throw std::invalid_argument("SpectralSolver: initial condition has the wrong channel count");
  State s;
  const double n2 = static_cast<double>(n_ * n_);
  for (const FourierSeries& f : ic) {
    const int64_t K = f.max_frequency, w = 2 * K + 1;
    if (3 * K >= n_)
      throw std::invalid_argument("SpectralSolver: initial frequencies up to " + std::to_string(K) +
                                  " need more than " + std::to_string(n_) + " modes");
    Spectrum u(n_ * n_, 0.0);
    auto index = [&](int64_t kx, int64_t ky) { return ((kx + n_) % n_) * n_ + (ky + n_) % n_; };
    for (int64_t kx = -K; kx <= K; ++kx)
      for (int64_t ky = -K; ky <= K; ++ky) {
        int64_t m = (kx + K) * w + (ky + K);
        // cos θ = (e^{iθ} + e^{−iθ})/2, sin θ = (e^{iθ} − e^{−iθ})/(2i); a field e^{ik·x} has
        // the coefficient N² in the unnormalized forward transform.
        Complex c = n2 * (f.cos_coeff[m] / 2.0 + f.sin_coeff[m] / (2.0 * kI));
        u[index(kx, ky)] += c;
        u[index(-kx, -ky)] += std::conj(c);
      }
    u[0] += n2 * f.constant;
    s.push_back(std::move(u));
  }
  return s;
}

double SpectralSolver::diffusion_symbol(int64_t, int64_t i, int64_t j) const {
  const double kx2 = k_[i] * k_[i], ky2 = k_[j] * k_[j];
  switch (pde_.equation) {
    case Equation::ConvectionDiffusion:
      return -(a20_ * kx2 + a02_ * ky2);
    case Equation::NonlinearDiffusion:
      return -pde_.diffusivity * (kx2 + ky2);
    case Equation::Burgers:
      return -pde_.viscosity * (kx2 + ky2);
  }
  return 0.0;
}

void SpectralSolver::nonlinear(const State& s, State& out) const {
  const int64_t nn = n_ * n_;
  // Two real fields per complex transform: ifft(A + iB) = a + i b when A, B are Hermitian.
  auto derivative_pair = [&](const Spectrum& u, std::vector<Complex>& buf) {
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t j = 0; j < n_; ++j) {
        int64_t m = i * n_ + j;
        Complex ux = kI * k_[i] * u[m], uy = kI * k_[j] * u[m];
        buf[m] = ux + kI * uy;
      }
    fft_.inverse(buf);  // real part u_x, imaginary part u_y
  };
  std::vector<Complex> buf(nn), work(nn);
  switch (pde_.equation) {
    case Equation::ConvectionDiffusion: {
      derivative_pair(s[0], buf);
      for (int64_t m = 0; m < nn; ++m) work[m] = a10_[m] * buf[m].real() + a01_[m] * buf[m].imag();
      fft_.forward(work);
      out[0] = work;
      break;
    }
    case Equation::NonlinearDiffusion: {
      work = s[0];
      fft_.inverse(work);
      for (int64_t m = 0; m < nn; ++m) work[m] = pde_.reaction * std::sin(work[m].real());
      fft_.forward(work);
      out[0] = work;
      break;
    }
    case Equation::Burgers: {
      std::vector<Complex> uv(nn), vxy(nn);
      for (int64_t m = 0; m < nn; ++m) uv[m] = s[0][m] + kI * s[1][m];
      fft_.inverse(uv);            // u + i v
      derivative_pair(s[0], buf);  // u_x + i u_y
      derivative_pair(s[1], vxy);  // v_x + i v_y
      for (int64_t m = 0; m < nn; ++m) {
        double u = uv[m].real(), v = uv[m].imag();
        double ru = -(u * buf[m].real() + v * buf[m].imag());
        double rv = -(u * vxy[m].real() + v * vxy[m].imag());
        work[m] = Complex(ru, rv);
      }
      fft_.forward(work);
      // Unpack: the transforms of the real and imaginary parts from Z and its mirror.
      out[0].assign(nn, 0.0), out[1].assign(nn, 0.0);
      for (int64_t i = 0; i < n_; ++i)
        for (int64_t j = 0; j < n_; ++j) {
          Complex z = work[i * n_ + j], zm = std::conj(work[((n_ - i) % n_) * n_ + (n_ - j) % n_]);
          out[0][i * n_ + j] = (z + zm) / 2.0;
          out[1][i * n_ + j] = (z - zm) / (2.0 * kI);
        }
      break;
    }
  }
  for (Spectrum& c : out)
    for (int64_t m = 0; m < nn; ++m) c[m] *= keep_[m];
}

// Integrating-factor RK4 (Lawson): with E = e^{L dt/2},
//   a = N(û), b = N(E(û + dt/2·a)), c = N(Eû + dt/2·b), d = N(E²û + dt·E c),
//   û ← E²û + dt/6·(E²a + 2E(b + c) + d).
void SpectralSolver::step(State& s, double dt) const {
  const int64_t nn = n_ * n_, channels = static_cast<int64_t>(s.size());
  State a(channels, Spectrum(nn)), b = a, c = a, d = a, tmp = s;
  std::vector<double> e(nn);
  for (int64_t i = 0; i < n_; ++i)
    for (int64_t j = 0; j < n_; ++j) e[i * n_ + j] = std::exp(diffusion_symbol(0, i, j) * dt / 2);
  nonlinear(s, a);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t m = 0; m < nn; ++m) tmp[ch][m] = e[m] * (s[ch][m] + dt / 2 * a[ch][m]);
  nonlinear(tmp, b);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t m = 0; m < nn; ++m) tmp[ch][m] = e[m] * s[ch][m] + dt / 2 * b[ch][m];
  nonlinear(tmp, c);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t m = 0; m < nn; ++m) tmp[ch][m] = e[m] * (e[m] * s[ch][m] + dt * c[ch][m]);
  nonlinear(tmp, d);
  for (int64_t ch = 0; ch < channels; ++ch)
    for (int64_t m = 0; m < nn; ++m) {
      double e2 = e[m] * e[m];
      s[ch][m] =
          e2 * s[ch][m] + dt / 6 * (e2 * a[ch][m] + 2.0 * e[m] * (b[ch][m] + c[ch][m]) + d[ch][m]);
    }
}

void SpectralSolver::advance(State& s, double duration) const {
  if (duration <= 0) return;
  const int64_t steps = static_cast<int64_t>(std::ceil(duration / o_.max_dt - 1e-9));
  const double dt = duration / static_cast<double>(steps);
  for (int64_t i = 0; i < steps; ++i) step(s, dt);
}

std::vector<double> SpectralSolver::sample(const State& s, int64_t channel, int64_t n, double x0,
                                           double y0) const {
  const Spectrum& u = s.at(channel);
  // Only the retained modes contribute; list them once.
  std::vector<int64_t> active;
  for (int64_t i = 0; i < n_; ++i) {
    bool any = false;
    for (int64_t j = 0; j < n_ && !any; ++j) any = u[i * n_ + j] != 0.0;
    if (any) active.push_back(i);
  }
  const double n2 = static_cast<double>(n_ * n_);
  std::vector<Complex> ex(n * n_), ey(n * n_);
  for (int64_t p = 0; p < n; ++p)
    for (int64_t i = 0; i < n_; ++i) {
      ex[p * n_ + i] = std::polar(1.0, k_[i] * (x0 + kTwoPi * p / n));
      ey[p * n_ + i] = std::polar(1.0, k_[i] * (y0 + kTwoPi * p / n));
    }
  // t[p][j] = Σ_i e^{i kx x_p} û[i][j]; u(x_p, y_q) = Re Σ_j t[p][j] e^{i ky y_q} / N².
  std::vector<Complex> t(n * n_, 0.0);
  for (int64_t p = 0; p < n; ++p)
    for (int64_t i : active) {
      Complex w = ex[p * n_ + i];
      const Complex* row = &u[i * n_];
      Complex* out = &t[p * n_];
      for (int64_t j = 0; j < n_; ++j) out[j] += w * row[j];
    }
  std::vector<double> field(n * n);
  for (int64_t p = 0; p < n; ++p)
    for (int64_t q = 0; q < n; ++q) {
      Complex sum = 0.0;
      for (int64_t j = 0; j < n_; ++j) sum += t[p * n_ + j] * ey[q * n_ + j];
      field[p * n + q] = sum.real() / n2;
    }
  return field;
}

}  // namespace ctdl::examples::pdenet

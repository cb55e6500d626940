#!/usr/bin/python3
"""Fits the float32 tanh of the CPU kernels (backends/cpu/simd/kernels_impl.h, tanh_float):
tanh(x) = x * P(x^2) / Q(x^2) on [0, 9], P of degree 5 and Q of degree 4 in x^2, Q(0) = 1.

The fit minimises the relative error by linearised least squares (Sanathanan-Koerner:
weights 1 / Q from the previous round), then reweights toward the largest errors (Lawson)
so the result approaches the minimax fit. It works in u = (x / 9)^2 to keep the normal
equations well conditioned, and prints the coefficients for powers of x^2 together with the
error of the float32 evaluation the kernel does (Horner with multiply-adds, one division).

Run: /usr/bin/python3 tools/fit_tanh_float.py     (needs NumPy only)
"""
import numpy as np

C = 9.0  # tanh(x) rounds to 1 in float32 from about 9.01 on
P_TERMS, Q_TERMS = 6, 5

x = np.sort(np.concatenate([np.linspace(0, C, 60000)[1:], np.geomspace(1e-4, 1, 3000)]))
u = (x / C) ** 2
g = np.tanh(x) / x
pu = u[:, None] ** np.arange(P_TERMS)
qu = u[:, None] ** np.arange(1, Q_TERMS)
q_prev, w, best = np.ones_like(x), np.ones_like(x), None
for it in range(300):
    a = np.hstack([pu, -g[:, None] * qu])
    scale = w / (g * q_prev)
    coef, *_ = np.linalg.lstsq(a * scale[:, None], g * scale, rcond=None)
    p, q = coef[:P_TERMS], np.concatenate([[1.0], coef[P_TERMS:]])
    q_values = qu @ q[1:] + 1
    err = np.abs((pu @ p) / q_values / g - 1)
    if q_values.min() > 0 and (best is None or err.max() < best[0]):
        best = (err.max(), p.copy(), q.copy())
    q_prev = q_values
    if it > 10:
        w = np.maximum(w * (err / err.max()) ** 0.5, 1e-8)
        w /= w.max()
max_rel, p, q = best
p_s = p / C ** (2 * np.arange(P_TERMS))  # coefficients of powers of s = x^2
q_s = q / C ** (2 * np.arange(Q_TERMS))


def round32(v):
    return np.asarray(v, dtype=np.float64).astype(np.float32).astype(np.float64)


def tanh_float(xs):
    """The kernel's arithmetic: every multiply-add rounded once to float32."""
    xc = np.minimum(xs, np.float32(C)).astype(np.float64)
    s = round32(xc * xc)
    pv = float(np.float32(p_s[-1]))
    for c in p_s[-2::-1]:
        pv = round32(pv * s + float(np.float32(c)))
    qv = float(np.float32(q_s[-1]))
    for c in q_s[-2::-1]:
        qv = round32(qv * s + float(np.float32(c)))
    return np.minimum(round32(round32(xc * pv) / qv), 1.0)


xs = np.unique(np.concatenate([np.linspace(0, 9.5, 4_000_001),
                               np.geomspace(1e-30, 1, 400_001)]).astype(np.float32))
exact = np.tanh(xs.astype(np.float64))
ulps = np.abs(tanh_float(xs) - exact) / np.spacing(exact.astype(np.float32)).astype(np.float64)
print(f"fit: max relative error {max_rel:.3g} (float64 arithmetic)")
print(f"float32 kernel: max {ulps.max():.2f} ulp at x = {xs[np.argmax(ulps)]}, "
      f"mean {ulps.mean():.2f} ulp")
print("P:", ", ".join(f"{c:.9e}f" for c in p_s))
print("Q:", ", ".join(f"{c:.9e}f" for c in q_s))

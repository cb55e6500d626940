#!/usr/bin/env python3
"""PyTorch's side of `ctdl bench --device cuda`: the workloads of
../shared/bench/WORKLOADS.md (those of ../shared/bench/peer_torch.py, same names) plus
copy_16M, with every tensor, model and optimizer on a GPU (or on the CPU).

    python3 bench/peer_torch_cuda.py [--device cuda|cuda:N|cpu] [--reps N] [--only NAME,NAME]
                                     [--tf32]

Prints one JSON object per workload per line, as peer_torch.py does, with "device" added:
    {"workload": "copy_16M", "median_ms": 0.05, "min_ms": 0.05, "reps": 7,
     "device": "cuda:0", "gbps": 2700.0}
Each workload is warmed up once; on a GPU every repetition is timed from a synchronized
device to torch.cuda.synchronize() returning, so it counts the kernels' run time, not only
their launch. TF32 is off (ctdl computes in full float32) unless --tf32 is given. The GPU's
name goes to stderr, once. Needs a PyTorch built with CUDA for --device cuda; Debian's
python3-torch has none, but runs --device cpu (use /usr/bin/python3).
"""
import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

N16M = 1 << 24


def make_timer(device, reps):
    on_gpu = device.type == "cuda"

    def wait():
        if on_gpu:
            torch.cuda.synchronize(device)

    def timed(name, fn, **extra):
        fn()  # warm-up
        wait()
        ts, peak = [], 0
        for _ in range(reps):
            if on_gpu:
                torch.cuda.reset_peak_memory_stats(device)
                live = torch.cuda.memory_allocated(device)
            t0 = time.perf_counter()
            fn()
            wait()
            ts.append((time.perf_counter() - t0) * 1e3)
            if on_gpu:
                peak = max(peak, torch.cuda.max_memory_allocated(device) - live)
        rec = {"workload": name, "median_ms": statistics.median(ts), "min_ms": min(ts),
               "reps": reps, "threads": torch.get_num_threads(), "device": str(device)}
        if on_gpu:
            rec["peak_bytes"] = peak
        for k, v in extra.items():
            rec[k] = v(rec["median_ms"]) if callable(v) else v
        print(json.dumps(rec), flush=True)

    return timed


def workloads(dev):
    """(name, make, extra): make() builds the inputs on `dev` and returns one repetition."""

    def randn(*shape, **kw):
        return torch.randn(*shape, device=dev, **kw)

    def matmul(n, dtype):
        a, b = randn(n, n, dtype=dtype), randn(n, n, dtype=dtype)
        return lambda: torch.mm(a, b)

    def axpby():
        # As peer_torch.py: two passes into buffers made once (PyTorch has no fused axpby).
        x, y = randn(N16M), randn(N16M)
        t = torch.empty(N16M, device=dev)
        z = torch.empty(N16M, device=dev)
        return lambda: torch.add(torch.mul(x, 2.0, out=t), y, alpha=3.0, out=z)

    def copy():
        x = randn(N16M)
        return lambda: x.clone()

    def sum_all():
        x = randn(N16M)
        return lambda: x.sum()

    def tiny_add():
        a, b = randn(2), randn(2)

        def run():
            with torch.no_grad():
                for _ in range(10000):
                    a + b
        return run

    def train_steps(model, x, y, steps):
        model.to(dev)
        opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def run():
            for _ in range(steps):
                opt.zero_grad()
                F.cross_entropy(model(x), y).backward()
                opt.step()
        return run

    def mlp():
        model = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        return train_steps(model, randn(128, 784), torch.randint(0, 10, (128,), device=dev), 10)

    def cnn():
        model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Flatten(), nn.Linear(3136, 10))
        return train_steps(model, randn(64, 1, 28, 28), torch.randint(0, 10, (64,), device=dev), 1)

    class ODEFunc(nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.l2 = nn.Linear(2, 64), nn.Linear(64, 2)

        def forward(self, z):
            return self.l2(torch.tanh(self.l1(z)))

    def node_rk4_backprop(batch):
        f = ODEFunc().to(dev)
        z0 = randn(batch, 2, requires_grad=True)
        h = 0.01

        def run():
            z = z0
            for _ in range(100):
                k1 = f(z)
                k2 = f(z + 0.5 * h * k1)
                k3 = f(z + 0.5 * h * k2)
                k4 = f(z + h * k3)
                z = z + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            z.pow(2).sum().backward()
        return run

    def pdenet_step():
        conv = nn.Conv2d(1, 15, 5, padding=2, padding_mode="circular", bias=False).to(dev)
        mix = nn.Conv2d(15, 1, 1, bias=False).to(dev)
        x, target = randn(16, 1, 64, 64), randn(16, 1, 64, 64)

        def run():
            conv.zero_grad()
            mix.zero_grad()
            F.mse_loss(mix(conv(x)), target).backward()
        return run

    def gflops(n):
        return {"gflops": lambda ms: 2 * n**3 / ms / 1e6}

    def gbps(nbytes):
        return {"gbps": lambda ms: nbytes / ms / 1e6}

    return [
        ("matmul_n512", lambda: matmul(512, torch.float32), gflops(512)),
        ("matmul_n1024", lambda: matmul(1024, torch.float32), gflops(1024)),
        ("matmul_n2048", lambda: matmul(2048, torch.float32), gflops(2048)),
        ("matmul_f64_n1024", lambda: matmul(1024, torch.float64), gflops(1024)),
        ("axpby_16M", axpby, gbps(3 * 4 * N16M)),
        ("copy_16M", copy, gbps(2 * 4 * N16M)),
        ("sum_16M", sum_all, gbps(4 * N16M)),
        ("tiny_add_x10000", tiny_add, {}),
        ("mlp_step_x10", mlp, {}),
        ("cnn_step", cnn, {}),
        ("node_rk4_backprop", lambda: node_rk4_backprop(512), {}),
        ("pdenet_step", pdenet_step, {}),
        # ctdl's batch sweep of the same neural ODE (as bench/node_batch_sweep.py).
        ("node_rk4_backprop_b1", lambda: node_rk4_backprop(1), {}),
        ("node_rk4_backprop_b16", lambda: node_rk4_backprop(16), {}),
        ("node_rk4_backprop_b64", lambda: node_rk4_backprop(64), {}),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--device", default="cuda", help="cuda (default), cuda:N or cpu")
    p.add_argument("--reps", type=int, default=7)
    p.add_argument("--only", default="", help="NAME,NAME: these workloads only")
    p.add_argument("--tf32", action="store_true",
                   help="let matmuls and convolutions use TF32 (off: full float32, as ctdl)")
    a = p.parse_args()
    if a.reps < 1:
        p.error(f"--reps must be a positive integer, got {a.reps}")
    try:
        dev = torch.device(a.device)
    except RuntimeError:
        dev = None
    if dev is None or dev.type not in ("cpu", "cuda"):
        p.error(f"--device must be cpu, cuda or cuda:N, got {a.device!r}")
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this PyTorch was built without CUDA" if torch.version.cuda is None
                   else "the CUDA driver reports no GPU")
            sys.exit(f"peer_torch_cuda.py: device {a.device} is not available: {why} "
                     f"(torch {torch.__version__} from {os.path.dirname(torch.__file__)})")
        if dev.index is None:
            dev = torch.device("cuda", torch.cuda.current_device())
        if dev.index >= torch.cuda.device_count():
            sys.exit(f"peer_torch_cuda.py: device {dev} is not available: this machine has "
                     f"{torch.cuda.device_count()} GPU(s)")
        torch.cuda.set_device(dev)
        torch.backends.cuda.matmul.allow_tf32 = a.tf32
        torch.backends.cudnn.allow_tf32 = a.tf32
        props = torch.cuda.get_device_properties(dev)
        print(f"peer_torch_cuda.py: {dev} is {props.name} (sm_{props.major}{props.minor}, "
              f"{props.total_memory / 2**30:.0f} GiB), torch {torch.__version__}, "
              f"CUDA {torch.version.cuda}, tf32 {'on' if a.tf32 else 'off'}",
              file=sys.stderr, flush=True)
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    work = workloads(dev)
    only = [n for n in a.only.split(",") if n]
    known = [name for name, _, _ in work]
    unknown = [n for n in only if n not in known]
    if unknown:
        # Not an error: ctdl has workloads PyTorch has no peer for (node_rk4_adjoint).
        print(f"peer_torch_cuda.py: no peer for {', '.join(unknown)}", file=sys.stderr)
    timed = make_timer(dev, a.reps)
    for name, make, extra in work:
        if only and name not in only:
            continue
        timed(name, make(), **extra)


if __name__ == "__main__":
    main()

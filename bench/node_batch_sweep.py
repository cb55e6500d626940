#!/usr/bin/env python3
"""PyTorch's time for the neural ODE of WORKLOADS.md (node_rk4_backprop) at batch sizes
1, 16, 64 and 512, beside ctdl's node_rk4_backprop_b1/_b16/_b64 and node_rk4_backprop.

    python3 bench/node_batch_sweep.py build/bin/ctdl

Runs `ctdl bench --only ...` for ctdl's side and prints one table with ratio = PyTorch ms /
ctdl ms. The PyTorch code is the peer's (../shared/bench/peer_torch.py) with the batch made
a parameter. Both use every core.
"""
import json
import os
import statistics
import subprocess
import sys
import time

import torch
from torch import nn


class ODEFunc(nn.Module):
    def __init__(self):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2, 64), nn.Linear(64, 2)

    def forward(self, z):
        return self.l2(torch.tanh(self.l1(z)))


def torch_ms(batch, reps):
    f = ODEFunc()
    z0 = torch.randn(batch, 2, requires_grad=True)
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

    run()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        run()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main():
    ctdl = sys.argv[1] if len(sys.argv) > 1 else "build/bin/ctdl"
    torch.set_num_threads(os.cpu_count())
    torch.manual_seed(0)
    names = {1: "node_rk4_backprop_b1", 16: "node_rk4_backprop_b16",
             64: "node_rk4_backprop_b64", 512: "node_rk4_backprop"}
    out = subprocess.run([ctdl, "bench", "--only", ",".join(names.values()), "--reps", "7"],
                         check=True, capture_output=True, text=True).stdout
    ours = {}
    for line in out.splitlines():
        r = json.loads(line)
        ours[r["workload"]] = r["median_ms"]
    print(f"{'batch':>6} {'pytorch ms':>11} {'ctdl ms':>9} {'ratio':>7}")
    for batch, name in names.items():
        theirs = torch_ms(batch, 7)
        print(f"{batch:>6} {theirs:>11.3f} {ours[name]:>9.3f} {theirs / ours[name]:>7.2f}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The GPU checks in one run, for a machine with an NVIDIA GPU (the H200):
# build with CUDA, run the CUDA suite (op database, runtime, ODE/SDE schemes and training
# on the device against the CPU), then the GPU benchmarks side by side with PyTorch.
#
#   tools/cuda_check.sh [build-dir] [output-dir]
#
# Results go to output-dir (default: build-dir/cuda-check): test log, bench JSON lines.
set -euo pipefail
build=${1:-build-cuda}
out=${2:-$build/cuda-check}
mkdir -p "$out"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$out/gpu.txt"
cmake -S . -B "$build" -DCTDL_CUDA=ON -DCMAKE_BUILD_TYPE=Release > "$out/configure.log"
cmake --build "$build" -j"$(nproc)" --target test_cuda ctdl_command > "$out/build.log" 2>&1 ||
  { tail -50 "$out/build.log"; exit 1; }
# The CUDA suite; then the ODE/SDE and op suites' CPU results are the reference it compares to.
"$build/bin/test_cuda" 2>&1 | tee "$out/test_cuda.log" | tail -30
"$build/bin/ctdl" bench --device cuda --reps 10 | tee "$out/bench_cuda.jsonl"
if /usr/bin/python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
  /usr/bin/python3 bench/compare_cuda.py --rounds 2 -- "$build/bin/ctdl" bench --device cuda | tee "$out/compare_cuda.txt"
else
  echo "PyTorch with CUDA is not installed here: no side-by-side table" | tee "$out/compare_cuda.txt"
fi

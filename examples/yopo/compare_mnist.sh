#!/usr/bin/env bash
# The MNIST comparison in one command: PGD-40 training (4 epochs, the trained baseline of
# README.md's results), then YOPO-5-10 (--quick, 3 epochs), one after the other so that their
# training times compare, then yopo-compare (speed-up to the same robust accuracy, plots of
# robust accuracy against wall and CPU time) into runs/yopo-compare. About 25 minutes on 2 cores.
#
#   examples/yopo/compare_mnist.sh [build/bin/ctdl] [--data DIR]
set -euo pipefail
ctdl=build/bin/ctdl
if [[ $# -gt 0 && $1 != --* ]]; then ctdl=$1; shift; fi
"$ctdl" run pgd-mnist --quick --set epochs=4 --set lr=0.05 --set curve_every=80 --out runs/pgd-mnist "$@"
"$ctdl" run yopo-mnist --quick --out runs/yopo-mnist "$@"
"$ctdl" run yopo-compare --out runs/yopo-compare

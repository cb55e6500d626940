#!/usr/bin/env python3
"""`ctdl bench --device cuda` and PyTorch on the same GPU (peer_torch_cuda.py), side by side.

Usage: compare_cuda.py [--rounds N] [--json OUT] [--python PY] [--tf32] -- PROGRAM [ARGS...]

    python3 bench/compare_cuda.py -- build/bin/ctdl bench --device cuda

PROGRAM is ctdl's benchmark command. The peer runs on the device PROGRAM's --device names
(cuda when it names none), with PROGRAM's --only and --reps. The two run alternately, N
rounds each (default 2), and each workload keeps the best median over the rounds, as
../shared/bench/compare.py does. Prints the same table (ratio = pytorch ms / ctdl ms,
above 1: ctdl is faster), then axpby_16M's bandwidth as a fraction of copy_16M's, for
ctdl (the target is 0.80 or more) and for PyTorch. A workload ctdl reports as failed
shows as "failed" and makes the exit status 1; when ctdl prints nothing usable the
comparison stops with its exit status. When the peer cannot run (no PyTorch with CUDA),
the table shows ctdl's side alone, with the peer's error on stderr.

The peer runs with PY (default: this interpreter when it has torch, else /usr/bin/python3),
which needs a PyTorch built with CUDA for --device cuda.
"""
import argparse
import importlib.util
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
PEER_SCRIPT = os.path.join(HERE, "peer_torch_cuda.py")
AXPBY_TARGET = 0.80  # axpby_16M's gbps over copy_16M's, on a GPU


def option(args, name):
    """The value of `name VALUE` or `name=VALUE` in args, or None."""
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith(name + "="):
            return arg[len(name) + 1:]
    return None


def run(cmd, echo_stderr, fatal=True):
    """The JSON lines of cmd by workload, and whether some workload failed. When cmd fails
    without printing any: exits with its status if `fatal`, else warns and returns none."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True)
    except OSError as e:  # no such program
        out = subprocess.CompletedProcess(cmd, 127, "", f"{e}\n")
    rows, failed = {}, False
    for line in out.stdout.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if "workload" in rec and "median_ms" in rec:
            rows[rec["workload"]] = rec
        elif "workload" in rec and "error" in rec:
            rows[rec["workload"]] = rec
            failed = True
    if out.returncode != 0 and not rows:
        sys.stderr.write(f"{' '.join(cmd)} failed ({out.returncode}):\n{out.stderr[-2000:]}")
        if fatal:
            sys.exit(out.returncode or 1)
        if echo_stderr:
            sys.stderr.write("compare_cuda.py: going on without PyTorch's side\n")
        return {}, True
    if echo_stderr and out.stderr:
        sys.stderr.write(out.stderr)  # the device's description, failures
    return rows, failed or out.returncode != 0


def best(into, rows):
    for name, rec in rows.items():
        old = into.get(name)
        if "median_ms" not in rec:
            into.setdefault(name, rec)  # a failure counts only when no round succeeded
        elif old is None or "median_ms" not in old or rec["median_ms"] < old["median_ms"]:
            into[name] = rec


def fraction_line(side, rows):
    axpby, copy = rows.get("axpby_16M", {}).get("gbps"), rows.get("copy_16M", {}).get("gbps")
    if not axpby or not copy:
        return f"{side}: axpby_16M/copy_16M bandwidth: not measured"
    frac = axpby / copy
    line = (f"{side}: axpby_16M {axpby:.1f} GB/s = {frac:.2f} of copy_16M's {copy:.1f} GB/s")
    if side == "ctdl":
        line += f" ({'meets' if frac >= AXPBY_TARGET else 'below'} the {AXPBY_TARGET:.2f} target)"
    return line


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--json", help="also write the table here")
    p.add_argument("--python", help="the interpreter that runs peer_torch_cuda.py")
    p.add_argument("--tf32", action="store_true", help="let PyTorch use TF32 (off by default)")
    p.add_argument("program", nargs=argparse.REMAINDER)
    a = p.parse_args()
    prog = a.program[1:] if a.program[:1] == ["--"] else a.program
    if not prog:
        p.error("name ctdl's benchmark command after --, e.g. -- build/bin/ctdl bench --device cuda")
    if a.rounds < 1:
        p.error("--rounds must be at least 1")
    python = a.python or (sys.executable if importlib.util.find_spec("torch") else "/usr/bin/python3")
    peer = [python, PEER_SCRIPT, "--device", option(prog, "--device") or "cuda"]
    for name in ("--only", "--reps"):
        value = option(prog, name)
        if value is not None:
            peer += [name, value]
    if a.tf32:
        peer.append("--tf32")

    theirs, ours, failed = {}, {}, False
    for r in range(a.rounds):
        rows, _ = run(peer, echo_stderr=r == 0, fatal=False)
        best(theirs, rows)
        rows, bad = run(prog, echo_stderr=r == 0)
        best(ours, rows)
        failed |= bad

    names = list(theirs) + [n for n in ours if n not in theirs]
    table = []
    print(f"{'workload':<22}{'pytorch ms':>12}{'ctdl ms':>12}{'ratio':>8}")
    for n in names:
        pm = theirs.get(n, {}).get("median_ms")
        om = ours.get(n, {}).get("median_ms")
        ratio = pm / om if pm and om else None
        row = {"workload": n, "pytorch_ms": pm, "ctdl_ms": om, "ratio": ratio}
        for side, rows in (("pytorch", theirs), ("ctdl", ours)):
            if "error" in rows.get(n, {}):
                row[f"{side}_error"] = rows[n]["error"]
        table.append(row)

        def cell(v, rec):
            if v is not None:
                return f"{v:12.3f}"
            return f"{'failed' if 'error' in rec else 'missing':>12}"

        print(f"{n:<22}{cell(pm, theirs.get(n, {}))}{cell(om, ours.get(n, {}))}"
              f"{(f'{ratio:8.2f}' if ratio else '       -')}")
    print()
    for side, rows in (("ctdl", ours), ("pytorch", theirs)):
        print(fraction_line(side, rows))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"table": table,
                       "device": next((r.get("device") for r in ours.values() if "device" in r), None),
                       "ctdl": ours, "pytorch": theirs}, f, indent=1)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

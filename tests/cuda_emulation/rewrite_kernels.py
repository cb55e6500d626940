#!/usr/bin/env python3
"""Rewrites the CUDA backend's sources so that g++ compiles them for the CPU.

    rewrite_kernels.py OUT_DIR FILE...

Each FILE of backends/cuda (.cu, .cuh, and the headers they include) is written to OUT_DIR
(a .cu as a .cpp) with two changes, lines kept where they were (a #line names the original,
so diagnostics point at backends/cuda):
  * a launch `kernel<...><<<grid, block, smem, stream>>>(args)` becomes
    `::ctdl_emu::launch(::ctdl_emu::LaunchConfig(grid, block, smem, stream), kernel<...>, args)`
    (tests/cuda_emulation/shim/cuda_runtime.h runs it);
  * namespace ctdl::cuda becomes ctdl::cuda_emulated, so that the rewritten backend and the
    real one (in libctdl when it is built with CUDA) can live in one program.
"""
import os
import re
import sys


def matching_paren(text, open_at):
    depth = 0
    for i in range(open_at, len(text)):
        if text[i] == "(":
            depth += 1
        elif text[i] == ")":
            depth -= 1
            if depth == 0:
                return i
    raise ValueError("unbalanced parentheses after a launch")


def rewrite_launches(text, path):
    out, pos, count = [], 0, 0
    while True:
        start_cfg = text.find("<<<", pos)
        if start_cfg < 0:
            out.append(text[pos:])
            return "".join(out), count
        # The kernel expression runs from the end of the previous statement or brace.
        stmt = max(text.rfind(c, pos, start_cfg) for c in ";{}") + 1
        stmt = max(stmt, pos)
        kernel = text[stmt:start_cfg]
        lead = kernel[: len(kernel) - len(kernel.lstrip())]
        kernel = kernel.strip()
        end_cfg = text.find(">>>", start_cfg)
        config = text[start_cfg + 3 : end_cfg]
        open_args = end_cfg + 3
        while text[open_args].isspace():
            open_args += 1
        if text[open_args] != "(" or not kernel:
            raise ValueError(f"{path}: cannot parse the launch at offset {start_cfg}")
        close_args = matching_paren(text, open_args)
        args = text[open_args + 1 : close_args]
        original = text[stmt:close_args + 1]
        replacement = (f"{lead}::ctdl_emu::launch(::ctdl_emu::LaunchConfig({config}), {kernel}"
                       f"{', ' if args.strip() else ''}{args})")
        # Keep the line count: the code after the launch stays on its line.
        missing = original.count("\n") - replacement.count("\n")
        replacement = replacement.replace("\n", " ") + "\n" * original.count("\n") if missing < 0 else replacement + "\n" * missing
        out.append(text[pos:stmt])
        out.append(replacement)
        pos = close_args + 1
        count += 1


def main():
    out_dir, files = sys.argv[1], sys.argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    for path in files:
        with open(path) as f:
            text = f.read()
        text = re.sub(r"\bctdl::cuda\b(?!_)", "ctdl::cuda_emulated", text)
        text, launches = rewrite_launches(text, path)
        name = os.path.basename(path)
        if name.endswith(".cu"):
            name = name[:-3] + ".cpp"
        abs_path = os.path.abspath(path).replace("\\", "/")
        result = f'#line 1 "{abs_path}"\n{text}'
        target = os.path.join(out_dir, name)
        old = open(target).read() if os.path.exists(target) else None
        if old != result:  # unchanged files keep their time stamps: no needless rebuilds
            with open(target, "w") as f:
                f.write(result)
        else:
            os.utime(target)


if __name__ == "__main__":
    main()

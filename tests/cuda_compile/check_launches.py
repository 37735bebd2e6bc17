"""Checks nvcc's host objects of the CUDA backend for launches of kernels without device code.

nvcc compiles a .cu file twice: once for the device, once for the host. Each kernel instance the
device pass instantiates gets a launch wrapper on the host; a kernel instance that only the host
pass instantiates (the passes disagree on a template argument: a deduced return type of a
__device__ function is void on the host, a type read through a nested generic lambda can come
out as a reference) gets nvcc's generic wrapper instead, which calls cudaLaunchKernel with no
function: "invalid device function" at run time, on a GPU only. This finds those wrappers in
objects compiled with host code at -O0 (so that no wrapper is inlined away) and fails, naming
each kernel instance, so CI catches the bug without a GPU.

    python check_launches.py OBJECT...
"""
import re
import subprocess
import sys


def bad_wrappers(obj):
    out = subprocess.run(["objdump", "-dr", "--no-show-raw-insn", obj], capture_output=True,
                         text=True, check=True).stdout
    func, bad = None, set()
    for line in out.splitlines():
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            func = m.group(1)
        elif func and "__wrapper__device_stub_" in func and "R_X86_64" in line \
                and "cudaLaunchKernel" in line:
            bad.add(func)
    return sorted(bad)


def main(objs):
    failed = 0
    for obj in objs:
        bad = bad_wrappers(obj)
        failed += len(bad)
        for name in bad:
            shown = subprocess.run(["c++filt", name], capture_output=True, text=True).stdout.strip()
            print(f"{obj}: a kernel launch with no device code: {shown[:400]}")
    print(f"check_launches: {len(objs)} objects, {failed} launch(es) of kernels without device code")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

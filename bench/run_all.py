"""Runs every side-by-side benchmark (each in its own process, all peers inside it) and writes
the tables into bench/RESULTS.md between the `run_all` markers, with the date, the machine,
the versions, and the targets checked. Text outside the markers is kept.

    python bench/run_all.py [--quick] [--only elementwise,reduce,...] [--print]
"""
import datetime
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ember_threads, free_cores, machine_info, versions  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "RESULTS.md")
BEGIN, END = "<!-- run_all:begin -->", "<!-- run_all:end -->"
BENCHES = [
    ("elementwise", "Elementwise (float32)"),
    ("reduce", "Reductions: sum (float32)"),
    ("matmul", "Matmul (float32)"),
    ("dispatch", "Per-op overhead"),
]


def run_one(name, quick):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, os.path.join(HERE, f"bench_{name}.py"), "--summary", path]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        return f"(failed: {proc.stderr.strip().splitlines()[-1] if proc.stderr else proc.returncode})", {}
    with open(path) as f:
        summary = json.load(f)
    os.unlink(path)
    if proc.stderr.strip():
        sys.stderr.write(proc.stderr)
    return proc.stdout.strip(), summary


def targets(summaries):
    """Lines checking the targets: large elementwise within 1.5x of the copy bandwidth, and
    float32 matmul within 10% of the BLAS ember calls."""
    out = []
    ew = summaries.get("elementwise", {})
    copy = ew.get("copy_gbs")
    if copy:
        out.append(f"- Memory bandwidth reference (numpy copy, 1e7 float32): **{copy:.1f} GB/s**.")
        for key, v in ew.items():
            if "1e7" not in key and "4096x4096" not in key:
                continue
            gbs = v.get("gbs")
            if gbs is None:
                continue
            ok = gbs >= copy / 1.5
            op = key.strip("()").split(",")[0].strip("' ")
            out.append(f"  - {op}: {gbs:.1f} GB/s = copy / {copy / gbs:.2f} "
                       f"({'meets' if ok else 'misses'} the 1.5x target)")
    mm = summaries.get("matmul", {})
    for n, v in mm.items():
        e, b = v.get("gflops"), v.get("blas")
        if e and b:
            ok = e >= 0.9 * b
            out.append(f"- matmul {n}: ember {e:.0f} GFLOP/s vs openblas32 sgemm {b:.0f} "
                       f"({e / b:.2f}x, {'meets' if ok else 'misses'} the 10% target)")
    return "\n".join(out)


def main():
    quick = "--quick" in sys.argv
    only = None
    if "--only" in sys.argv:
        only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores0 = free_cores()
    parts, summaries = [], {}
    for name, title in BENCHES:
        if only and name not in only:
            continue
        print(f"running bench_{name}.py ...", file=sys.stderr)
        md, summary = run_one(name, quick)
        summaries[name] = summary
        parts.append(f"### {title}\n\n{md}\n")
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores1 = free_cores()
    head = [
        f"Measured {datetime.date.today().isoformat()} by `python bench/run_all.py"
        f"{' --quick' if quick else ''}`.",
        f"Machine: {machine_info()}; ember threads: {ember_threads()}.",
        f"Versions: {versions()}, Python {sys.version.split()[0]}.",
    ]
    if load0 is not None:
        head.append(f"Load average (1 min) before / after: {load0:.2f} / {load1:.2f}; cores free "
                    f"for a CPU-bound job before / after: {cores0} / {cores1} of "
                    f"{os.cpu_count()} (other work on the machine makes figures noisier).")
    t = targets(summaries)
    body = "\n".join(head) + "\n\n" + ("#### Targets\n\n" + t + "\n\n" if t else "")
    body += "\n".join(parts)
    block = f"{BEGIN}\n{body}\n{END}"
    if "--print" in sys.argv:
        print(block)
        return
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# ember benchmarks\n\n"
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)
    print(f"wrote {RESULTS}", file=sys.stderr)


if __name__ == "__main__":
    main()

"""Runs every side-by-side benchmark (each in its own process, all peers inside it) and writes
the tables into bench/RESULTS.md between the `run_all` markers, with the date, the machine,
the versions, and the targets checked. Text outside the markers is kept.

    python bench/run_all.py [--quick] [--only elementwise,reduce,...] [--print]

--only re-measures the named benchmarks and keeps the other sections of the existing block.
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
    ("linalg", "Linear algebra (float32)"),
    ("fft", "FFT (complex64)"),
    ("fast", "mx.fast against torch (float32)"),
]


def run_one(name, quick):
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        path = f.name
    cmd = [sys.executable, os.path.join(HERE, f"bench_{name}.py"), "--summary", path]
    if quick:
        cmd.append("--quick")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        why = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else proc.returncode
        return f"(failed: {why})", {}
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


def conditions(load0, load1, cores0, cores1):
    if load0 is None:
        return ""
    return (f"Load average (1 min) before / after: {load0:.2f} / {load1:.2f}; cores free for a "
            f"CPU-bound job before / after: {cores0} / {cores1} of {os.cpu_count()} (other work "
            "on the machine makes figures noisier).")


def sections(body):
    """{title: text} of the `### title` sections of a block body, in order."""
    out, title = {}, None
    for line in body.splitlines(keepends=True):
        if line.startswith("### "):
            title = line[4:].strip()
            out[title] = ""
        if title is not None:
            out[title] += line
    return out


def main():
    quick = "--quick" in sys.argv
    only = None
    if "--only" in sys.argv:
        only = set(sys.argv[sys.argv.index("--only") + 1].split(","))
    load0 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores0 = free_cores()
    parts, summaries = {}, {}
    for name, title in BENCHES:
        if only and name not in only:
            continue
        print(f"running bench_{name}.py ...", file=sys.stderr)
        md, summary = run_one(name, quick)
        summaries[name] = summary
        parts[title] = f"### {title}\n\n{md}\n\n"
    load1 = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    cores1 = free_cores()
    text = open(RESULTS).read() if os.path.exists(RESULTS) else "# ember benchmarks\n\n"
    has_block = BEGIN in text and END in text
    if only and has_block:
        # Re-measure some benchmarks: keep the others' sections and targets, note the rerun.
        old = text[text.index(BEGIN) + len(BEGIN):text.index(END)]
        old_parts = sections(old)
        first_section = old.index("\n### ") + 1
        head_end = old.index("#### Targets") if "#### Targets" in old else first_section
        head = old[:head_end].strip() + "\n"
        head += (f"Re-measured {datetime.datetime.now():%Y-%m-%d %H:%M} with `--only "
                 f"{','.join(sorted(only))}`: {conditions(load0, load1, cores0, cores1)}\n")
        targets_old = old[head_end:first_section] if "#### Targets" in old else ""
        merged = {**old_parts, **parts}
        body = head + "\n" + (targets_old if not any(k in summaries for k in ("elementwise",
                                                                              "matmul"))
                               else "#### Targets\n\n" + retarget(summaries, targets_old) + "\n\n")
        body += "".join(merged[t] for _, t in BENCHES if t in merged)
    else:
        head = [
            f"Measured {datetime.date.today().isoformat()} by `python bench/run_all.py"
            f"{' --quick' if quick else ''}`.",
            f"Machine: {machine_info()}; ember threads: {ember_threads()}.",
            f"Versions: {versions()}, Python {sys.version.split()[0]}.",
            conditions(load0, load1, cores0, cores1),
        ]
        t = targets(summaries)
        body = "\n".join(h for h in head if h) + "\n\n"
        body += ("#### Targets\n\n" + t + "\n\n" if t else "")
        body += "".join(parts[t] for _, t in BENCHES if t in parts)
    block = f"{BEGIN}\n{body.rstrip()}\n\n{END}"
    if "--print" in sys.argv:
        print(block)
        return
    if has_block:
        text = text[:text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    with open(RESULTS, "w") as f:
        f.write(text)
    print(f"wrote {RESULTS}", file=sys.stderr)


def retarget(summaries, targets_old):
    """The target lines: new ones for the benchmarks just run, the old ones for the rest."""
    new = targets(summaries).splitlines()
    keep = []
    lines = [l for l in targets_old.splitlines() if l.startswith(("-", "  -"))]
    for l in lines:
        is_mm = l.startswith("- matmul")
        is_ew = not is_mm
        if (is_mm and "matmul" in summaries) or (is_ew and "elementwise" in summaries):
            continue
        keep.append(l)
    ew_new = [l for l in new if not l.startswith("- matmul")]
    mm_new = [l for l in new if l.startswith("- matmul")]
    ew = ew_new if "elementwise" in summaries else [l for l in keep if not l.startswith("- matmul")]
    mm = mm_new if "matmul" in summaries else [l for l in keep if l.startswith("- matmul")]
    return "\n".join(ew + mm)


if __name__ == "__main__":
    main()

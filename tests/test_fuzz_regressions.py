"""Replays every input the fuzz harness (tools/fuzz.py) ever flagged, in a child process:
each must now run cleanly (a value, or a ValueError / TypeError / IndexError / MemoryError /
OverflowError without C++ internals in its message). tests/fuzz/corpus/ holds the inputs,
named after what they found."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "tests", "fuzz", "corpus")
INPUTS = sorted(os.listdir(CORPUS)) if os.path.isdir(CORPUS) else []

REPLAY = r"""
import os, sys
sys.path.insert(0, os.path.join(sys.argv[1], "tools"))
import fuzz
for path in sys.argv[2:]:
    with open(path, "rb") as f:
        data = f.read()
    print("REPLAY", os.path.basename(path), flush=True)
    fuzz.run(data)
print("ALL CLEAN")
"""


@pytest.mark.skipif(not INPUTS, reason="no fuzz findings recorded")
def test_fuzz_findings_stay_fixed():
    pytest.importorskip("atheris")
    paths = [os.path.join(CORPUS, n) for n in INPUTS]
    p = subprocess.run([sys.executable, "-c", REPLAY, ROOT] + paths, capture_output=True,
                       text=True, timeout=300)
    assert p.returncode == 0 and "ALL CLEAN" in p.stdout, (p.stdout[-1500:], p.stderr[-3000:])

"""The generated type stubs describe ember.core and its submodules (linalg, fft, random):
mypy accepts a typed user program (tests/typed/user_program.py) and sees the types that
the submodules' functions return."""
import os
import subprocess
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))

pytest.importorskip("mypy", reason="mypy is not installed (tools/test.sh installs it)")


def mypy(tmp_path, *files):
    # Outside the checkout, so that the installed package (with its stubs) is what mypy reads.
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", "--cache-dir",
         str(tmp_path / "cache"), *files],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    return proc.returncode, proc.stdout + proc.stderr


def test_mypy_accepts_a_typed_program(tmp_path):
    code, out = mypy(tmp_path, os.path.join(HERE, "typed", "user_program.py"))
    assert code == 0, out


def test_mypy_sees_the_submodules_types(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(textwrap.dedent("""
        import ember.core as mx

        a = mx.ones((2, 2))
        x: int = mx.linalg.inv(a)
        y: str = mx.random.normal((2,))
        z: float = mx.fft.fft(a)
        mx.linalg.no_such_function(a)
    """))
    code, out = mypy(tmp_path, str(bad))
    assert code == 1
    assert 'bad.py:5: error: Incompatible types in assignment (expression has type "array"' in out, out
    assert 'bad.py:6: error: Incompatible types in assignment (expression has type "array"' in out, out
    assert 'bad.py:7: error: Incompatible types in assignment (expression has type "array"' in out, out
    assert 'bad.py:8: error: Module has no attribute "no_such_function"' in out, out

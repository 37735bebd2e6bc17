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


def _stub_parameters():
    """(stub file, function, parameter text) of every def in the installed ember.core stubs."""
    import ast
    import glob

    import ember

    core = os.path.join(os.path.dirname(ember.__file__), "core")
    out = []
    for path in sorted(glob.glob(os.path.join(core, "*.pyi"))):
        tree = ast.parse(open(path).read())
        # public functions and methods of public classes (the stubs also list ember's
        # internals, _vjp and such, for its own Python modules)
        public = lambda name: not name.startswith("_") or name.startswith("__")  # noqa: E731
        defs = [n for n in tree.body if isinstance(n, ast.FunctionDef)]
        for cls in tree.body:
            if isinstance(cls, ast.ClassDef) and public(cls.name):
                defs += [n for n in cls.body if isinstance(n, ast.FunctionDef)]
        for node in defs:
            if not public(node.name):
                continue
            a = node.args
            params = a.posonlyargs + a.args + a.kwonlyargs
            named = [(p.arg, p.annotation) for p in params if p.arg != "self"]
            for star in (a.vararg, a.kwarg):
                if star is not None:
                    named.append(("*" + star.arg, star.annotation))
            for name, ann in named:
                out.append((os.path.basename(path), node.name, name,
                            None if ann is None else ast.unparse(ann)))
            out.append((os.path.basename(path), node.name, "->",
                        None if node.returns is None else ast.unparse(node.returns)))
    return out


# Parameters that are untyped or `object` on purpose: == and != take any object (as
# object.__eq__ does), ArrayLike wraps any object with __mlx_array__, and these *args /
# **kwargs are trees of arrays or anything at all.
_UNTYPED_BY_DESIGN = {
    ("__eq__", "other"), ("__ne__", "other"), ("__init__", "arg"), ("__exit__", "*args"),
    ("eval", "*args"), ("async_eval", "*args"), ("get_array_buffer_size", "*args"),
    ("savez", "*args"), ("savez", "*kwargs"), ("savez_compressed", "*args"),
    ("savez_compressed", "*kwargs"),
}


def test_stub_parameters_and_results_are_typed():
    params = _stub_parameters()
    assert len(params) > 1000
    loose = [p for p in params
             if (p[3] is None or p[3] == "object" or p[3].startswith("object |"))
             and (p[1], p[2]) not in _UNTYPED_BY_DESIGN]
    assert not loose, "\n".join(map(str, loose))
    # the typed parameters say what the bindings accept
    sig = {(f, n): t for _, f, n, t in params}
    assert sig[("exp", "a")] == "array | numpy.typing.ArrayLike"
    assert sig[("sum", "axis")] == "int | Sequence[int] | None"
    assert sig[("zeros", "shape")] == "int | Sequence[int]"
    assert sig[("__getitem__", "index")].startswith("int | builtins.slice |")


def test_stubs_type_check_cleanly(tmp_path):
    """mypy reads the installed stubs (and the Python modules they import names from)
    without an error of theirs: every name resolves, and no override is incompatible."""
    import shutil

    import ember

    shutil.copytree(os.path.dirname(ember.__file__), tmp_path / "ember",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--no-error-summary", "--cache-dir",
         str(tmp_path / "cache"), "ember/core"],
        capture_output=True, text=True, cwd=tmp_path, timeout=600)
    ours = [line for line in proc.stdout.splitlines()
            if line.startswith(("ember/core/", "ember/_extras.py", "ember/_fft.py"))]
    assert not ours, "\n".join(ours)

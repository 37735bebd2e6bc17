# Build step: writes the stubs of ember.core and of its submodules (linalg, fft, random, ...)
# with nanobind's stubgen, as a stub package: OUTPUT_DIR/core/__init__.pyi, core/linalg.pyi,
# ..., and OUTPUT_DIR/py.typed. (A stub package beside the compiled core module is what lets
# type checkers resolve `mx.linalg.inv`; at run time the module file wins over the folder,
# which holds no __init__.py.)
# Usage: stubgen.py STAGE_DIR PYTHON_PACKAGE_DIR CORE_MODULE_FILE OUTPUT_DIR [--lenient]
#
# The wheel's pure-Python part comes from `wheel.packages`, so at build time no directory holds
# both python/ember and the built module. This script stages one (a copy of python/ember plus
# the module) and imports ember.core from it. Importing the real package matters: it attaches
# the Python transforms (grad, vmap, ...) to ember.core, and the stubs should list them.
#
# --lenient (editable builds): if the import or stubgen fails, write a placeholder stub
# naming the error instead of failing, so a half-edited python/ember file does not block
# everyone's C++ rebuild; tests/test_package.py then fails on the placeholder.
import glob
import importlib
import os
import re
import shutil
import sys


def fix_stub(text):
    """What nanobind's stubgen cannot write by itself:
    - `ember_builtin_slice` (bindings.h) is Python's slice, spelled builtins.slice because
      ember.core's own `slice` (the op) shadows the builtin in core/__init__.pyi;
    - array's == and != return arrays (elementwise), which type checkers flag as an
      incompatible override of object's; numpy's stubs mark them the same way."""
    if "ember_builtin_slice" in text:
        text = text.replace("ember_builtin_slice", "builtins.slice")
        # after the module docstring, with the other imports
        text = re.sub(r"^(import |from )", r"import builtins\n\1", text, count=1, flags=re.M)
    text = re.sub(r"^(    def __(?:eq|ne)__\(self, other: object\) -> array: \.\.\.)$",
                  r"\1  # type: ignore[override]", text, flags=re.M)
    return text


def generate(stage, package_src, core_file, out_dir):
    package = os.path.join(stage, "ember")
    shutil.rmtree(stage, ignore_errors=True)
    shutil.copytree(package_src, package,
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyi", "py.typed"))
    shutil.copy2(core_file, package)

    # An editable install of ember registers an import hook that would win over sys.path and
    # hand us the previously installed module; drop it, and anything already imported.
    sys.meta_path[:] = [f for f in sys.meta_path if not type(f).__name__.startswith("ScikitBuild")]
    for name in [m for m in sys.modules if m == "ember" or m.startswith("ember.")]:
        del sys.modules[name]
    sys.path.insert(0, stage)
    importlib.invalidate_caches()

    core = importlib.import_module("ember.core")
    where = os.path.dirname(os.path.abspath(core.__file__))
    if where != package:
        sys.exit(f"stubgen.py: imported ember.core from {where}, expected the staged {package}")

    from nanobind.stubgen import main as stubgen_main

    os.makedirs(out_dir, exist_ok=True)
    shutil.rmtree(os.path.join(out_dir, "core"), ignore_errors=True)
    # -r: every submodule of ember.core gets its own stub (core/linalg.pyi, ...).
    # --include-private: names with one leading or trailing underscore are kept (bool_ is a
    # dtype; _CustomKernel, _vjp, ... are what ember's own Python modules call).
    stubgen_main(["-q", "-m", "ember.core", "-r", "--include-private", "-O", out_dir,
                  "-M", os.path.join(out_dir, "py.typed")])
    for path in glob.glob(os.path.join(out_dir, "core", "*.pyi")):
        with open(path) as f:
            text = f.read()
        fixed = fix_stub(text)
        if fixed != text:
            with open(path, "w") as f:
                f.write(fixed)
    for name, marker in (("__init__", "def exp("), ("linalg", "def inv("),
                         ("random", "def normal("), ("fft", "def fft("),
                         ("distributed", "def all_sum(")):
        path = os.path.join(out_dir, "core", name + ".pyi")
        if not os.path.isfile(path) or marker not in open(path).read():
            sys.exit(f"stubgen.py: core/{name}.pyi lacks `{marker}`; the stub generation went wrong")


def main():
    stage, package_src, core_file, out_dir = (os.path.abspath(p) for p in sys.argv[1:5])
    if "--lenient" not in sys.argv[5:]:
        generate(stage, package_src, core_file, out_dir)
        return
    try:
        generate(stage, package_src, core_file, out_dir)
    except (Exception, SystemExit) as e:
        why = f"{type(e).__name__}: {e}".replace("\n", " ")
        print(f"stubgen.py: WARNING: no stubs ({why})", file=sys.stderr)
        os.makedirs(os.path.join(out_dir, "core"), exist_ok=True)
        with open(os.path.join(out_dir, "core", "__init__.pyi"), "w") as f:
            f.write(f"# Stub generation failed: {why}\n")
        open(os.path.join(out_dir, "py.typed"), "w").close()


if __name__ == "__main__":
    main()

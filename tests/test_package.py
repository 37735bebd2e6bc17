"""Tests of the installed package: its files (module, libember, headers, CMake package, type
stubs), where BLAS comes from, `python -m ember`, and a C++ program built against it."""
import ast
import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ember
import ember.core as mx

REPO = Path(__file__).resolve().parent.parent
# Where the compiled parts live: next to ember.core (in an editable install the pure-Python
# files stay in the source tree, so ember.__file__ would point there instead).
PKG = Path(mx.__file__).resolve().parent


def run_module(*args):
    out = subprocess.run([sys.executable, "-m", "ember", *args], check=True,
                         capture_output=True, text=True)
    return out.stdout.strip()


def test_installed_layout_has_module_library_headers_and_cmake_package():
    assert Path(mx.__file__).name.startswith("core")
    assert (PKG / "lib" / "libember.so").is_file()
    assert (PKG / "include" / "ember" / "ember.h").is_file()
    assert (PKG / "include" / "ember" / "ops" / "unary.h").is_file()
    for name in ("emberConfig.cmake", "emberConfigVersion.cmake", "emberTargets.cmake"):
        assert (PKG / "share" / "cmake" / "ember" / name).is_file(), name


def test_type_stubs_are_installed_and_describe_the_module():
    stub = PKG / "core" / "__init__.pyi"
    assert stub.is_file()
    assert (PKG / "py.typed").is_file()
    text = stub.read_text()
    ast.parse(text)  # a valid Python stub
    assert "def exp(" in text
    assert "class array" in text
    # The Python transforms attached to ember.core are listed too.
    assert "grad as grad" in text and "vmap as vmap" in text


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/maps")
def test_libember_loads_the_scipy_openblas_library():
    maps = Path("/proc/self/maps").read_text()
    loaded = {line.split()[-1] for line in maps.splitlines() if "libscipy_openblas" in line}
    assert loaded, "libscipy_openblas is not loaded after importing ember.core"
    bundled = PKG / "lib" / "libscipy_openblas.so"
    if bundled.exists():
        # A regular install carries its own copy and must use it (RPATH $ORIGIN).
        assert str(bundled) in loaded or any(os.path.samefile(p, bundled) for p in loaded)


def test_python_m_ember_points_at_the_installed_files():
    cmake_dir = Path(run_module("--cmake-dir"))
    assert (cmake_dir / "emberConfig.cmake").is_file()
    assert (Path(run_module("--include-dir")) / "ember" / "ember.h").is_file()
    assert (Path(run_module("--lib-dir")) / "libember.so").is_file()
    assert run_module("--version") == ember.__version__


def test_version_is_the_same_everywhere():
    assert ember.__version__ == mx.__version__ == importlib.metadata.version("ember")
    header = (PKG / "include" / "ember" / "version.h").read_text()
    assert f'#define EMBER_VERSION "{ember.__version__}"' in header


def _cxx_compiler():
    return os.environ.get("CXX") or shutil.which("c++") or shutil.which("g++")


@pytest.mark.skipif(shutil.which("cmake") is None or _cxx_compiler() is None,
                    reason="needs cmake and a C++ compiler")
def test_cpp_example_builds_against_the_installed_package(tmp_path):
    build = tmp_path / "build"
    configure = ["cmake", "-S", str(REPO / "examples" / "cpp"), "-B", str(build),
                 f"-Dember_DIR={run_module('--cmake-dir')}", "-DCMAKE_BUILD_TYPE=Release"]
    if shutil.which("ninja"):
        configure += ["-G", "Ninja"]
    for cmd in (configure, ["cmake", "--build", str(build)]):
        proc = subprocess.run(cmd, capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    out = subprocess.run([str(build / "example")], capture_output=True, text=True, check=True)
    assert f"ember {ember.__version__}" in out.stdout
    assert "x*x + 1 = 2 5 10" in out.stdout
    assert "grad(x^3) at 2 = 12" in out.stdout

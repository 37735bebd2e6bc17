"""The main job (examples/python/demo.py) on a short run: the MLP learns the digits and
the per-sample gradients from vmap(grad) equal a loop of grads."""
import importlib.util
import os

import pytest

pytest.importorskip("sklearn", reason="the demo's data set comes from scikit-learn (demo extra)")


def load_demo():
    path = os.path.join(os.path.dirname(__file__), "..", "examples", "python", "demo.py")
    spec = importlib.util.spec_from_file_location("ember_demo", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_mlp_demo_reaches_95_percent(tmp_path, capsys):
    demo = load_demo()
    history, speedup, worst = demo.main(["--epochs", "6", "--per-sample", "32"])
    assert history["test_acc"][-1] >= 0.95
    assert history["loss"][-1] < history["loss"][0]
    assert worst < 1e-4
    out = capsys.readouterr().out
    assert "final test accuracy" in out and "per-sample gradients" in out


def test_cnn_demo_learns():
    demo = load_demo()
    history, _, worst = demo.main(["--model", "cnn", "--epochs", "2", "--per-sample", "8"])
    assert history["test_acc"][-1] >= 0.85
    assert worst < 1e-4

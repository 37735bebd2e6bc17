"""The example programs of examples/python/ (each in the style of one of MLX's examples),
run for a few steps: each must train (its loss falls)."""
import importlib.util
import os

import numpy as np
import pytest

HERE = os.path.join(os.path.dirname(__file__), "..", "examples", "python")


def load(name):
    spec = importlib.util.spec_from_file_location(f"ember_example_{name}", os.path.join(HERE, f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def falls(losses, k=3):
    """The mean of the last k losses is clearly below the mean of the first k."""
    first, last = np.mean(losses[:k]), np.mean(losses[-k:])
    assert np.all(np.isfinite(losses))
    assert last < 0.9 * first, (first, last)


def test_mlp_digits():
    pytest.importorskip("sklearn", reason="the digits come from scikit-learn")
    losses, accs = load("mlp_digits").main(["--epochs", "3"])
    assert losses[-1] < losses[0] and accs[-1] > 0.5


def test_transformer_lm():
    falls(load("transformer_lm").main(["--steps", "25", "--dims", "32", "--layers", "1"]))


def test_vae():
    falls(load("vae").main(["--steps", "15"]))


def test_resnet():
    losses, _ = load("resnet").main(["--steps", "12"])
    falls(losses)


def test_gcn():
    losses, accs = load("gcn").main(["--epochs", "20"])
    falls(losses)
    assert accs[-1] > 0.5


def test_normalizing_flow():
    falls(load("normalizing_flow").main(["--steps", "40"]), k=5)


@pytest.mark.parametrize("quantize", [False, True])
def test_lora_llama(quantize):
    losses, generated = load("lora_llama").main(["--steps", "15"] + (["--quantize"] if quantize else []))
    falls(losses)
    assert len(generated) == 40

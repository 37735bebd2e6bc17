"""pytest setup: makes tests/ importable (for the op table), seeds numpy, and picks the device.

EMBER_DEVICE=gpu (or cpu, the default) makes every test run on that device: it becomes the
default device for the whole session, and the op-table sweeps also receive it through the
`device` fixture. On a build without that device the run stops at once with one line that
says so, and a non-zero exit status.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

_DEVICE_NAME = os.environ.get("EMBER_DEVICE", "cpu").strip().lower() or "cpu"


def _test_device():
    import ember.core as mx

    if _DEVICE_NAME not in ("cpu", "gpu"):
        raise ValueError(f"EMBER_DEVICE must be cpu or gpu, got {_DEVICE_NAME!r}")
    return mx.Device(getattr(mx.DeviceType, _DEVICE_NAME), 0)


def pytest_configure(config):
    import ember.core as mx

    try:
        dev = _test_device()
        mx.set_default_device(dev)
    except ValueError as e:
        pytest.exit(f"EMBER_DEVICE={_DEVICE_NAME}: {e}", returncode=3)


@pytest.fixture(scope="session")
def device():
    """The device the tests run on (EMBER_DEVICE)."""
    return _test_device()

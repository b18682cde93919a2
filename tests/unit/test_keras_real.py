"""The keras convention against Keras 3 itself (torch backend), bit for bit: outputs and moving
statistics over several calls, for float32 and float64 layers and inputs, training and inference,
channels first and last, batches of one, constant channels and ε = 0."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from bn_core import BatchNorm
from tests.unit import keras_reference

KERAS_VERSION = "3.15.1"


def cases(seed: int = 0, count: int = 60) -> list[dict]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        ndim = int(rng.integers(1, 5))
        shape = [int(rng.integers(1, 6)) for _ in range(ndim)]
        axis = -1 if ndim == 1 or rng.random() < 0.6 else 1
        c = shape[axis]
        calls = []
        for _ in range(int(rng.integers(1, 5))):
            call_shape = list(shape)
            if ndim > 1:
                call_shape[0] = int(rng.integers(1, 6))  # batches of one included
            x = rng.normal(rng.normal(0, 5), rng.uniform(0.01, 4), size=call_shape)
            if rng.random() < 0.2:
                x[...] = np.round(rng.normal(0, 5), 1)  # a constant batch: float32 rounding of its mean
            calls.append({"shape": call_shape, "x": x.ravel().tolist(), "training": bool(rng.random() < 0.7)})
        out.append({
            "axis": axis,
            "momentum": float(rng.choice([0.0, 0.5, 0.9, 0.99, 1.0])),
            "eps": float(rng.choice([0.0, 1e-5, 1e-3, 0.5])) if i % 7 else 1e-3,
            "policy": ["float32", "float64"][i % 2],
            "input_dtype": ["float32", "float64"][(i // 2) % 2],
            "gamma": rng.normal(1, 0.5, size=c).tolist(),
            "beta": rng.normal(0, 1, size=c).tolist(),
            "calls": calls,
        })  # fmt: skip
    return out


def engine(case: dict) -> dict:
    layer = BatchNorm(
        len(case["gamma"]), convention="keras", momentum=case["momentum"], eps=case["eps"], axis=case["axis"],
        dtype=case["policy"],
    )  # fmt: skip
    layer.gamma, layer.beta = np.array(case["gamma"]), np.array(case["beta"])
    calls = []
    for call in case["calls"]:
        x = np.array(call["x"], dtype=np.float64).astype(case["input_dtype"]).reshape(call["shape"])
        try:
            y = layer(x, training=call["training"])
        except ValueError:
            calls.append({"error": True})
            continue
        calls.append({"y": y.astype(np.float64).ravel().tolist(), "dtype": str(y.dtype)})
    return {"calls": calls, "moving": [layer.running_mean.tolist(), layer.running_var.tolist()]}


@pytest.fixture(scope="module")
def keras_answers():
    if not (keras_reference.LIB / "keras").is_dir():
        if os.environ.get("CI"):
            pytest.fail("Keras is missing in CI: scripts/install.sh --dev installs it into .keras-lib")
        pytest.skip("Keras is not installed (scripts/install.sh --dev puts it into .keras-lib)")
    done = subprocess.run(
        [sys.executable, keras_reference.__file__], input=json.dumps(cases()), capture_output=True, text=True,
        timeout=300, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_the_reference_is_the_keras_the_readme_names(keras_answers):
    assert {a["version"] for a in keras_answers} == {KERAS_VERSION}


@pytest.mark.slow
@pytest.mark.parametrize("index", range(60))
def test_the_keras_convention_gives_kerass_bits(keras_answers, index):
    case, theirs = cases()[index], keras_answers[index]
    ours = engine(case)
    for step, (a, b) in enumerate(zip(ours["calls"], theirs["calls"], strict=True)):
        assert ("error" in a) == ("error" in b), (step, a, b)
        if "error" in a:
            continue
        assert a["dtype"] == b["dtype"] == case["policy"], step
        np.testing.assert_array_equal(np.array(a["y"]), np.array(b["y"]), err_msg=f"call {step}")
    np.testing.assert_array_equal(np.array(ours["moving"]), np.array(theirs["moving"]))


@pytest.mark.slow
def test_a_float64_layer_computes_in_float32_as_keras_does(keras_answers):
    """Keras 3's float64 BatchNormalization casts to float32 to compute: its float64 output has float32 values."""
    for case, theirs in zip(cases(), keras_answers, strict=True):
        if case["policy"] == "float64":
            for call in theirs["calls"]:
                y = np.array(call.get("y", []))
                np.testing.assert_array_equal(y, y.astype(np.float32).astype(np.float64))

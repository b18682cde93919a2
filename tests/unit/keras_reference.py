"""Runs real Keras 3 (torch backend) on cases read as JSON from stdin and prints what its
BatchNormalization layer gives: the output of every call and the moving statistics after it.
Run by tests/unit/test_keras_real.py in its own interpreter, with Keras from .keras-lib
(scripts/install.sh --dev puts it there, outside the app's environment)."""

import json
import os
import sys
from pathlib import Path

LIB = Path(__file__).resolve().parents[2] / ".keras-lib"
sys.path.append(str(LIB))  # after the app's site-packages: Keras uses the app's numpy and torch
os.environ["KERAS_BACKEND"] = "torch"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402


def run(case: dict) -> dict:
    layer = keras.layers.BatchNormalization(
        axis=case["axis"], momentum=case["momentum"], epsilon=case["eps"], dtype=case["policy"]
    )
    layer.build(tuple(case["calls"][0]["shape"]))
    layer.gamma.assign(np.asarray(case["gamma"]))
    layer.beta.assign(np.asarray(case["beta"]))
    calls = []
    for call in case["calls"]:
        x = torch.tensor(call["x"], dtype=getattr(torch, case["input_dtype"])).reshape(call["shape"])
        try:
            y = keras.ops.convert_to_numpy(layer(x, training=call["training"]))
        except Exception as error:  # noqa: BLE001  what Keras refuses, the engine must refuse too
            calls.append({"error": type(error).__name__})
            continue
        calls.append({"y": y.astype(np.float64).ravel().tolist(), "dtype": str(y.dtype)})
    moving = [keras.ops.convert_to_numpy(v).astype(np.float64).tolist() for v in layer.non_trainable_weights]
    return {"calls": calls, "moving": moving, "version": keras.__version__}


if __name__ == "__main__":
    print(json.dumps([run(case) for case in json.load(sys.stdin)]))

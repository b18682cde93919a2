"""The live neuron's arithmetic (lessons/neuron/live.js), run as-is under Node, against bn_core: the same
bins, the same axes and, where the operations are the same, the same bits. (Node and Chromium share V8's
arithmetic; tests/browser/test_neuron_live.py checks the element in a browser while a weight is dragged.)"""

import numpy as np
import pytest

from bn_core import neuron
from tests.app.helpers import ROOT, node_eval
from tests.app.neuron_reference import config, expected


def compute_in_node(tmp_path, x: np.ndarray, cases: list) -> list:
    """live.js's own ``compute`` (the element's frame, as its tests read it) for each case [weights, config]."""
    return node_eval(
        tmp_path,
        ROOT / "lessons" / "neuron" / "live.js",
        "data.cases.map(([w, cfg]) => globalThis.__bnLabNeuron.compute(data.x1, data.x2, w, cfg))",
        {"x1": x[:, 0].tolist(), "x2": x[:, 1].tolist(), "cases": cases},
    )


@pytest.mark.parametrize("n", [100, 100_000])
def test_live_js_bins_exactly_as_bn_core_for_every_activation_and_placement(tmp_path, n):
    x = neuron.sample_inputs(n, 5.0, 1.0, seed=3)
    rng = np.random.default_rng(n)
    cases = [
        (act, bn, [float(w) for w in np.round(rng.uniform(-3, 3, 3), 2)])
        for act in neuron.ACTIVATIONS
        for bn in ("off", "before", "after")
    ]
    cases += [("relu", bn, [0.0, 0.0, 1.0]) for bn in ("off", "before", "after")]  # w1 = w2 = 0: a constant z
    got = compute_in_node(tmp_path, x, [[w, config(act, bn, n)] for act, bn, w in cases])
    for (act, bn, weights), drawn in zip(cases, got, strict=True):
        result, charts = expected(x, weights, act, bn)
        for name, (counts, lo, hi) in charts.items():
            assert (drawn["charts"][name]["lo"], drawn["charts"][name]["hi"]) == (lo, hi), (act, bn, weights, name)
            assert drawn["charts"][name]["counts"] == counts, (act, bn, weights, name)
        if bn != "off" and act in ("relu", "leaky_relu"):  # the same operations in the same order: same bits
            assert drawn["mean"] == result.bn_mean and drawn["variance"] == result.bn_var, (act, bn)
        elif bn != "off":  # Math.tanh and NumPy's tanh may differ in the last bit
            assert drawn["mean"] == pytest.approx(result.bn_mean, rel=1e-12), (act, bn)
            assert drawn["variance"] == pytest.approx(result.bn_var, rel=1e-9), (act, bn)

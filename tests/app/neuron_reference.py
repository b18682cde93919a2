"""What bn_core draws in the `neuron` lesson's charts, to compare the live element (lessons/neuron/live.js)
with: under Node (tests/app/test_neuron_js.py) and in a real browser (tests/browser/test_neuron_live.py)."""

from bn_core import neuron
from bn_core.histogram import axis_range, bin_counts, bins_for
from lessons.neuron.live import AXIS_STEP

BASES = {"z": (-5.0, 5.0), "mid_before": (-4.0, 4.0), "out_after": (-4.0, 4.0)}
OUTPUT_BASE = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0)}


def bases(act: str, bn: str) -> dict[str, tuple[float, float]]:
    out = OUTPUT_BASE.get(act, (-1.0, 5.0))
    if bn == "off":
        return {"z": BASES["z"], "out": out}
    if bn == "before":
        return {"z": BASES["z"], "mid": BASES["mid_before"], "out": out}
    return {"z": BASES["z"], "mid": out, "out": BASES["out_after"]}


def expected(x, weights, act, bn, hold=None):
    """What bn_core draws for these settings: each chart's counts over its axis, widened to ``hold``
    (chart -> the range the element kept on screen: a pinned histogram's, the axis so far in a drag)."""
    result = neuron.forward(x, *weights, act, bn)
    charts = {}
    for name, base in bases(act, bn).items():
        values = getattr(result, name)
        lo, hi = axis_range(values, base=base, step=AXIS_STEP)
        if (hold or {}).get(name):
            lo, hi = min(lo, hold[name][0]), max(hi, hold[name][1])
        charts[name] = (bin_counts(values, bins_for(len(x)), (lo, hi)).tolist(), lo, hi)
    return result, charts


def config(act, bn, n):
    charts = [{"id": k, "source": k, "base": list(v)} for k, v in bases(act, bn).items()]
    return {"act": act, "bn": bn, "eps": 1e-5, "leak": neuron.LEAKY_SLOPE, "bins": bins_for(n), "axis_step": AXIS_STEP,
            "charts": charts}  # fmt: skip

"""The `neuron` lesson's state: its link parameters, session keys, weight presets, share presets and questions.
Import-safe (it runs no page), so that tests and scripts can read it."""

from bn_core import neuron
from ui.i18n import t
from ui.quiz import Question
from ui.share import Preset
from ui.state import Param

SIZES = (100, 300, 1_000, 3_000, 10_000, 30_000, 100_000)
WEIGHT_RANGE, WEIGHT_STEP = (-3.0, 3.0), 0.01
# The classic demonstration's two weight settings. With positive inputs (mean 5, the default) the
# first keeps z far above 0 (no zeros) and the second pushes most of it below: a large zero bar.
WEIGHT_PRESETS = {"a": (0.5, 0.5, 1.0), "b": (-0.5, 0.25, 1.0)}
WEIGHTS = ("neuron.w1", "neuron.w2", "neuron.w0")
PARAMS = (
    Param("w1", "neuron.w1", 0.5, lo=-3.0, hi=3.0, label="neuron.w1"),
    Param("w2", "neuron.w2", 0.5, lo=-3.0, hi=3.0, label="neuron.w2"),
    Param("w0", "neuron.w0", 1.0, lo=-3.0, hi=3.0, label="neuron.w0"),
    Param(
        "act",
        "neuron.act",
        "relu",
        kind="choice",
        choices=neuron.ACTIVATIONS,
        label="neuron.activation",
        show=lambda a: t(f"act.{a}"),
    ),
    Param("n", "neuron.n", 10_000, kind="int", lo=SIZES[0], hi=SIZES[-1], options=SIZES, label="neuron.n"),
    Param("seed", "neuron.seed", 0, kind="int", lo=0, hi=2**31 - 1, label="neuron.seed"),
    Param("mu", "neuron.mu", 5.0, lo=-10.0, hi=10.0, label="neuron.mu"),
    Param("sd", "neuron.sd", 1.0, lo=0.1, hi=5.0, label="neuron.sd"),
    Param("bn", "neuron.bn", False, kind="bool", label="neuron.add_bn"),
    Param(
        "place",
        "neuron.place",
        "before",
        kind="choice",
        choices=("before", "after"),
        label="neuron.placement",
        show=lambda p: t(f"neuron.place_{p}"),
    ),
    Param("plain", "neuron.plain", False, kind="bool", label="neuron.plain"),
)
PIN = "neuron.pin"  # the pinned output histogram (this session only)
INPUTS = "neuron.inputs"  # this session's last input sample, its bytes for the browser, and its settings
FAILED = "neuron.live_failed"  # the live element reported an error in this session
REVISION = "neuron.revision"  # counts the times the page, not the live element, set the weights


def weights_query(name: str) -> str:
    """A weight preset as link parameters: "w1=-0.5&w2=0.25&w0=1"."""
    return "&".join(f"{k}={v:g}" for k, v in zip(("w1", "w2", "w0"), WEIGHT_PRESETS[name], strict=True))


PRESETS = (  # the share bar's named links (ui.share)
    # z = -0.5 x1 - 0.5 x2 + 1 has mean -4 and std 0.71 with the default inputs N(5, 1): ReLU zeroes all of it
    Preset("dead_relu", "w1=-0.5&w2=-0.5"),
    # the same weights with BN before the ReLU: half of the outputs come back
    Preset("bn_revives", "w1=-0.5&w2=-0.5&bn=1"),
    # sigmoid with a large z: most outputs pressed against 1
    Preset("saturated", "act=sigmoid&w1=1&w2=1"),
)
QUESTIONS = (  # check yourself (ui.quiz): the right option and the link that shows it
    Question("preset_b_zeros", "a", f"neuron?{weights_query('b')}"),
    Question("bn_before_half", "b", f"neuron?bn=1&{weights_query('b')}"),
    Question("bn_after_zeros", "c", f"neuron?bn=1&place=after&{weights_query('b')}"),
)

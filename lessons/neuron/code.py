"""The code for this: the `neuron` lesson's state as a plain PyTorch script.

Written from the page's settings: the same seeded inputs (bn_core.neuron.sample_inputs), the neuron in
float64, PyTorch's BatchNorm1d in training mode where the page places it, and the numbers under the
charts, labelled as on the page. tests/app/test_code_for_this.py runs it and compares them with the
page's. It imports no part of BN Lab.
"""

from __future__ import annotations

from bn_core import neuron
from ui.i18n import t

ACTIVATIONS = {
    "relu": "torch.relu(v)",
    "leaky_relu": f"torch.nn.functional.leaky_relu(v, {neuron.LEAKY_SLOPE!r})",
    "sigmoid": "torch.sigmoid(v)",
    "tanh": "torch.tanh(v)",
}


def script(w: tuple[float, float, float], act: str, bn: str, mu: float, sd: float, n: int, seed: int) -> str:
    """``w`` = (w₁, w₂, w₀); ``bn``: "off", "before" or "after" the activation."""
    lines = [
        f"# BN Lab · {t('neuron.title')}",
        f"# {t('code.checked_neuron')}",
        *(["import math", ""] if act == "relu" and bn == "off" else []),
        "import numpy as np",
        "import torch",
        "",
        f"W1, W2, W0 = {w[0]!r}, {w[1]!r}, {w[2]!r}",
        f"MU, SD, N, SEED = {mu!r}, {sd!r}, {n}, {seed}",
        "",
        f"# {t('code.neuron_inputs')}",
        "rng = np.random.default_rng(SEED)",
        "x = torch.from_numpy((MU + SD * rng.standard_normal((N, 2))).astype(np.float32)).double()",
        "z = x[:, 0] * W1 + x[:, 1] * W2 + W0",
        "",
        "",
        "def f(v):",
        f"    return {ACTIVATIONS[act]}",
        "",
        "",
    ]
    if bn == "off":
        lines += ["y = a = f(z)"]
    else:
        lines += [
            f"# {t('code.neuron_bn')}",
            "bn = torch.nn.BatchNorm1d(1, dtype=torch.float64).train()",
            "with torch.no_grad():",
        ]
        if bn == "before":
            lines += ["    v = z", "    y = a = f(bn(z[:, None])[:, 0])"]
        else:
            lines += ["    v = a = f(z)", "    y = bn(a[:, None])[:, 0]"]
    lines += ["", f"# {t('code.printed')}", *print_lines(act, bn)]
    return "\n".join(lines) + "\n"


def print_lines(act: str, bn: str) -> list[str]:
    """The metrics under the charts (lessons/neuron/neuron.metrics), in its order."""
    zeros = "(a == 0).double().mean().item()"
    lines = []
    if act == "relu" and bn == "after":
        lines.append(f"print({(t('neuron.former_zeros') + ':')!r}, {zeros})")
    elif act in ("relu", "leaky_relu"):
        lines.append(f"print({(t('neuron.zero_share') + ':')!r}, {zeros})")
    lines += [
        f"print({(t('neuron.out_mean') + ':')!r}, y.mean().item())",
        f"print({(t('neuron.out_std') + ':')!r}, y.std(correction=0).item())",
    ]
    if act in neuron.BOUNDS:
        lo, hi = neuron.BOUNDS[act]
        margin = neuron.SATURATION_MARGIN * (hi - lo)
        low, high = lo + margin, hi - margin
        lines += [
            f"# {t('code.saturated', lo=low, hi=high)}",
            f"print({(t('neuron.saturated') + ':')!r}, ((a < {low!r}) | (a > {high!r})).double().mean().item())",
        ]
    if act == "relu" and bn == "off":
        lines += [
            f"# {t('code.theory')}",
            "m, s = W0 + (W1 + W2) * MU, SD * math.hypot(W1, W2)",
            "zeros = 1 - 0.5 * (1 + math.erf(m / s / math.sqrt(2))) if s else float(m <= 0)",
            f"print({(t('neuron.theory') + ':')!r}, zeros)",
        ]
    if bn != "off":
        lines += [
            "var, mean = torch.var_mean(v, correction=0)",
            f"print({(t('neuron.bn_stats') + ', μ_B:')!r}, mean.item())",
            f"print({(t('neuron.bn_stats') + ', σ²_B:')!r}, var.item())",
        ]
    return lines

"""The code for this: a plain PyTorch or Keras script for what a `bn-lab` section shows.

The script is written from the page's own settings (``Lab``): the same seeded draws as
bn_core.batches, the same layer, the same earlier training batches, and it prints what the page
shows, labelled as on the page (tests/app/test_code_for_this.py runs it and compares). Comments are
in the page's language; the code imports no part of BN Lab.
"""

from __future__ import annotations

import math

import numpy as np

from bn_core.batches import _BIMODAL_SHIFT, _LOGNORMAL_SIGMA
from bn_core.batchnorm import values_per_channel
from lessons.bn_lab.lab import TRACE_BUDGET, Lab
from ui.i18n import t

VERSIONS = {"pytorch": "torch 2.13", "keras": "Keras 3.15, torch backend"}
PRINTED = 8  # outputs of the channel on show printed


def draw_lines(lab: Lab, shape: tuple[int, ...]) -> list[str]:
    """A function ``batch(rng)`` that draws a batch of ``shape`` as bn_core.batches.sample_batch does."""
    view = "(1, C)" if len(shape) == 2 else "(1, C, 1, 1)"
    lines = [
        "def batch(rng):",
        f"    # {t('code.draw')}",
        f"    k = np.arange(C).reshape{view}",
        "    mu, sd = MEAN + k, STD * (1 + k / 4)",
    ]
    if lab.dist == "constant":
        return [*lines, "    return np.full(SHAPE, mu, dtype=np.float32)  # " + t("code.contiguous")]
    lines.append("    z = rng.standard_normal(SHAPE)")
    body = {
        "normal": ["    x = mu + sd * z"],
        "relu": ["    x = np.maximum(mu + sd * z, 0.0)"],
        "lognormal": [
            f"    s = {_LOGNORMAL_SIGMA!r}",
            "    m, v = math.exp(s * s / 2), (math.exp(s * s) - 1) * math.exp(s * s)",
            "    x = mu + sd * (np.exp(s * z) - m) / math.sqrt(v)",
        ],
        "bimodal": [
            "    sign = np.where(rng.random(SHAPE) < 0.5, -1.0, 1.0)",
            f"    x = mu + sd * (sign * {_BIMODAL_SHIFT!r} + math.sqrt(1 - {_BIMODAL_SHIFT!r} ** 2) * z)",
        ],
    }[lab.dist]
    return [*lines, *body, "    return x.astype(np.float32)"]


def earlier_batches(lab: Lab, shape: tuple[int, ...]) -> int:
    """How many earlier training batches the page feeds the layer (bn_lab.lab.feed)."""
    if lab.conv == "pytorch" and values_per_channel(shape, 1) == 1:
        return 0  # PyTorch cannot train on them
    return min(lab.k, TRACE_BUDGET // math.prod(shape))


def script(lab: Lab, section: str) -> str:
    """The script for ``section`` ("stats", "running", "one" or "eps") at the settings ``lab``."""
    if section == "one":
        lab = Lab(**{**lab.__dict__, "n": lab.n1})
    shape = lab.shape
    training = section == "stats" or lab.mode == "train"
    feed = section == "running" or (section in ("one", "eps") and not training)
    norm = section != "stats" or lab.bn
    keras = lab.conv == "keras"
    lines = [
        f"# BN Lab · {t('bn_lab.title')} · {t(f'bn_lab.section_{section}')}",
        f"# {t('code.checked', versions=VERSIONS[lab.conv])}",
        *(["import math", ""] if lab.dist in ("lognormal", "bimodal") else []),
    ]
    if keras:
        lines += ["import os", "", 'os.environ.setdefault("KERAS_BACKEND", "torch")', "import keras"]
    lines += ["import numpy as np", "import torch", "", f"torch.set_num_threads(1)  # {t('code.threads')}", ""]
    lines += [
        f"SHAPE = {shape}  # N, C{', H, W' if len(shape) == 4 else ''}",
        f"C = {shape[1]}",
        f"MEAN, STD, SEED = {lab.mu!r}, {lab.sd!r}, {lab.seed}",
        "",
        "",
        *draw_lines(lab, shape),
        "",
        "",
        "x = batch(np.random.default_rng(SEED))",
    ]
    if norm:
        lines += ["", f"# {t('code.layer')}"]
        lines += keras_layer(lab) if keras else torch_layer(lab, shape)
        if feed:
            k = earlier_batches(lab, shape)
            zero_eps = not keras and lab.eps <= 0  # PyTorch trains only with eps > 0; eps never moves the statistics
            lines += [
                "",
                f"# {t('code.earlier', k=k)}",
                *([f"layer.eps = 1e-05  # {t('code.eps_feed')}"] if zero_eps else []),
                "earlier = np.random.default_rng([SEED, 1])",
                f"for _ in range({k}):",
                "    layer(torch.from_numpy(batch(earlier)), training=True)"
                if keras
                else "    layer(torch.from_numpy(batch(earlier)))",
                *([f"layer.eps = {lab.eps!r}"] if zero_eps else []),
            ]
        lines += ["", *call_lines(lab, training, keras)]
    lines += ["", *print_lines(lab, norm, training, keras)]
    return "\n".join(lines) + "\n"


def torch_layer(lab: Lab, shape: tuple[int, ...]) -> list[str]:
    kind = "BatchNorm1d" if len(shape) == 2 else "BatchNorm2d"
    momentum = "None" if lab.momentum_or_none is None else repr(lab.momentum)
    return [
        f"layer = torch.nn.{kind}(C, eps={lab.eps!r}, momentum={momentum})",
        "with torch.no_grad():",
        f"    layer.weight.fill_({lab.gamma!r})  # γ",
        f"    layer.bias.fill_({lab.beta!r})  # β",
    ]


def keras_layer(lab: Lab) -> list[str]:
    return [
        "layer = keras.layers.BatchNormalization(",
        f"    axis=1, momentum={lab.momentum!r}, epsilon={lab.eps!r},",
        f"    gamma_initializer=keras.initializers.Constant({lab.gamma!r}),  # γ",
        f"    beta_initializer=keras.initializers.Constant({lab.beta!r}),  # β",
        ")",
    ]


def call_lines(lab: Lab, training: bool, keras: bool) -> list[str]:
    if keras:
        return [
            f"y = keras.ops.convert_to_numpy(layer(torch.from_numpy(x), training={training}))",
        ]
    return [
        f"layer.{'train' if training else 'eval'}()",
        "try:",
        "    with torch.no_grad():",
        "        y = layer(torch.from_numpy(x)).numpy()",
        "except ValueError as refusal:  # " + t("code.refusal"),
        "    y = None",
        '    print("ValueError:", refusal)',
    ]


def print_lines(lab: Lab, norm: bool, training: bool, keras: bool) -> list[str]:
    """What the page shows, labelled as on the page: the batch's statistics per channel, the running
    statistics where the section shows them, and the first outputs of the channel on show."""
    axes = "[0]" if len(lab.shape) == 2 else "[0, 2, 3]"
    if keras:  # as Keras computes them: in float32, the variance as E[x²] - E[x]²
        moments = [f"mean, var = keras.ops.moments(torch.from_numpy(x), axes={axes})"]
        moments += ["mean, var = keras.ops.convert_to_numpy(mean), keras.ops.convert_to_numpy(var)"]
    else:
        moments = [f"var, mean = torch.var_mean(torch.from_numpy(x), dim={axes}, correction=0)"]
    lines = [
        f"# {t('code.printed')}",
        *moments,
        f"print({(t('bn_lab.col_batch_mean') + ':')!r}, mean.tolist())",
        f"print({(t('bn_lab.col_batch_var') + ':')!r}, var.tolist())",
    ]
    if norm:
        moving = (
            ("layer.moving_mean", "layer.moving_variance") if keras else ("layer.running_mean", "layer.running_var")
        )
        convert = "keras.ops.convert_to_numpy({}).tolist()" if keras else "{}.tolist()"
        outputs = f"print({(t('code.outputs', ch=lab.ch) + ':')!r}, y[:, {lab.ch}].reshape(-1)[:{PRINTED}].tolist())"
        lines += [
            f"print({(t('bn_lab.col_running_mean') + ':')!r}, {convert.format(moving[0])})",
            f"print({(t('bn_lab.col_running_var') + ':')!r}, {convert.format(moving[1])})",
            *([outputs] if keras else ["if y is not None:", "    " + outputs]),
        ]
    return lines


def puzzle_script(lab: Lab) -> str:
    """The Keras puzzle's calls as a script: the layer, the training calls before, the last call."""
    lines = [
        f"# BN Lab · {t('bn_lab.title')} · {t('bn_lab.section_puzzle')}",
        f"# {t('code.checked', versions=VERSIONS['keras'])}",
        "import os",
        "",
        'os.environ.setdefault("KERAS_BACKEND", "torch")',
        "import keras",
        "import numpy as np",
        "import torch",
        "",
        f"torch.set_num_threads(1)  # {t('code.threads')}",
        f"layer = keras.layers.BatchNormalization(momentum={lab.pm!r})",
        f"x = np.array([[{float(np.float32(lab.px))!r}]], dtype=np.float32)",
        f"for _ in range({lab.pk}):  # {t('bn_lab.puzzle_calls')}",
        "    layer(x, training=True)",
        f"y = layer(x, training={lab.ptrain})",
        f"print({(t('bn_lab.puzzle_result') + ':')!r}, keras.ops.convert_to_numpy(y)[0, 0].item())",
    ]
    return "\n".join(lines) + "\n"

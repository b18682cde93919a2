"""The code for this, for a training run: a plain PyTorch script that trains what a page trains for the settings
on the screen and prints what the run's summary shows. Two lessons use it: `train` (the configuration and its twin
without normalization) and `inside` (BatchNorm with batch statistics against running ones).

It is written from the page's ``TrainConfig``, part by part (only the layers and options the settings use),
and repeats bn_core.train's arithmetic in the same order: the same data split, the same draws from one
generator per run (initial weights, then each epoch's order, then dropout's masks), the same measures.
tests/app/test_code_for_this.py runs it and finds the page's numbers, bit for bit. It imports no part of
BN Lab. (Over 300 lines: most of them are the script's own lines, one string each, read best beside each other.)
"""

from __future__ import annotations

from dataclasses import replace

from bn_core import train as tr
from bn_core.data import MNIST_FILES, MNIST_VALIDATION
from ui.i18n import t

SECONDS_PER_STEP = 0.004  # one training step of a pair's run, measures included (one core, this machine)


def pair(config: tr.TrainConfig, stats: bool = False) -> list[tr.TrainConfig]:
    """What a page trains for one press: the configuration and its twin (or the one run); with ``stats``,
    the `inside` lesson's pair: BatchNorm with batch statistics and with running ones (bn_stats)."""
    if stats:
        return [replace(config, bn_stats=mode) for mode in tr.BN_STATS]
    return [config] if config.norm == "none" else [config, config.twin()]


def run_time(config: tr.TrainConfig, n_train: int, stats: bool = False) -> int:
    """About how many seconds the script takes here (rounded up to 5)."""
    steps = sum(tr.steps_per_epoch(n_train, c) * c.epochs for c in pair(config, stats))
    return 5 * max(1, -(-int(steps * SECONDS_PER_STEP * (3 if config.dataset == "mnist" else 1)) // 5))


TRAIN_SIZES = {"digits": 1_078, "mnist": 60_000 - MNIST_VALIDATION}  # training images (a test checks the digits')


def script(config: tr.TrainConfig, title: str, stats: bool = False) -> str:
    """The script for ``config`` (``title``: the lesson and section or preset, as the page names them; ``stats``:
    the `inside` lesson's pair, batch statistics against running ones, instead of the twin without BN)."""
    n_train = TRAIN_SIZES[config.dataset]
    lines = [
        *header_lines(title, t("code.train_checked"), run_time(config, n_train, stats), config.dataset),
        "",
        *layer_lines(config, stats),
        *model_lines(config, stats),
        "",
        "",
        *train_lines(config),
        "",
        "",
        *run_lines(config, stats),
    ]
    return "\n".join(lines) + "\n"


def header_lines(title: str, checked: str, seconds: int, dataset: str, imports: tuple[str, ...] = ()) -> list[str]:
    """A training script's opening: what it is, what was checked, its run time, its imports, the data."""
    names = {*imports, "math", *(("gzip", "pathlib") if dataset == "mnist" else ())}
    return [
        f"# BN Lab · {title}",
        f"# {checked}",
        f"# {t('code.run_time', seconds=seconds)}",
        *(f"import {name}" for name in sorted(names)),
        "",
        "import numpy as np",
        "import torch",
        "import torch.nn.functional as F",
        *(["from sklearn.datasets import load_digits"] if dataset == "digits" else []),
        "from torch import nn",
        "",
        f"torch.set_num_threads(1)  # {t('code.threads')}",
        "",
        *data_lines(dataset),
        "",
    ]


def init_lines(init_std: float = 0.0, weight_norm: bool = False) -> list[str]:
    """The loop that initializes every Linear of ``model`` from ``generator`` as bn_core.train.init_linear does."""
    if init_std > 0:
        draw = f"            nn.init.normal_(linear.weight, 0.0, {init_std!r}, generator=generator)"
    else:
        draw = "            nn.init.kaiming_uniform_(linear.weight, a=math.sqrt(5), generator=generator)"
    lines = [
        f"    # {t('code.init')}",
        "    for linear in [m for m in model if isinstance(m, nn.Linear)]:",
        "        bound = 1.0 / math.sqrt(linear.in_features)",
        "        with torch.no_grad():",
        draw,
        "            bias = torch.empty(linear.out_features).uniform_(-bound, bound, generator=generator)",
        "            if linear.bias is not None:",
        f"                linear.bias.copy_({'torch.zeros_like(bias)' if init_std > 0 else 'bias'})",
    ]
    if weight_norm:
        lines += [
            "            if isinstance(linear, WeightNormLinear):",
            f"                linear.g.copy_(linear.weight.norm(dim=1))  # {t('code.weight_norm_start')}",
        ]
    return lines


ACCURACY_LINES = (
    "def accuracy(model, x, y):",
    "    # {eval}",
    "    model.eval()",
    "    with torch.no_grad():",
    "        logits = torch.cat([model(x[i : i + 2000]) for i in range(0, len(x), 2000)])",
    "    return (logits.argmax(1) == y).float().mean().item()",
)


def accuracy_lines() -> list[str]:
    """``accuracy(model, x, y)`` in eval mode, 2 000 images at a time, as bn_core.train.evaluate."""
    return [line.format(eval=t("code.eval")) if "{eval}" in line else line for line in ACCURACY_LINES]


def data_lines(dataset: str) -> list[str]:
    if dataset == "mnist":
        files = ", ".join(repr(name) for name, _ in MNIST_FILES.values())
        return [
            f"# {t('code.mnist')}",
            'MNIST = pathlib.Path("mnist")',
            "",
            "",
            "def read_idx(name):",
            '    path = MNIST / name if (MNIST / name).exists() else MNIST / (name + ".gz")',
            "    raw = path.read_bytes()",
            '    raw = gzip.decompress(raw) if raw[:2] == b"\\x1f\\x8b" else raw',
            "    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], 'big') for i in range(raw[3])]",
            "    return np.frombuffer(raw, np.uint8, offset=4 + 4 * raw[3]).reshape(dims)",
            "",
            "",
            f"train_images, train_labels, test_images, test_labels = (read_idx(n) for n in ({files}))",
            "x = torch.from_numpy(train_images.reshape(len(train_images), -1).astype(np.float32) / np.float32(255))",
            "y = torch.from_numpy(train_labels.astype(np.int64))",
            f"cut = len(y) - min({MNIST_VALIDATION}, len(y) // 5)  # {t('code.mnist_val')}",
            "x_train, y_train, x_val, y_val = x[:cut], y[:cut], x[cut:], y[cut:]",
            "x_test = torch.from_numpy(test_images.reshape(len(test_images), -1).astype(np.float32) / np.float32(255))",
            "y_test = torch.from_numpy(test_labels.astype(np.int64))",
        ]
    return [
        f"# {t('code.digits')}",
        "digits = load_digits()",
        "images, labels = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)",
        "rng, parts = np.random.default_rng(0), [[], [], []]",
        "for digit in np.unique(labels):",
        "    members = rng.permutation(np.flatnonzero(labels == digit))",
        "    n_train, n_val = round(0.6 * len(members)), round(0.2 * len(members))",
        "    for part, chunk in zip(parts, np.split(members, [n_train, n_train + n_val])):",
        "        part.append(chunk)",
        "train, val, test = (np.sort(np.concatenate(part)) for part in parts)",
        "x_train, y_train = torch.from_numpy(images[train]), torch.from_numpy(labels[train])",
        "x_val, y_val = torch.from_numpy(images[val]), torch.from_numpy(labels[val])",
        "x_test, y_test = torch.from_numpy(images[test]), torch.from_numpy(labels[test])",
    ]


def layer_lines(config: tr.TrainConfig, stats: bool = False) -> list[str]:
    """The classes the settings need beyond torch.nn's own layers."""
    lines = []
    if stats:
        lines += [
            "class RunningStatsBatchNorm(nn.BatchNorm1d):",
            f'    """{t("code.running_stats")}"""',
            "",
            "    def forward(self, x):",
            "        if self.training:",
            "            with torch.no_grad():",
            "                F.batch_norm(x, self.running_mean, self.running_var, training=True, momentum=0.1)",
            "        return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias, eps=self.eps)",
            "",
            "",
        ]
    if config.norm == "renorm":
        lines += [
            "class BatchRenorm(nn.Module):",
            f'    """{t("code.renorm")}"""',
            "",
            "    def __init__(self, width, r_max=3.0, d_max=5.0, momentum=0.1, eps=1e-5):",
            "        super().__init__()",
            "        self.r_max, self.d_max, self.momentum, self.eps = r_max, d_max, momentum, eps",
            "        self.weight = nn.Parameter(torch.ones(width))",
            "        self.bias = nn.Parameter(torch.zeros(width))",
            '        self.register_buffer("running_mean", torch.zeros(width))',
            '        self.register_buffer("running_std", torch.ones(width))',
            "",
            "    def forward(self, x):",
            "        if not self.training:",
            "            return (x - self.running_mean) / self.running_std * self.weight + self.bias",
            "        mean = x.mean(0)",
            "        sigma_b = torch.sqrt(x.var(0, unbiased=False) + self.eps)",
            "        r = (sigma_b.detach() / self.running_std).clamp(1.0 / self.r_max, self.r_max)",
            "        d = ((mean.detach() - self.running_mean) / self.running_std).clamp(-self.d_max, self.d_max)",
            "        x_hat = (x - mean) / sigma_b * r + d",
            "        with torch.no_grad():",
            "            self.running_mean.lerp_(mean, self.momentum)",
            "            self.running_std.lerp_(sigma_b, self.momentum)",
            "        return x_hat * self.weight + self.bias",
            "",
            "",
        ]
    if config.norm == "weight":
        lines += [
            "class WeightNormLinear(nn.Linear):",
            f'    """{t("code.weight_norm")}"""',
            "",
            "    def __init__(self, n_in, n_out, bias=True):",
            "        super().__init__(n_in, n_out, bias=bias)",
            "        self.g = nn.Parameter(torch.ones(n_out))",
            "",
            "    def forward(self, x):",
            "        weight = self.g[:, None] * self.weight / self.weight.norm(dim=1, keepdim=True)",
            "        return F.linear(x, weight, self.bias)",
            "",
            "",
        ]
    if config.dropout > 0:
        lines += [
            "class SeededDropout(nn.Module):",
            f'    """{t("code.dropout")}"""',
            "",
            "    def __init__(self, rate, generator):",
            "        super().__init__()",
            "        self.rate, self.generator = rate, generator",
            "",
            "    def forward(self, x):",
            "        if not self.training:",
            "            return x",
            "        return x * (torch.rand(x.shape, generator=self.generator) >= self.rate) / (1.0 - self.rate)",
            "",
            "",
        ]
    return lines


def norm_expression(norm: str) -> str:
    return {
        "batch": "nn.BatchNorm1d(width)",
        "layer": "nn.LayerNorm(width)",
        "group": "nn.GroupNorm(next(g for g in (8, 4, 2, 1) if width % g == 0), width)",
        "renorm": "BatchRenorm(width)",
    }[norm]


def model_lines(config: tr.TrainConfig, stats: bool = False) -> list[str]:
    """``make_model(norm, generator)``: the page's network, its Linear layers initialized from ``generator``
    (with ``stats``, ``norm`` is "batch" or "running": the statistics BatchNorm normalizes with in training)."""
    linear = "(WeightNormLinear if norm else nn.Linear)" if config.norm == "weight" else "nn.Linear"
    act = {"relu": "nn.ReLU()", "sigmoid": "nn.Sigmoid()"}[config.activation]
    layered = config.norm not in ("none", "weight")
    lines = [
        "def make_model(norm, generator):",
        f"    # {t('code.model_stats' if stats else 'code.model', widths=config.widths, act=config.activation)}",
        "    layers, n_in = [], x_train.shape[1]",
        f"    for width in {config.widths}:",
        f"        # {t('code.bias')}",
        f"        layers.append({linear}(n_in, width, bias={bias_expression(config)}))",
    ]
    if stats:
        norm_then = ['            layers.append((nn.BatchNorm1d if norm == "batch" else RunningStatsBatchNorm)(width))']
    elif layered:
        norm_then = [f"            layers.append({norm_expression(config.norm)})"]
    if layered:
        if config.placement == "before":
            lines += ["        if norm:", *norm_then, f"        layers.append({act})"]
        else:
            lines += [f"        layers.append({act})", "        if norm:", *norm_then]
    else:
        lines += [f"        layers.append({act})"]
    if config.dropout > 0:
        lines += [f"        layers.append(SeededDropout({config.dropout!r}, generator))"]
    lines += [
        "        n_in = width",
        "    model = nn.Sequential(*layers, nn.Linear(n_in, 10))",
        *init_lines(config.init_std, config.norm == "weight"),
    ]
    return [*lines, "    return model"]


def bias_expression(config: tr.TrainConfig) -> str:
    """Whether a hidden Linear has a bias, as bn_core.train.TrainConfig.linear_bias decides (the twin: always)."""
    if config.bias is not None:
        return str(config.bias)  # set by the preset, for the twin too
    if config.norm == "weight" or config.placement == "after":
        return "True"
    return "not norm"


def train_lines(config: tr.TrainConfig) -> list[str]:
    merge = config.norm in tr.BATCH_STAT_NORMS
    if config.optimizer == "sgd":
        optimizer = f"torch.optim.SGD(model.parameters(), lr={config.lr!r}, momentum={config.momentum!r})"
    else:
        optimizer = f"torch.optim.Adam(model.parameters(), lr={config.lr!r})"
    merge_count = [
        f"    if norm and len(y_train) % {config.batch_size} == 1 and len(y_train) > 1:  # {t('code.merge')}",
        "        batches -= 1",
    ]
    return [
        *accuracy_lines(),
        "",
        "",
        "def run(norm):",
        f"    generator = torch.Generator().manual_seed({config.seed})  # {t('code.generator')}",
        "    model = make_model(norm, generator)",
        f"    optimizer = {optimizer}",
        f"    batches = math.ceil(len(y_train) / {config.batch_size})",
        *(merge_count if merge else []),
        f"    total, step, reached = batches * {config.epochs}, 0, None",
        f"    every = max(1, total // {tr.MEASURES})  # {t('code.every')}",
        "    if accuracy(model, x_val[:2000], y_val[:2000]) >= 0.9:",
        "        reached = 0",
        f"    for epoch in range(1, {config.epochs} + 1):",
        "        model.train()",
        f"        order = list(torch.split(torch.randperm(len(y_train), generator=generator), {config.batch_size}))",
        *(
            [
                f"        if norm and len(order) > 1 and len(order[-1]) == 1:  # {t('code.merge')}",
                "            order[-2:] = [torch.cat(order[-2:])]",
            ]
            if merge
            else []
        ),
        "        for idx in order:",
        "            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])",
        f"            if not math.isfinite(loss.item()) or loss.item() > {tr.DIVERGED_LOSS!r}:  # {t('code.diverged')}",
        "                return None, reached",
        "            optimizer.zero_grad()",
        "            loss.backward()",
        "            optimizer.step()",
        "            step += 1",
        "            if reached is None and (step % every == 0 or step == total):",
        "                if accuracy(model, x_val[:2000], y_val[:2000]) >= 0.9:",
        "                    reached = step",
        "                model.train()",
        "    return accuracy(model, x_test, y_test), reached",
    ]


def run_lines(config: tr.TrainConfig, stats: bool = False) -> list[str]:
    lines = [f"# {t('code.printed')}"]
    for c in pair(config, stats):
        if stats:  # the `inside` pair's summary: each run's test accuracy
            label = t("inside.pair_accuracy", name=t(f"inside.mode_{c.bn_stats}"))
            lines += [f"test_accuracy, reached = run(norm={c.bn_stats!r})", f"print({(label + ':')!r}, test_accuracy)"]
            continue
        name = t(f"train.norm_{c.norm}")
        lines += [
            f"test_accuracy, reached = run(norm={c.norm != 'none'})",
            f"print({(name + ' · ' + t('train.test_accuracy') + ':')!r}, test_accuracy)",
            f"print({(name + ' · ' + t('train.steps_to_90') + ':')!r}, reached)",
        ]
    return lines

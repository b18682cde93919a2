"""The code for this: the `inside` step-through's batch as a plain PyTorch script.

Written from the page's batch (the values themselves: at most 8 × 4 numbers), γ, β, ε and the upstream
gradient it chose: Algorithm 1 of Ioffe and Szegedy (2015) in torch operations, float64, and autograd for
the backward steps. It prints each step's result for every channel. tests/app/test_code_for_this.py runs
it and compares with the page's numbers (bn_core.steps). It imports no part of BN Lab.
"""

from __future__ import annotations

import numpy as np

from ui.i18n import t

UPSTREAM = {  # dy as bn_core.steps.upstream makes it
    "random": ["dy = torch.from_numpy(np.random.default_rng(SEED + 1).standard_normal(tuple(x.shape)))"],
    "ones": ["dy = torch.ones_like(y)"],
    "x_hat": ["dy = x_hat.detach().clone()"],
    "y": ["dy = y.detach().clone()"],
    "one": ["dy = torch.zeros_like(y)", "dy[ROW, CH] = 1.0"],
}


def step_script(x: np.ndarray, gamma: float, beta: float, eps: float, dy: str, seed: int, cell: tuple[int, int]) -> str:
    """``x`` (N, C) as the page holds it; ``dy``: the upstream gradient's kind; ``cell``: (row, channel)."""
    rows = ",\n".join(f"        [{', '.join(repr(float(v)) for v in row)}]" for row in np.asarray(x, np.float64))
    lines = [
        f"# BN Lab · {t('inside.title')} · {t('inside.sec_step')}",
        f"# {t('code.checked_step')}",
        "import numpy as np",
        "import torch",
        "",
        f"SEED, ROW, CH = {seed}, {cell[0]}, {cell[1]}",
        f"EPS, GAMMA, BETA = {eps!r}, {gamma!r}, {beta!r}",
        f"# {t('inside.batch')}",
        "x = torch.tensor(",
        "    [",
        rows,
        "    ],",
        "    dtype=torch.float64,",
        "    requires_grad=True,",
        ")",
        "gamma = torch.full((x.shape[1],), GAMMA, dtype=torch.float64, requires_grad=True)",
        "beta = torch.full((x.shape[1],), BETA, dtype=torch.float64, requires_grad=True)",
        "",
        f"mean = x.mean(0)  # 1. {t('inside.step_mean')}",
        f"var = ((x - mean) ** 2).mean(0)  # 2. {t('inside.step_var')}",
        f"x_hat = (x - mean) / torch.sqrt(var + EPS)  # 3. {t('inside.step_x_hat')}",
        f"y = gamma * x_hat + beta  # 4. {t('inside.step_y')}",
        "",
        f"# {t('inside.dy')}: {t('inside.dy_' + dy)}",
        *UPSTREAM[dy],
        f"y.backward(dy)  # 5, 6. {t('code.autograd')}",
        "",
        f"# {t('code.printed')}",
        "with torch.no_grad():",
        '    print("μ_B:", mean.tolist())',
        '    print("σ²_B:", var.tolist())',
        '    print("x̂:", x_hat.tolist())',
        '    print("y:", y.tolist())',
        '    print("∂L/∂β:", beta.grad.tolist())',
        '    print("∂L/∂γ:", gamma.grad.tolist())',
        '    print("dx:", x.grad.tolist())',
    ]
    return "\n".join(lines) + "\n"


LAYER_NORM = "torch.nn.LayerNorm(x.shape[1:], elementwise_affine=False, dtype=f64)"


def axes_script(shape: tuple[int, ...], groups: int) -> str:
    """Section `axes`: for an input of ``shape`` ((N, C) or (N, C, H·W)), which values share one mean and variance
    under each normalization, and PyTorch's own layer normalizing over exactly those values."""
    image = len(shape) == 3
    spatial = ", 2" if image else ""

    def title(kind: str) -> str:
        return t(f"inside.norm_{kind}", g=groups)

    lines = [
        f"# BN Lab · {t('inside.title')} · {t('inside.sec_axes')}",
        f"# {t('code.checked_axes')}",
        "import torch",
        "",
        f"N, C{', HW' if image else ''}, G = {', '.join(str(v) for v in shape)}, {groups}",
        "f64 = torch.float64",
        f"x = torch.randn(N, C{', HW' if image else ''}, dtype=f64, generator=torch.Generator().manual_seed(0))",
        "",
        "",
        "def by_hand(v, dims):",
        f"    # {t('code.by_hand')}",
        "    mean, var = v.mean(dims, keepdim=True), v.var(dims, keepdim=True, unbiased=False)",
        "    return (v - mean) / torch.sqrt(var + 1e-5)",
        "",
        "",
        f"grouped = x.reshape(N, G, -1)  # {t('code.groups')}",
        "cases = {  # " + t("code.cases"),
        f"    {title('batch')!r}: (torch.nn.BatchNorm1d(C, affine=False, dtype=f64), x, (0{spatial})),",
        f"    {title('layer')!r}: ({LAYER_NORM}, x, (1{spatial})),",
    ]
    if image:
        lines.append(f"    {title('instance')!r}: (torch.nn.InstanceNorm1d(C), x, (2,)),")
    else:
        lines.append(f"    {title('instance')!r}: (None, x.unsqueeze(-1), (2,)),  # {t('code.instance_nc')}")
    lines += [
        f"    {title('group')!r}: (torch.nn.GroupNorm(G, C, affine=False, dtype=f64), grouped, (2,)),",
        "}",
        "for name, (layer, v, dims) in cases.items():",
        "    values = v.numel() // v.mean(dims).numel()  # " + t("code.per_set"),
        "    print(name + ':', [v.mean(dims).numel(), values])",
        "    if layer is not None and values > 1:",
        "        expected = by_hand(v, dims).reshape(x.shape)",
        "        print(name + ' · PyTorch:', torch.allclose(layer.train()(x), expected))",
    ]
    return "\n".join(lines) + "\n"


def devices_script(k: int, per_device: int, shift: float, seed: int) -> str:
    """Section `devices`: each device's statistics of its shard, SyncBatchNorm's merged ones, the whole batch's
    and the naive average, as the page's table lists them."""
    lines = [
        f"# BN Lab · {t('inside.title')} · {t('inside.sec_devices')}",
        f"# {t('code.checked_devices')}",
        "import numpy as np",
        "import torch",
        "",
        f"K, B, SHIFT, SEED = {k}, {per_device}, {shift!r}, {seed}",
        f"# {t('code.shards')}",
        "rng = np.random.default_rng(SEED)",
        "shards = [torch.from_numpy(rng.normal(SHIFT * (d - (K - 1) / 2), 1.0, size=(B, 1))) for d in range(K)]",
        "",
        f"# {t('code.per_device')}",
        "counts = torch.tensor([float(len(s)) for s in shards])",
        "stats = [torch.var_mean(s[:, 0], correction=0) for s in shards]  # (var, mean)",
        "variances, means = torch.stack([v for v, _ in stats]), torch.stack([m for _, m in stats])",
        "for d in range(K):",
        f'    print(f"{t("inside.device_n", d="{d}")}:", [B, means[d].item(), variances[d].item()])',
        "",
        f"# {t('code.sync')}",
        "n = counts.sum()",
        "mean = (counts * means).sum() / n",
        "var = (counts * (variances + (means - mean) ** 2)).sum() / n",
        f"print({(t('inside.row_sync') + ':')!r}, [int(n), mean.item(), var.item()])",
        "whole_var, whole_mean = torch.var_mean(torch.cat(shards)[:, 0], correction=0)",
        f"print({(t('inside.row_whole') + ':')!r}, [int(n), whole_mean.item(), whole_var.item()])",
        f"print({(t('inside.row_naive') + ':')!r}, [int(n), means.mean().item(), variances.mean().item()])",
    ]
    return "\n".join(lines) + "\n"


def place_script(z_mean: float, z_std: float, seed: int, squash: str) -> str:
    """Section `place`: what the next layer receives under each order of BN and ReLU (the page's table), the
    share of saturated inputs of ``squash`` without and with BN, and a bias before BN that changes nothing."""
    cols = ", ".join(t(f"inside.col_{c}") for c in ("mean", "std", "zeros", "skew"))
    squash_fn = "torch.sigmoid" if squash == "sigmoid" else "torch.tanh"
    slope = "a * (1 - a)" if squash == "sigmoid" else "1 - a**2"
    top = 0.25 if squash == "sigmoid" else 1.0
    lines = [
        f"# BN Lab · {t('inside.title')} · {t('inside.sec_place')}",
        f"# {t('code.checked_place')}",
        "import numpy as np",
        "import torch",
        "",
        f"MEAN, STD, SEED = {z_mean!r}, {z_std!r}, {seed}",
        f"# {t('code.place_z')}",
        "z = torch.from_numpy(np.random.default_rng(SEED).normal(MEAN, STD, size=(512, 4)))",
        "bn = torch.nn.BatchNorm1d(4, affine=False, dtype=torch.float64).train()  # γ = 1, β = 0",
        "",
        "",
        "def summary(v):",
        f"    # {cols}",
        "    sd = v.std(0, correction=0)",
        "    skew = torch.where(sd > 0, ((v - v.mean(0)) ** 3).mean(0) / sd**3, 0.0).mean()",
        "    return [v.mean().item(), v.std(correction=0).item(), (v == 0).double().mean().item(), skew.item()]",
        "",
        "",
        "with torch.no_grad():",
        f"    print({(t('inside.order_plain') + ':')!r}, summary(torch.relu(z)))",
        f"    print({(t('inside.order_bn_act') + ':')!r}, summary(torch.relu(bn(z))))",
        f"    print({(t('inside.order_act_bn') + ':')!r}, summary(bn(torch.relu(z))))",
        "",
        f"    # {t('code.saturated_slope', top=top)}",
        f"    a = {squash_fn}(z)",
        f"    print({(t('inside.sat_without') + ':')!r}, (({slope}) < 0.1 * {top!r}).double().mean().item())",
        f"    a = {squash_fn}(bn(z))",
        f"    print({(t('inside.sat_with') + ':')!r}, (({slope}) < 0.1 * {top!r}).double().mean().item())",
        "",
        f"    # {t('code.bias_before_bn')}",
        "    bias = torch.from_numpy(np.random.default_rng(SEED).normal(0.0, 5.0, size=4))",
        f"    print({(t('inside.bias_title') + ':')!r}, (bn(z + bias) - bn(z)).abs().max().item())",
    ]
    return "\n".join(lines) + "\n"


def noise_script(batch_size: int, x0: float, seed: int, p: float, mu: float, trials: int) -> str:
    """Section `noise`: the same sample x0 in ``trials`` random batches, and dropout (rate ``p``) before BN on
    inputs of mean ``mu``: the variance BN stores in training against the one it meets at inference."""
    lines = [
        f"# BN Lab · {t('inside.title')} · {t('inside.sec_noise')}",
        f"# {t('code.checked_noise')}",
        "import numpy as np",
        "import torch",
        "",
        f"B, X0, SEED, TRIALS = {batch_size}, {x0!r}, {seed}, {trials}",
        f"# {t('code.same_sample', trials=trials)}",
        "others = np.random.default_rng(SEED).standard_normal((TRIALS, B - 1))",
        "batches = torch.from_numpy(np.concatenate([np.full((TRIALS, 1), X0), others], axis=1))",
        "outputs = torch.nn.functional.batch_norm(batches.T, None, None, training=True)[0]  # " + t("code.columns"),
        f"print({(t('code.noise_sd') + ':')!r}, outputs.std(correction=0).item())",
        "",
        f"P, MU = {p!r}, {mu!r}",
        f"# {t('code.dropout_bn')}",
        "rng = np.random.default_rng(SEED)",
        "x = rng.normal(MU, 1.0, size=(200, 64, 1))",
        "dropped = x / (1.0 - P) if P > 0 else x",
        "if P > 0:",
        "    dropped = np.where(rng.random(x.shape) >= P, dropped, 0.0)",
        "bn = torch.nn.BatchNorm1d(1, momentum=None, dtype=torch.float64)  # " + t("code.cumulative"),
        "with torch.no_grad():",
        "    for batch in torch.from_numpy(dropped):",
        "        bn.train()(batch)",
        "    fresh = torch.from_numpy(rng.normal(MU, 1.0, size=(200 * 64, 1)))",
        "    out = bn.eval()(fresh)",
        f"print({(t('inside.drop_running') + ':')!r}, bn.running_var.item())",
        f"print({(t('inside.drop_eval_var') + ':')!r}, fresh.var(correction=0).item())",
        f"print({(t('inside.drop_out_std') + ':')!r}, out.std(correction=0).item())",
    ]
    return "\n".join(lines) + "\n"

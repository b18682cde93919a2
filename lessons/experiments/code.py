"""The code for this: an experiment of the `experiments` lesson as a plain PyTorch script.

Written from the section's configuration (bn_core.experiments: SweepConfig, RenormConfig, LrConfig): every run
of its grid trained as bn_core.experiments.fit trains it (the same generator, weights, batches and updates as
the `train` lesson), then the validation error or accuracy the section's chart and table are drawn from, per
seed. tests/app/test_code_for_this.py runs it for small grids and finds the experiment's numbers, bit for bit.
It imports no part of BN Lab.
"""

from __future__ import annotations

from bn_core import experiments as ex
from bn_core import train as tr
from bn_core.smoothness import NOISE_SEED_OFFSET
from ui.i18n import t
from ui.train_script import accuracy_lines, header_lines, init_lines, layer_lines

NORM_LAYERS = {
    "batch": "nn.BatchNorm1d(width)",
    "layer": "nn.LayerNorm(width)",
    "group": "nn.GroupNorm(next(g for g in (8, 4, 2, 1) if width % g == 0), width)",
    "renorm": "BatchRenorm(width, r_max, d_max)",
}
SECONDS_PER_STEP = 0.0017  # one step of these small networks on one core here, measured (the lr grid: 1.6 ms)


def run_time(config) -> int:
    """About how many seconds the whole grid takes here (rounded up to 5)."""
    steps = ex.total_steps(config, 1_078 if config.dataset == "digits" else 55_000)
    return 5 * max(1, -(-int(steps * SECONDS_PER_STEP) // 5))


def script(section: str, config) -> str:
    """The script for ``section`` ("sweep", "renorm", "lr" or "smoothness") and its configuration."""
    if section == "smoothness":
        return smoothness_script(config)
    norms = ("batch", "renorm") if section == "renorm" else config.norms
    first = config.runs()[0]
    title = f"{t('experiments.title')} · {t(f'experiments.sec_{section}')}"
    lines = [
        *header_lines(title, t("code.experiment_checked"), run_time(config), config.dataset),
        "",
        *(layer_lines(tr.TrainConfig(norm="renorm")) if "renorm" in norms else []),
        *(layer_lines(tr.TrainConfig(norm="weight")) if "weight" in norms else []),
        *model_lines(norms, first),
        "",
        "",
        *fit_lines(first),
        "",
        "",
        *(train_mode_lines() if section == "sweep" and "batch" in norms else []),
        f"# {t('code.printed')}",
        *grid_lines(section, config),
    ]
    return "\n".join(lines) + "\n"


def model_lines(norms, first: tr.TrainConfig) -> list[str]:
    """``make_model(norm, generator)``: the grid's network (ReLU, the normalization before it) for one norm."""
    linear = 'WeightNormLinear if norm == "weight" else nn.Linear' if "weight" in norms else "nn.Linear"
    branches = []
    for norm in norms:
        if norm in NORM_LAYERS:
            keyword = "if" if not branches else "elif"
            branches += [f'        {keyword} norm == "{norm}":', f"            layers.append({NORM_LAYERS[norm]})"]
    return [
        "def make_model(norm, generator, r_max=3.0, d_max=5.0):",
        f"    # {t('code.experiment_model', widths=first.widths)}",
        "    layers, n_in = [], x_train.shape[1]",
        f"    for width in {first.widths}:",
        f"        # {t('code.bias')}",
        f"        linear = {linear}",
        '        layers.append(linear(n_in, width, bias=norm in ("none", "weight")))',
        *branches,
        "        layers.append(nn.ReLU())",
        "        n_in = width",
        "    model = nn.Sequential(*layers, nn.Linear(n_in, 10))",
        *init_lines(weight_norm="weight" in norms),
        "    return model",
    ]


def fit_lines(first: tr.TrainConfig) -> list[str]:
    return [
        *accuracy_lines(),
        "",
        "",
        "def fit(norm, batch_size, lr, seed, **limits):",
        f"    # {t('code.fit')}",
        "    generator = torch.Generator().manual_seed(seed)",
        "    model = make_model(norm, generator, **limits)",
        f"    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum={first.momentum!r})",
        f"    for epoch in range({first.epochs}):",
        "        model.train()",
        "        order = list(torch.split(torch.randperm(len(y_train), generator=generator), batch_size))",
        f'        if norm in ("batch", "renorm") and len(order) > 1 and len(order[-1]) == 1:  # {t("code.merge")}',
        "            order[-2:] = [torch.cat(order[-2:])]",
        "        for idx in order:",
        "            loss = F.cross_entropy(model(x_train[idx]), y_train[idx])",
        f"            if not math.isfinite(loss.item()) or loss.item() > {tr.DIVERGED_LOSS!r}:  # {t('code.diverged')}",
        "                return None",
        "            optimizer.zero_grad()",
        "            loss.backward()",
        "            optimizer.step()",
        "    return model",
    ]


def train_mode_lines() -> list[str]:
    return [
        "def train_mode_error(model, batch_size, seed):",
        f"    # {t('code.train_mode')}",
        "    if model is None:",
        "        return 1.0",
        "    shuffle = torch.Generator().manual_seed(seed)",
        "    order = list(torch.split(torch.randperm(len(y_val), generator=shuffle), batch_size))",
        "    if len(order) > 1 and len(order[-1]) == 1:",
        "        order[-2:] = [torch.cat(order[-2:])]",
        "    model.train()",
        "    with torch.no_grad():",
        "        wrong = sum(int((model(x_val[idx]).argmax(1) != y_val[idx]).sum()) for idx in order)",
        "    return wrong / len(y_val)",
        "",
        "",
    ]


def grid_lines(section: str, config) -> list[str]:
    """The grid's loops and what they print: one line per setting, one number per seed."""
    seeds = list(config.seeds)
    if section == "lr":
        return [
            f"for norm in {list(config.norms)}:",
            f"    for lr in {list(config.lrs)}:",
            f"        models = [fit(norm, {config.batch_size}, lr, seed) for seed in {seeds}]",
            f"        # {t('code.lr_accuracy')}",
            "        accuracies = [0.0 if m is None else accuracy(m, x_val, y_val) for m in models]",
            '        print(f"{norm} · lr = {lr}:", accuracies)',
        ]
    if section == "renorm":
        return [
            f"# {t('code.renorm_grid', b=config.batch_size)}",
            f"B, lr = {config.batch_size}, {config.lr!r} * {config.batch_size} / {ex.REFERENCE_BATCH}"
            + f"  # {t('code.scaled_lr')}",
            f"models = [fit('batch', B, lr, seed) for seed in {seeds}]",
            "print('batch:', [1.0 if m is None else 1 - accuracy(m, x_val, y_val) for m in models])",
            f"for r_max, d_max in {[list(s) for s in config.settings]}:",
            f"    models = [fit('renorm', B, lr, seed, r_max=r_max, d_max=d_max) for seed in {seeds}]",
            "    errors = [1.0 if m is None else 1 - accuracy(m, x_val, y_val) for m in models]",
            '    print(f"renorm ({r_max:g}, {d_max:g}):", errors)',
        ]
    return [
        f"for norm in {list(config.norms)}:",
        f"    for size in {list(config.sizes)}:",
        f"        lr = {config.lr!r} * size / {ex.REFERENCE_BATCH}  # {t('code.scaled_lr')}",
        f"        models = [fit(norm, size, lr, seed) for seed in {seeds}]",
        f"        # {t('code.sweep_error')}",
        "        errors = [1.0 if m is None else 1 - accuracy(m, x_val, y_val) for m in models]",
        '        print(f"{norm} · B = {size}:", errors)',
        '        if norm == "batch":',
        f"            # {t('code.sweep_train_mode')}",
        f"            errors = [train_mode_error(m, size, seed) for m, seed in zip(models, {seeds})]",
        '            print(f"{norm} · B = {size} · train mode:", errors)',
    ]


def smoothness_script(config) -> str:
    """Section `smoothness` (Santurkar et al., 2018): each variant (no BN, BN, BN with noise after it) trained per
    seed, the loss landscape probed along the gradient every few steps; it prints the medians over the run and
    the final validation accuracy, per seed, as the section's table shows them."""
    first = config.run("batch", config.seeds[0])
    title = f"{t('experiments.title')} · {t('experiments.sec_smoothness')}"
    lines = [
        *header_lines(title, t("code.experiment_checked"), smoothness_run_time(config), config.dataset, ("copy",)),
        f"ETAS, EVERY = {list(config.etas)}, {config.every}",
        "",
        "class NoisyBatchNorm(nn.BatchNorm1d):",
        f'    """{t("code.noisy_bn")}"""',
        "",
        "    noise = None",
        "",
        "    def draw(self, n, mean_max, std_max, generator):",
        "        mean = (torch.rand(self.num_features, generator=generator) * 2 - 1) * mean_max",
        "        std = torch.rand(self.num_features, generator=generator) * std_max",
        "        self.noise = mean + std * torch.randn((n, self.num_features), generator=generator)",
        "",
        "    def forward(self, x):",
        "        y = super().forward(x)",
        "        return y + self.noise if self.training and self.noise is not None else y",
        "",
        "",
        "def make_model(variant, generator):",
        f"    # {t('code.experiment_model', widths=first.widths)}",
        "    layers, n_in = [], x_train.shape[1]",
        f"    for width in {first.widths}:",
        '        layers.append(nn.Linear(n_in, width, bias=variant == "none"))  # ' + t("code.bias"),
        '        if variant != "none":',
        '            layers.append(nn.BatchNorm1d(width) if variant == "batch" else NoisyBatchNorm(width))',
        "        layers.append(nn.ReLU())",
        "        n_in = width",
        "    model = nn.Sequential(*layers, nn.Linear(n_in, 10))",
        *init_lines(),
        "    return model",
        "",
        "",
        "def loss_and_grad(model, xb, yb):",
        "    model.zero_grad(set_to_none=True)",
        "    loss = F.cross_entropy(model(xb), yb)",
        "    loss.backward()",
        "    return loss.item(), torch.cat([p.grad.flatten() for p in model.parameters()])",
        "",
        "",
        "def landscape(model, xb, yb):",
        f"    # {t('code.landscape')}",
        "    probe = copy.deepcopy(model).train()",
        "    params = list(probe.parameters())",
        "    start = [p.detach().clone() for p in params]",
        "    loss, grad = loss_and_grad(probe, xb, yb)",
        "    losses, changes, betas = [loss], [], []",
        "    for eta in ETAS:",
        "        with torch.no_grad():",
        "            offset = 0",
        "            for p, p0 in zip(params, start):",
        "                p.copy_(p0 - eta * grad[offset : offset + p.numel()].view_as(p))",
        "                offset += p.numel()",
        "        moved_loss, moved_grad = loss_and_grad(probe, xb, yb)",
        "        change = float((grad - moved_grad).norm())",
        "        losses.append(moved_loss)",
        "        changes.append(change)",
        "        betas.append(change / max(eta * float(grad.norm()), 1e-12))",
        "    return max(losses) - min(losses), max(changes), max(betas)",
        "",
        "",
        *accuracy_lines(),
        "",
        "",
        "def run(variant, seed):",
        f"    # {t('code.smooth_run')}",
        "    generator = torch.Generator().manual_seed(seed)",
        f"    noise = torch.Generator().manual_seed(seed + {NOISE_SEED_OFFSET})",
        "    model = make_model(variant, generator)",
        f"    optimizer = torch.optim.SGD(model.parameters(), lr={first.lr!r}, momentum={first.momentum!r})",
        "    rows, step = [], 0",
        f"    for epoch in range({first.epochs}):",
        "        model.train()",
        f"        order = list(torch.split(torch.randperm(len(y_train), generator=generator), {first.batch_size}))",
        f'        if variant != "none" and len(order) > 1 and len(order[-1]) == 1:  # {t("code.merge")}',
        "            order[-2:] = [torch.cat(order[-2:])]",
        "        for idx in order:",
        "            xb, yb = x_train[idx], y_train[idx]",
        "            for m in model:",
        "                if isinstance(m, NoisyBatchNorm):",
        f"                    m.draw(len(yb), {config.noise_mean!r}, {config.noise_std!r}, noise)",
        "            if step % EVERY == 0:",
        "                rows.append(landscape(model, xb, yb))",
        "            loss = F.cross_entropy(model(xb), yb)",
        f"            if not math.isfinite(loss.item()) or loss.item() > {tr.DIVERGED_LOSS!r}:  # {t('code.diverged')}",
        "                return None, rows",
        "            optimizer.zero_grad()",
        "            loss.backward()",
        "            optimizer.step()",
        "            step += 1",
        "    return model, rows",
        "",
        "",
        f"# {t('code.printed')}",
        f"for variant in {list(config.variants)}:",
        f"    results = [run(variant, seed) for seed in {list(config.seeds)}]",
        "    medians = [np.nanmedian(np.array(rows, dtype=np.float64), axis=0).tolist() for _, rows in results]",
        f"    print(variant + ' · {t('code.smooth_medians')}:', medians)",
        f"    print(variant + ' · {t('experiments.val_accuracy')}:', "
        + "[0.0 if m is None else accuracy(m, x_val, y_val) for m, _ in results])",
    ]
    return "\n".join(lines) + "\n"


def smoothness_run_time(config) -> int:
    """About how many seconds it takes here: each probe costs about five training steps (rounded up to 5)."""
    steps = ex.total_steps(config, 1_078 if config.dataset == "digits" else 55_000)
    return 5 * max(1, -(-int(steps * SECONDS_PER_STEP * (1 + 5 * (len(config.etas) + 1) / 2 / config.every)) // 5))

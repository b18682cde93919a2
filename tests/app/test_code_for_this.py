"""The code for this (bn-lab): each section's script, run in its own interpreter with plain PyTorch or
real Keras 3 (torch backend, from .keras-lib), prints the numbers the page computes for the same settings."""

import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from bn_core import experiments as ex
from bn_core import train as tr
from bn_core.smoothness import MEDIANS, SmoothnessConfig, smoothness
from lessons.bn_lab import code
from lessons.bn_lab.lab import Lab, feed, run_layer
from lessons.bn_lab.state import PARAMS
from lessons.inside import code as inside_code
from tests.app.helpers import ROOT, lesson_state
from ui import train_script as train_code
from ui.i18n import catalog

EN = catalog("en")
DEFAULTS = {p.key.removeprefix("bnlab."): p.default for p in PARAMS if p.name != "section"}


@pytest.fixture
def set_lang(monkeypatch):
    """The language t() writes in, outside a page run, for this test only."""
    return lambda lang: monkeypatch.setattr("ui.i18n.current_lang", lambda: lang)


def lab(**changes) -> Lab:
    return Lab(**{**DEFAULTS, **changes})


def run_script(source: str, tmp_path, timeout: float = 120) -> dict[str, object]:
    """Run a script as a student would (Keras from .keras-lib, after the app's own packages); its printed
    lines "label: value" as a dict."""
    path = tmp_path / "script.py"
    path.write_text(source, encoding="utf-8")
    runner = f"import sys; sys.path.append({str(ROOT / '.keras-lib')!r}); sys.argv = [{str(path)!r}]; " + (
        f"exec(compile(open({str(path)!r}, encoding='utf-8').read(), {str(path)!r}, 'exec'))"
    )
    env = {**os.environ, "KERAS_BACKEND": "torch", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", runner], capture_output=True, text=True, timeout=timeout, env=env, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-2000:]
    printed = {}
    for line in done.stdout.splitlines():
        # a label may hold ": " ("naive: average of ..."), a printed value does not; PyTorch's message may
        label, _, value = line.partition(": ") if line.startswith("ValueError: ") else line.rpartition(": ")
        numbers = {"nan": float("nan"), "inf": float("inf"), "__builtins__": {}}  # repr() of NaN and infinity
        printed[label.removesuffix(":")] = value if label == "ValueError" else eval(value, numbers)  # noqa: S307
    return printed


def page_numbers(settings: Lab, section: str) -> dict[str, object]:
    """What the section computes (lessons/bn_lab/sections.py), through the same calls, with one torch thread
    as the server computes (ui/server.py)."""
    import torch

    torch.set_num_threads(1)
    if section == "one":
        settings = replace(settings, n=settings.n1)
    x, layer = settings.batch(), settings.layer()
    training = section == "stats" or settings.mode == "train"
    if section == "running" or (section in ("one", "eps") and not training):
        feed(settings, layer)
    y, refused = run_layer(layer, x, training) if (section != "stats" or settings.bn) else (None, None)
    return {"x": x, "layer": layer, "y": y, "refused": refused}


STATES = [
    ("stats", {}),
    ("stats", {"conv": "keras", "eps": 0.001, "momentum": 0.99, "dist": "lognormal", "gamma": 1.5, "beta": -0.5}),
    ("stats", {"layout": "nchw", "n": 4, "hw": 3, "dist": "bimodal"}),
    ("running", {"mode": "eval", "k": 20, "n": 8}),
    ("running", {"conv": "keras", "eps": 0.001, "momentum": 0.9, "mode": "eval", "k": 30, "dist": "relu"}),
    ("running", {"cma": True, "k": 10, "n": 4}),
    ("one", {}),  # PyTorch refuses the batch of one
    ("one", {"conv": "keras", "eps": 0.001, "momentum": 0.99, "beta": 0.5}),  # Keras returns beta
    ("one", {"layout": "nchw", "hw": 4}),
    ("eps", {"conv": "keras", "dist": "constant", "eps": 0.0, "n": 1024, "mu": 0.1, "momentum": 0.9}),
    ("eps", {"mode": "eval", "eps": 0.0}),
]


@pytest.mark.slow
@pytest.mark.parametrize("section, changes", STATES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(STATES)])
def test_a_sections_script_prints_the_pages_numbers(section, changes, tmp_path, set_lang):
    set_lang("en")
    check_section_script(lab(**changes), section, tmp_path)


def random_lab(seed: int) -> tuple[str, Lab]:
    """A section and a state drawn from the Params' own ranges (bn_lab/state.py), as a link could set them."""
    rng = np.random.default_rng(seed)
    values = {}
    for p in PARAMS:
        if p.options:
            value = p.options[rng.integers(len(p.options))]
        elif p.kind == "choice":
            value = p.choices[rng.integers(len(p.choices))]
        elif p.kind == "bool":
            value = bool(rng.integers(2))
        elif p.kind == "int":
            value = int(rng.integers(p.lo, p.hi + 1))
        else:
            value = round(float(rng.uniform(p.lo, p.hi)), 2)
        values[p.key.removeprefix("bnlab.")] = value
    section = values.pop("section")
    values["hw"], values["k"] = min(values["hw"], 6), min(values["k"], 60)  # a script that runs in seconds
    values["ch"] = min(values["ch"], values["c"] - 1)  # the page clamps the channel on show to C - 1
    return ("stats" if section == "puzzle" else section), Lab(**values)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_a_random_states_script_prints_the_pages_numbers(seed, tmp_path, set_lang):
    section, settings = random_lab(seed)
    set_lang("en")
    check_section_script(settings, section, tmp_path)


def check_section_script(settings: Lab, section: str, tmp_path) -> None:
    printed = run_script(code.script(settings, section), tmp_path)
    page = page_numbers(settings, section)
    x, layer, y = page["x"], page["layer"], page["y"]
    axes = (0,) if x.ndim == 2 else (0, 2, 3)
    mean, var = layer.statistics(x, True)  # the page's table of batch statistics
    np.testing.assert_allclose(printed[EN["bn_lab.col_batch_mean"]], mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(printed[EN["bn_lab.col_batch_var"]], var, rtol=1e-4, atol=1e-6)
    outputs = EN["code.outputs"].format(ch=settings.ch)
    if page["refused"]:
        assert printed["ValueError"] == page["refused"] and outputs not in printed  # PyTorch's own words
        return
    if y is None:
        return
    shown = y[:, settings.ch].reshape(-1)[: code.PRINTED].astype(np.float64)
    running = (printed[EN["bn_lab.col_running_mean"]], printed[EN["bn_lab.col_running_var"]])
    if settings.conv == "pytorch":  # the engine's PyTorch convention is torch's own arithmetic: the same bits
        assert printed[outputs] == shown.tolist() or np.isnan(shown).all() and np.isnan(printed[outputs]).all()
        np.testing.assert_array_equal(running[0], np.asarray(layer.running_mean, np.float32))
        np.testing.assert_array_equal(running[1], np.asarray(layer.running_var, np.float32))
    else:  # real Keras: within float32 rounding
        np.testing.assert_allclose(printed[outputs], shown, rtol=2e-6, atol=1e-7)
        np.testing.assert_allclose(running[0], layer.running_mean, rtol=2e-6, atol=1e-7)
        np.testing.assert_allclose(running[1], layer.running_var, rtol=2e-6, atol=1e-7)
    assert axes  # the layout the script drew: (N, C) or (N, C, H, W)


@pytest.mark.slow
@pytest.mark.parametrize("x, momentum, calls, training", [(-0.22630838, 0.99, 0, False), (1.5, 0.5, 2, False),
                                                          (3.0, 0.9, 1, True)])  # fmt: skip
def test_the_keras_puzzles_script_prints_what_the_page_shows(x, momentum, calls, training, tmp_path, set_lang):
    from lessons.bn_lab.sections import keras_layer

    settings = lab(px=x, pm=momentum, pk=calls, ptrain=training)
    set_lang("en")
    printed = run_script(code.puzzle_script(settings), tmp_path)
    layer, value = keras_layer(momentum), np.array([np.float32(x)], dtype=np.float32)
    for _ in range(calls):
        layer(value, training=True)
    assert printed[EN["bn_lab.puzzle_result"]] == float(layer(value, training=training)[0])  # as the page shows it


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_script_speaks_the_pages_language_and_imports_nothing_of_bn_lab(lang, set_lang):
    set_lang(lang)
    for section in ("stats", "running", "one", "eps"):
        source = code.script(lab(), section)
        assert catalog(lang)["code.layer"] in source and catalog(lang)[f"bn_lab.section_{section}"] in source
        assert "bn_core" not in source and "lessons" not in source and "ui." not in source
        compile(source, "script.py", "exec")


# ---- train: the pair the page trains, its summary's numbers ------------------------------------------------

TRAIN_STATES = {  # every preset, and custom settings that use each part a script can hold
    **{name: config for name, config in tr.PRESETS.items()},
    "renorm-dropout-relu": tr.TrainConfig(norm="renorm", dropout=0.2, hidden=32, hidden2=16, epochs=2, batch_size=61),
    "weight-adam": tr.TrainConfig(norm="weight", optimizer="adam", lr=0.01, hidden=32, depth=2, epochs=2),
    "layer-after-sigmoid": tr.TrainConfig(norm="layer", placement="after", activation="sigmoid", epochs=2, seed=5),
    "group-init": tr.TrainConfig(norm="group", hidden=48, init_std=0.2, epochs=2, batch_size=16),
    "diverges": tr.TrainConfig(norm="none", lr=10.0, momentum=0.9, depth=3, hidden=64, epochs=2),
    "merged-last-batch": tr.TrainConfig(norm="batch", batch_size=359, epochs=2, hidden=16),  # 1 078 = 3·359 + 1
    "mnist": tr.TrainConfig(dataset="mnist", norm="batch", batch_size=9, epochs=2, hidden=16),  # 52 = 9·5 + 7
}


def page_summary(config: tr.TrainConfig, data) -> dict[str, object]:
    """What the run's summary shows for each run of the pair (lessons/train/results.run_summary), trained as
    the server's workers train it (serve/worker.py: bn_core.train.train, one thread)."""
    import torch

    torch.set_num_threads(1)
    shown = {}
    for c in train_code.pair(config):
        history = tr.train(c, data=data)
        name = EN[f"train.norm_{c.norm}"]
        shown[f"{name} · {EN['train.test_accuracy']}"] = history.test_accuracy
        shown[f"{name} · {EN['train.steps_to_90']}"] = tr.steps_to(history, 0.9)
    return shown


@pytest.mark.slow
@pytest.mark.parametrize("name", TRAIN_STATES)
def test_the_train_script_prints_the_summary_the_page_shows(name, tmp_path, set_lang):
    from bn_core import data as digit_data
    from tests.unit.test_data import fake_mnist

    config = TRAIN_STATES[name]
    set_lang("en")
    if config.dataset == "mnist":
        (tmp_path / "mnist").mkdir()
        fake_mnist(tmp_path / "mnist", n_train=60, n_test=30, size=6, compress=name.endswith("t"))
        data = digit_data.load_mnist(tmp_path / "mnist")
    else:
        data = digit_data.load_digits()
    printed = run_script(train_code.script(config, name), tmp_path, timeout=300)
    assert printed == page_summary(config, data)  # the same bits: the same torch operations in the same order


def test_the_train_scripts_size_of_the_digits_is_the_data_sets():
    from bn_core import data as digit_data

    assert train_code.TRAIN_SIZES["digits"] == len(digit_data.load_digits().y_train)


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
@pytest.mark.parametrize("name", TRAIN_STATES)
def test_the_train_script_speaks_the_pages_language(name, lang, set_lang):
    set_lang(lang)
    source = train_code.script(TRAIN_STATES[name], name)
    assert catalog(lang)["code.train_checked"] in source and name in source
    assert "bn_core" not in source and "lessons" not in source and "ui." not in source
    compile(source, "script.py", "exec")


# ---- neuron: the numbers under the charts -------------------------------------------------------------------

NEURON_STATES = [  # (w₁, w₂, w₀), activation, BatchNorm, μ, σ, n, seed
    ((0.5, 0.5, 1.0), "relu", "off", 5.0, 1.0, 10_000, 0),  # the page's defaults
    ((-0.5, 0.25, 1.0), "relu", "before", 5.0, 1.0, 10_000, 0),
    ((-1.08, 0.5, 1.0), "relu", "after", 5.0, 1.0, 1_000, 7),
    ((0.0, 0.0, -1.0), "relu", "off", 5.0, 1.0, 100, 0),  # s = 0: every z the same
    ((0.3, -2.0, 0.5), "leaky_relu", "after", -2.5, 3.0, 300, 11),
    ((1.5, 1.5, -3.0), "sigmoid", "before", 0.0, 0.1, 3_000, 2),
    ((-3.0, 3.0, 3.0), "tanh", "off", 10.0, 5.0, 100_000, 2**31 - 1),
]


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize("state", NEURON_STATES, ids=[f"{s[1]}-{s[2]}-{i}" for i, s in enumerate(NEURON_STATES)])
def test_the_neuron_script_prints_the_numbers_under_the_charts(state, tmp_path, set_lang):
    from bn_core import neuron
    from lessons.neuron import code as neuron_code
    from ui.i18n import num, pct

    w, act, bn, mu, sd, n, seed = state
    set_lang("en")
    printed = run_script(neuron_code.script(w, act, bn, mu, sd, n, seed), tmp_path)
    result = neuron.forward(neuron.sample_inputs(n, mu, sd, seed), *w, act, bn)  # as lessons/neuron/neuron.py
    summary = neuron.summarize(result.out, act, activated=result.activated)
    three, four = (lambda v: num(v, ".3f")), (lambda v: num(v, ".4f"))  # as the page writes them
    page = {EN["neuron.out_mean"]: (summary.mean, three), EN["neuron.out_std"]: (summary.std, three)}
    if act in ("relu", "leaky_relu"):
        zeros = EN["neuron.former_zeros" if (act, bn) == ("relu", "after") else "neuron.zero_share"]
        page[zeros] = (summary.zero_share, pct)
    if summary.saturated_share is not None:
        page[EN["neuron.saturated"]] = (summary.saturated_share, pct)
    if (act, bn) == ("relu", "off"):
        page[EN["neuron.theory"]] = (neuron.relu_moments(*neuron.pre_activation_params(*w, mu, sd))[0], pct)
    if bn != "off":
        page[f"{EN['neuron.bn_stats']}, μ_B"] = (result.bn_mean, four)
        page[f"{EN['neuron.bn_stats']}, σ²_B"] = (result.bn_var, four)
    assert printed.keys() == page.keys()
    for label, (value, shown) in page.items():  # torch's sums and NumPy's differ in the last bits, not on the page
        assert printed[label] == pytest.approx(value, rel=1e-9, abs=1e-12), label
        assert shown(printed[label]) == shown(value), label


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_neuron_script_speaks_the_pages_language(lang, set_lang):
    from lessons.neuron import code as neuron_code

    set_lang(lang)
    for state in NEURON_STATES:
        source = neuron_code.script(*state)
        assert catalog(lang)["code.checked_neuron"] in source and catalog(lang)["neuron.out_mean"] in source
        assert "bn_core" not in source and "lessons" not in source
        compile(source, "script.py", "exec")


# ---- inside: the step-through's batch ------------------------------------------------------------------------

STEP_STATES = [  # n, c, seed, ε, γ, β, dy, (row, channel)
    (4, 2, 0, 1e-5, 1.0, 0.0, "random", (0, 0)),  # the page's defaults
    (8, 4, 12, 0.0, -2.5, 0.7, "one", (5, 3)),
    (2, 3, 3, 1.0, 0.3, -3.0, "x_hat", (1, 2)),
    (5, 1, 2**31 - 1, 1e-3, 3.0, 3.0, "y", (4, 0)),
    (1, 2, 4, 0.1, 1.0, 0.0, "ones", (0, 1)),  # a batch of one: x̂ = 0, dx = 0
]


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize("state", STEP_STATES, ids=[f"{s[6]}-{i}" for i, s in enumerate(STEP_STATES)])
def test_the_step_through_script_prints_every_steps_numbers(state, tmp_path, set_lang):
    from bn_core import steps
    from lessons.inside.step import seeded_batch

    n, c, seed, eps, gamma, beta, dy, cell = state
    set_lang("en")
    x = seeded_batch(n, c, seed)
    printed = run_script(inside_code.step_script(x, gamma, beta, eps, dy, seed, cell), tmp_path)
    fwd = steps.forward(x, np.full(c, gamma), np.full(c, beta), eps)  # as lessons/inside/step.show
    back = steps.backward(fwd, steps.upstream(dy, fwd, seed=seed + 1, cell=cell))
    page = {"μ_B": fwd.mean, "σ²_B": fwd.var, "x̂": fwd.x_hat, "y": fwd.y}
    page |= {"∂L/∂β": back.dbeta, "∂L/∂γ": back.dgamma, "dx": back.dx}
    assert printed.keys() == page.keys()
    for label, value in page.items():  # autograd's order of operations and the page's closed form: ulps apart
        np.testing.assert_allclose(printed[label], value, rtol=1e-12, atol=1e-12, err_msg=label)


@pytest.mark.slow
@pytest.mark.parametrize("changes", [{}, {"lr": 0.3, "batch_size": 4, "seed": 3, "epochs": 2}])
def test_the_inside_pairs_script_prints_each_runs_test_accuracy(changes, tmp_path, set_lang):
    """`inside`, section stats: BatchNorm trained with batch statistics and with running ones."""
    import torch

    from bn_core import data as digit_data

    config = replace(tr.STATS_PAIR, **changes)
    set_lang("en")
    printed = run_script(train_code.script(config, "stats", stats=True), tmp_path, timeout=300)
    torch.set_num_threads(1)
    page = {}
    for mode in tr.BN_STATS:  # lessons/inside/stats_live.configs and results
        history = tr.train(replace(config, bn_stats=mode), data=digit_data.load_digits())
        page[EN["inside.pair_accuracy"].format(name=EN[f"inside.mode_{mode}"])] = history.test_accuracy
    assert printed == page


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize("shape, groups", [((3, 4, 3), 2), ((1, 4), 4), ((6, 8, 6), 8), ((2, 6), 3), ((1, 1, 1), 1)])
def test_the_axes_script_counts_the_sets_the_page_draws_and_torch_agrees(shape, groups, tmp_path, set_lang):
    from bn_core import shared_statistics
    from bn_core.norms import NORM_KINDS, values_per_statistic

    set_lang("en")
    printed = run_script(inside_code.axes_script(shape, groups), tmp_path)
    for kind in NORM_KINDS:  # as lessons/inside/axes.show captions each chart
        name = EN[f"inside.norm_{kind}"].format(g=groups)
        count = int(shared_statistics(kind, shape[0], shape[1], groups).max()) + 1
        per = values_per_statistic(kind, shape, groups)
        assert printed[name] == [count, per]
        if per > 1 and not (kind == "instance" and len(shape) == 2):
            assert printed[f"{name} · PyTorch"] is True  # torch's own layer normalizes over those values


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize("k, b, shift, seed", [(4, 4, 0.0, 0), (8, 1, 3.0, 5), (1, 64, 1.5, 2**31 - 1), (3, 7, 0.7, 9)])
def test_the_devices_script_prints_the_pages_table(k, b, shift, seed, tmp_path, set_lang):
    from bn_core import sync
    from bn_core.batchnorm import batch_stats
    from ui.i18n import num

    set_lang("en")
    printed = run_script(inside_code.devices_script(k, b, shift, seed), tmp_path)
    shards = sync.device_batches(k, b, 1, shift, seed)  # as lessons/inside/devices.show
    parts = [sync.moments(x) for x in shards]
    merged, naive = sync.merge(parts), sync.naive_merge(parts)
    whole = batch_stats(np.concatenate(shards), axis=1)
    page = {EN["inside.device_n"].format(d=d): (p.count, p.mean[0], p.var[0]) for d, p in enumerate(parts)}
    page[EN["inside.row_sync"]] = (merged.count, merged.mean[0], merged.var[0])
    page[EN["inside.row_whole"]] = (merged.count, whole[0][0], whole[1][0])
    page[EN["inside.row_naive"]] = (naive.count, naive.mean[0], naive.var[0])
    assert printed.keys() == page.keys()
    for label, (count, mean, var) in page.items():  # torch's sums and NumPy's: the last bits, not the table's digits
        assert printed[label][0] == count, label
        np.testing.assert_allclose(printed[label][1:], [mean, var], rtol=1e-12, atol=1e-14, err_msg=label)
        assert [num(v, ".4f") for v in printed[label][1:]] == [num(mean, ".4f"), num(var, ".4f")], label


PLACE_STATES = [
    (-1.0, 2.0, 0, "sigmoid"),
    (3.0, 0.1, 7, "tanh"),
    (-3.0, 5.0, 2**31 - 1, "tanh"),
    (0, 1.0, 3, "sigmoid"),
]


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize("z_mean, z_std, seed, squash", PLACE_STATES)
def test_the_placement_script_prints_the_pages_table_and_shares(z_mean, z_std, seed, squash, tmp_path, set_lang):
    from bn_core import placement as pl
    from lessons.inside.placement import C, N
    from ui.i18n import num, pct

    set_lang("en")
    printed = run_script(inside_code.place_script(z_mean, z_std, seed, squash), tmp_path)
    z = pl.pre_activations(N, C, z_mean, z_std, seed)  # as lessons/inside/placement.show
    shown = [lambda v: num(round(v, 3) + 0.0, ".3f"), lambda v: num(v, ".3f"), pct, lambda v: num(v, ".2f")]
    for order in pl.ORDERS:
        page = pl.summarize(pl.place(order, z))
        values = [page.mean, page.std, page.zero_share, page.skewness]
        got = printed[EN[f"inside.order_{order}"]]
        np.testing.assert_allclose(got, values, rtol=1e-9, atol=1e-12, err_msg=order)
        assert [f(v) for f, v in zip(shown, got, strict=True)] == [f(v) for f, v in zip(shown, values, strict=True)]
    assert pct(printed[EN["inside.sat_without"]]) == pct(pl.saturated_share(squash, z))
    assert pct(printed[EN["inside.sat_with"]]) == pct(pl.saturated_share(squash, pl.batch_normalize(z)))
    bias = np.random.default_rng(seed).normal(0.0, 5.0, size=C)  # as lessons/inside/placement.no_bias
    assert printed[EN["inside.bias_title"]] < 1e-12 and pl.bias_change(z, bias) < 1e-12  # rounding only


@pytest.mark.slow  # runs the script in its own interpreter (torch's import: about 1.5 s)
@pytest.mark.parametrize(
    "b, x0, seed, p, mu", [(8, 1.0, 0, 0.5, 1.0), (2, -3.0, 9, 0.0, 0.0), (256, 2.5, 2**31 - 1, 0.8, 3.0)]
)
def test_the_noise_script_prints_the_spread_and_the_variance_shift(b, x0, seed, p, mu, tmp_path, set_lang):
    from bn_core import noise
    from lessons.inside.noise import TRIALS
    from ui.i18n import num

    set_lang("en")
    printed = run_script(inside_code.noise_script(b, x0, seed, p, mu, trials=TRIALS), tmp_path)
    shift = noise.variance_shift(p, mu, 1.0, seed=seed)  # as lessons/inside/noise.py
    page = {
        EN["code.noise_sd"]: noise.same_sample_outputs(x0, b, TRIALS, seed).std(),
        EN["inside.drop_running"]: shift.running_var,
        EN["inside.drop_eval_var"]: shift.eval_var,
        EN["inside.drop_out_std"]: shift.eval_output_std,
    }
    assert printed.keys() == page.keys()
    for label, value in page.items():
        assert printed[label] == pytest.approx(value, rel=1e-9), label
        assert num(printed[label], ".3f") == num(value, ".3f"), label


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_inside_scripts_speak_the_pages_language(lang, set_lang):
    from lessons.inside.step import seeded_batch

    set_lang(lang)
    scripts = {
        "step": inside_code.step_script(seeded_batch(4, 2, 0), 1.0, 0.0, 1e-5, "random", 0, (0, 0)),
        "axes": inside_code.axes_script((3, 4, 3), 2),
        "devices": inside_code.devices_script(4, 4, 0.0, 0),
        "place": inside_code.place_script(-1.0, 2.0, 0, "sigmoid"),
        "noise": inside_code.noise_script(8, 1.0, 0, 0.5, 1.0, trials=2000),
    }
    for section, source in scripts.items():
        assert catalog(lang)[f"inside.sec_{section}"] in source and catalog(lang)[f"code.checked_{section}"] in source
        assert "bn_core" not in source and "lessons" not in source
        compile(source, f"{section}.py", "exec")


# ---- experiments: every run of a (small) grid ------------------------------------------------------------------

EXPERIMENT_STATES = {
    "sweep": lambda: ex.SweepConfig(sizes=(2, 9), norms=tr.NORMS, epochs=1, seeds=(0, 3)),
    "renorm": lambda: ex.RenormConfig(settings=((1.5, 0.5), (3.0, 5.0)), batch_size=4, epochs=1, seeds=(1,)),
    "lr": lambda: ex.LrConfig(lrs=(0.1, 10.0), epochs=1, seeds=(0, 2), depth=2, hidden=32),  # 10: diverges
    "smoothness": lambda: SmoothnessConfig(epochs=1, seeds=(0, 4), hidden=16, depth=2, every=7),
}


@pytest.mark.slow
@pytest.mark.parametrize("section", EXPERIMENT_STATES)
def test_the_experiment_script_prints_each_runs_result(section, tmp_path, set_lang):
    import torch

    from lessons.experiments import code as experiment_code

    config = EXPERIMENT_STATES[section]()
    set_lang("en")
    printed = run_script(experiment_code.script(section, config), tmp_path, timeout=300)
    torch.set_num_threads(1)
    if section == "sweep":
        result = ex.batch_size_sweep(config)  # as the worker computes a section's "run it yourself"
        page = {
            f"{n} · B = {b}": [e for e in result.val_error[n][i]]
            for n in config.norms
            for i, b in enumerate(config.sizes)
        }
        page |= {f"batch · B = {b} · train mode": result.bn_train_mode_error[i] for i, b in enumerate(config.sizes)}
        assert printed == page
    elif section == "renorm":
        result = ex.renorm_trace(config)
        settings = zip(config.settings, result.errors, strict=True)
        page = {"batch": result.bn_error} | {f"renorm ({r:g}, {d:g})": errors for (r, d), errors in settings}
        assert printed == page
    elif section == "smoothness":
        result = smoothness(config)
        for v in config.variants:  # the section's table: medians per seed, and the accuracy (1 − (1 − a) there)
            medians = [[result.medians[name][v][i] for name in MEDIANS] for i in range(len(config.seeds))]
            assert printed[f"{v} · {EN['code.smooth_medians']}"] == medians
            np.testing.assert_allclose(
                printed[f"{v} · {EN['experiments.val_accuracy']}"], result.accuracy[v], atol=1e-15
            )
    else:
        result = ex.lr_robustness(config)
        page = {f"{n} · lr = {lr}": result.accuracy[n][i] for n in config.norms for i, lr in enumerate(config.lrs)}
        assert printed.keys() == page.keys()
        for label, accuracy in page.items():  # the page keeps 1 − (1 − a): a itself, or one rounding from it
            np.testing.assert_allclose(printed[label], accuracy, rtol=0, atol=1e-15, err_msg=label)
        assert any(0.0 in v for v in printed.values())  # a diverged run counts 0, as in the page's table


@pytest.mark.parametrize("lang", ["en", "ru", "zh"])
def test_the_experiment_scripts_speak_the_pages_language(lang, set_lang):
    from lessons.experiments import code as experiment_code

    set_lang(lang)
    for section, config in EXPERIMENT_STATES.items():
        source = experiment_code.script(section, config())
        assert (
            catalog(lang)[f"experiments.sec_{section}"] in source and catalog(lang)["code.experiment_checked"] in source
        )
        assert "bn_core" not in source and "lessons" not in source
        compile(source, f"{section}.py", "exec")


# ---- every share preset: its script prints what the page shows for it ----------------------------------------

PRESET_CASES = [(name, p) for name in ("neuron", "bn_lab", "inside") for p in lesson_state(name).PRESETS]


@pytest.mark.slow
@pytest.mark.parametrize(("lesson", "preset"), PRESET_CASES, ids=[f"{n}-{p.id}" for n, p in PRESET_CASES])
def test_every_share_presets_script_prints_the_pages_numbers(lesson, preset, tmp_path, set_lang):
    """(The train lesson's presets are its trained configurations: TRAIN_STATES holds every one.)"""
    from ui.share import values

    params = lesson_state(lesson).PARAMS
    v = {p.name: values(params, preset)[p.key] for p in params}  # as pressing the preset sets them
    if lesson == "neuron":
        state = ((v["w1"], v["w2"], v["w0"]), v["act"], v["place"] if v["bn"] else "off", v["mu"], v["sd"], v["n"])
        test_the_neuron_script_prints_the_numbers_under_the_charts((*state, v["seed"]), tmp_path, set_lang)
    elif lesson == "bn_lab":
        section = v.pop("section")
        set_lang("en")
        if section == "puzzle":
            test_the_keras_puzzles_script_prints_what_the_page_shows(
                v["px"], v["pm"], v["pk"], v["ptrain"], tmp_path, set_lang
            )
        else:
            check_section_script(Lab(**v), section, tmp_path)
    elif v["section"] == "noise":
        test_the_noise_script_prints_the_spread_and_the_variance_shift(
            v["nb"], v["x0"], v["nseed"], v["p"], v["dmu"], tmp_path, set_lang
        )
    else:
        assert v["section"] == "devices"
        test_the_devices_script_prints_the_pages_table(v["k"], v["b"], v["shift"], v["dseed"], tmp_path, set_lang)

"""The run player's own arithmetic (ui/player.js), run as-is under Node against Python's: which measure a
playhead shows, and how far a record still being computed may be played."""

import bisect
import shutil

import numpy as np
import pytest

from tests.app.helpers import ROOT, node_eval

NODE = shutil.which("node")


def run_js(tmp_path, calls: list) -> list:
    """Each call [function name, *arguments] evaluated by player.js's own exports."""
    return node_eval(tmp_path, ROOT / "ui" / "player.js", "data.map(([name, ...args]) => mod[name](...args))", calls)


@pytest.fixture
def node():
    if NODE is None:
        pytest.fail("Node is missing: scripts/install.sh --dev installs Debian's nodejs")


def test_the_measure_shown_at_a_playhead_is_the_last_at_or_before_it(node, tmp_path):
    rng = np.random.default_rng(0)
    calls, expected = [], []
    for _ in range(200):
        steps = sorted(set(rng.integers(0, 2000, rng.integers(0, 60)).tolist()))
        head = float(rng.uniform(-5, 2100))
        calls.append(["lastAtOrBefore", steps, head])
        expected.append(bisect.bisect_right(steps, head) - 1)
    for steps, head in (([0, 7, 14], 7), ([0, 7, 14], 6.99), ([], 3), ([0], 0)):  # on a measure, just before, none
        calls.append(["lastAtOrBefore", steps, head])
        expected.append(bisect.bisect_right(steps, head) - 1)
    assert run_js(tmp_path, calls) == expected


def test_a_record_being_computed_holds_the_playhead_at_its_last_measure(node, tmp_path):
    finished = {"state": "finished", "steps": [0, 10, 20]}
    computing = {"state": "running", "steps": [0, 7, 14]}
    queued = {"state": "queued", "steps": []}
    calls = [
        ["playable", [finished, finished], 1440],  # both computed: the whole run
        ["playable", [finished, computing], 1440],  # the slower of a pair holds both
        ["playable", [computing, queued], 1440],  # nothing computed yet of one: step 0
    ]
    assert run_js(tmp_path, calls) == [1440, 14, 0]

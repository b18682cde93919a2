import base64
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str | None, lang: str = "en", **params: str) -> AppTest:
    """Run app.py (the frame) on ``page`` (None: home) with URL query parameters, as a
    deep link does: the first run is that page's (home drops parameters it does not use)."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["lang"] = lang
    for name, value in params.items():
        at.query_params[name] = value
    if page:
        at.switch_page(page)
    return at.run()


def assert_clean(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def text_of(at: AppTest) -> str:
    """Everything the page says in markdown, captions, metrics and alerts."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    parts += [w.value for w in at.warning] + [i.value for i in at.info]
    return "\n".join(parts)


def plotly_array(value) -> np.ndarray:
    """A Plotly trace array as sent to the browser (plain list or base64 'bdata')."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"]))
    return np.asarray(value)


def poll(at: AppTest, until, timeout: float = 180.0) -> AppTest:
    """Rerun the page (as its fragment would) until ``until(at)``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        at.run()
        if until(at):
            return at
        time.sleep(0.3)
    raise AssertionError("the page never got there")


def node_eval(tmp_path: Path, source: Path, expression: str, data: object) -> object:
    """``expression`` (JavaScript; ``mod`` is ``source``'s exports, ``data`` the JSON of ``data``) evaluated
    under Node with the file as it is shipped: the browser's arithmetic without a browser."""
    node = shutil.which("node")
    assert node, "Node is missing: scripts/install.sh --dev installs Debian's nodejs"
    module = tmp_path / f"{source.stem}.mjs"  # the same file, named so that Node reads it as a module
    module.write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    inputs = tmp_path / "data.json"
    inputs.write_text(json.dumps(data), encoding="utf-8")
    script = (
        f"import * as mod from {json.dumps(module.as_uri())};\n"
        "import { readFileSync } from 'node:fs';\n"
        f"const data = JSON.parse(readFileSync({json.dumps(str(inputs))}, 'utf8'));\n"
        f"console.log(JSON.stringify({expression}));\n"
    )
    done = subprocess.run([node, "--input-type=module", "-e", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def lesson_state(name: str):
    """A lesson's state module (lessons/<name>/state.py): its PARAMS, PRESETS and QUESTIONS, imported without
    running its page."""
    import importlib

    return importlib.import_module(f"lessons.{name}.state")

"""bn_core must stay usable from a notebook: no Streamlit, no Plotly."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_bn_core_imports_neither_streamlit_nor_plotly():
    code = (
        "import sys, pkgutil, importlib, bn_core\n"
        "for m in pkgutil.iter_modules(bn_core.__path__): importlib.import_module('bn_core.' + m.name)\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('streamlit', 'plotly')]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_source_file_mentions_them():
    for path in (ROOT / "bn_core").rglob("*.py"):
        text = path.read_text()
        assert "import streamlit" not in text and "import plotly" not in text, path

"""bn_core must stay usable from a notebook: the maths only. No Streamlit, no Plotly, nothing of the server
(serve), the pages (ui, lessons), and no processes, sockets or downloads of its own."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("streamlit", "plotly", "serve", "ui", "lessons")
NOT_THE_ENGINES = ("multiprocessing", "socket", "urllib", "subprocess", "threading", "http")


@pytest.mark.slow
def test_bn_core_imports_nothing_of_the_server_or_the_pages():
    code = (
        "import sys, pkgutil, importlib, bn_core\n"
        "for m in pkgutil.iter_modules(bn_core.__path__): importlib.import_module('bn_core.' + m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {FORBIDDEN!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)


def test_no_source_file_imports_them_or_starts_processes_or_opens_sockets():
    for path in (ROOT / "bn_core").rglob("*.py"):
        lines = [line.strip() for line in path.read_text().splitlines()]
        imports = [line.split()[1].split(".")[0] for line in lines if line.startswith(("import ", "from "))]
        assert not set(imports) & set(FORBIDDEN + NOT_THE_ENGINES), (path, set(imports) & set(FORBIDDEN))

"""The Dockerfile lints clean and keeps the deployment promises."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def hadolint() -> str:
    local = Path(sys.executable).parent / "hadolint"
    found = str(local) if local.exists() else shutil.which("hadolint")
    assert found, "hadolint is missing: install requirements-dev.txt"
    return found


def test_dockerfile_lints_clean():
    result = subprocess.run([hadolint(), "--failure-threshold", "info", "Dockerfile"], cwd=ROOT, capture_output=True)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()


def test_dockerfile_promises():
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("#") and "FROM python:3.11-slim" in text
    assert "USER 10001" in text and "EXPOSE 8501" in text
    assert "HEALTHCHECK" in text and "/_stcore/health" in text
    assert "scripts/install.sh" in text  # the README's install step


def test_the_runtime_user_owns_no_code_and_the_image_runs_read_only():
    text = (ROOT / "Dockerfile").read_text()
    assert "chown" not in text.replace("chown -R 10001 /var/cache/bn-lab", "")  # only the MNIST directory is its
    assert "ENV " in text and "TMPDIR=/tmp" in text and "BN_LAB_MNIST_DIR=/var/cache/bn-lab/mnist" in text
    assert "compileall" in text  # nothing can write .pyc files at run time
    # the guide's `docker run` gives the image what it needs on a read-only root
    guide = (ROOT / "docs/deploy.md").read_text()
    (run,) = [block for block in guide.split("```") if "docker run" in block]
    for flag in ("--read-only", "--tmpfs /tmp:", "--shm-size=", "-v bn-lab-mnist:/var/cache/bn-lab"):
        assert flag in run, flag
    assert "-p 127.0.0.1:8501:8501" in run  # this machine only: a proxy answers the class (Host list, no metrics)


def test_dockerignore_keeps_the_image_to_what_it_runs():
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", "artifacts", "deploy"} <= set(ignored)


def test_torch_is_pinned_and_cpu_first():
    assert "torch==2.13.0\n" in (ROOT / "requirements.txt").read_text()
    assert "download.pytorch.org/whl/cpu" in (ROOT / "scripts/install.sh").read_text()


def test_ci_runs_the_readme_test_command():
    readme, ci = (ROOT / "README.md").read_text(), (ROOT / ".ci/run").read_text()
    assert "bash scripts/test.sh" in readme and "bash scripts/test.sh" in ci


def test_the_server_runs_one_script_thread_per_session():
    """`streamlit run` (and so the image) reads .streamlit/config.toml as it starts: with fast reruns, a click on
    another lesson while a page still ran started a second script thread beside the first, the two raced on the
    session's state and the new page showed Streamlit's error box (tests/browser/test_browser.py's
    test_a_lesson_is_as_the_student_left_it_after_visiting_another lost 3 of 6 tries on a busy machine)."""
    done = subprocess.run(
        [sys.executable, "-c", "from streamlit import config; print(config.get_option('runner.fastReruns'))"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.stdout.strip() == "False", done.stdout + done.stderr

"""`pip install clients/python` works in a fresh virtualenv, and what it installs talks to a
daemon."""

from __future__ import annotations

import shutil
import subprocess
import venv

from conftest import REPO


def test_pip_install_in_a_fresh_virtualenv(tmp_path, daemon) -> None:
    # A copy, as pip builds in the source tree (build/, *.egg-info) and the test leaves it clean.
    source = shutil.copytree(REPO / "clients" / "python", tmp_path / "source", ignore=shutil.ignore_patterns(".venv", "build", "*.egg-info", "__pycache__"))
    venv.EnvBuilder(with_pip=True).create(tmp_path / "venv")
    python = str(tmp_path / "venv" / "bin" / "python")
    subprocess.run(
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", str(source)],
        check=True,
        timeout=300,
    )
    probe = "import sys, mrl; print(mrl.Client(sys.argv[1]).health()['status'], mrl.__file__)"
    answer = subprocess.run([python, "-c", probe, daemon.socket], check=True, capture_output=True, text=True, timeout=60).stdout.split()
    assert answer[0] == "ok"
    assert answer[1].startswith(str(tmp_path / "venv")), "mrl was imported from elsewhere than the fresh virtualenv"

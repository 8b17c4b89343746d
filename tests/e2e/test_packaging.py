"""`pip install .` alone, without the dev extra, gives a paydesk whose every module imports
and whose `paydesk demo` runs: a package the tests use but paydesk does not declare is
missing there, as it is on a shop's server."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_demo import free_port, read_until

ROOT = Path(__file__).resolve().parents[2]

# Imports every module of the installed paydesk but Alembic's environment script, which
# runs only inside Alembic (`alembic.context` is set up by the migration command).
IMPORT_ALL = """
import pkgutil, paydesk
for module in pkgutil.walk_packages(paydesk.__path__, "paydesk."):
    if module.name != "paydesk.migrations.env":
        __import__(module.name)
print(paydesk.__file__)
"""


@pytest.fixture
def installed(tmp_path: Path) -> Path:
    """A new virtualenv holding paydesk as `pip install .` installs it; its `bin` folder.

    The project is copied first, since building in place leaves `build/` in the checkout.
    Versions are held to requirements.lock's, as `make install` holds them, without their
    hashes: pip's hash-checking mode cannot install a project from its folder."""
    source = tmp_path / "source"
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
    )
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    pins = re.findall(r"^[A-Za-z0-9._-]+==[^\s\\]+", (ROOT / "requirements.lock").read_text(), re.M)
    constraints = tmp_path / "constraints.txt"
    constraints.write_text("\n".join(pins) + "\n")

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install",
         "--quiet", "--no-compile", "--constraint", constraints, source],
        check=True,
    )  # fmt: skip
    return venv / "bin"


def _environment() -> dict[str, str]:
    """This process's environment without what would let the new virtualenv see another's
    packages."""
    hidden = {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"}
    return {
        **{name: value for name, value in os.environ.items() if name not in hidden},
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
    }


@pytest.mark.timeout(180)
def test_pip_install_gives_a_working_paydesk(installed: Path, tmp_path: Path) -> None:
    imported = subprocess.run(
        [installed / "python", "-I", "-c", IMPORT_ALL],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.startswith(str(tmp_path / "venv"))

    demo = subprocess.Popen(
        [installed / "paydesk", "demo", "--port", str(free_port()),
         "--sandbox-port", str(free_port())],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_environment(),
    )  # fmt: skip
    try:
        printed = read_until(demo, "Press Ctrl-C to stop.")
        assert "payment succeeded, order paid" in printed
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=30)
        assert demo.returncode == 0, rest
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.communicate()

"""The wheel holds the whole front end and a working ``backchannel`` command."""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import backchannel

ROOT = Path(__file__).resolve().parents[1]
STATIC = ROOT / "src" / "backchannel" / "web" / "static"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A wheel built with ``pip wheel`` from a clean copy of the source (an
    in-tree build/ directory could hold stale files)."""
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc"),
    )
    out = work / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), "."],
        cwd=source,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    [built] = out.glob("backchannel-*.whl")
    yield built


def test_wheel_contains_the_front_end(wheel: Path) -> None:
    assert wheel.name == f"backchannel-{backchannel.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
    assert "backchannel/web/static/index.html" in names
    shipped = {
        f"backchannel/web/static/{p.relative_to(STATIC).as_posix()}"
        for p in STATIC.rglob("*")
        if p.is_file() and p.suffix in {".html", ".js", ".css"}
    }
    assert any(n.endswith(".js") for n in shipped) and any(n.endswith(".css") for n in shipped)
    assert shipped <= names, sorted(shipped - names)


def test_wheel_installs_the_command(wheel: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        [entry_points] = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        parser = configparser.ConfigParser()
        parser.read_string(zf.read(entry_points).decode())
    assert parser["console_scripts"]["backchannel"] == "backchannel.cli:main"
    # the wheel itself on the path (a pure-Python wheel imports from the zip)
    env = {**os.environ, "PYTHONPATH": str(wheel)}
    code = "import backchannel, sys; from backchannel.cli import main; print(backchannel.__file__)"
    where = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path
    )
    assert where.returncode == 0, where.stderr
    assert str(wheel) in where.stdout
    version = subprocess.run(
        [sys.executable, "-m", "backchannel", "--version"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
    )
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"backchannel {backchannel.__version__}"

"""ruff (lint + format) and mypy are part of the suite, so CI holds every commit to them."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUFF = shutil.which("ruff", path=str(Path(sys.executable).parent))
MYPY = shutil.which("mypy", path=str(Path(sys.executable).parent))


@pytest.mark.skipif(RUFF is None, reason="ruff is installed by `make` into .venv")
@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff_finds_nothing(command):
    proc = subprocess.run([RUFF, *command, "functions", "tools", "tests"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.skipif(MYPY is None, reason="mypy is installed by `make` into .venv")
def test_mypy_finds_nothing():
    """The stage contracts (vpcfactory/contracts.py) checked against every reader; pyproject's [tool.mypy]
    says what is checked (the Lambda package, the tooling, the benchmark) and how."""
    proc = subprocess.run([MYPY], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr

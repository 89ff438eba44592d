"""`make run` serves on the port a newcomer asks for, and on 5000 by default."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def serve_command(*arguments: str) -> str:
    """The line `make run` would serve with (a dry run: nothing is installed or started)."""
    planned = subprocess.run(["make", "--dry-run", "--always-make", "run", *arguments], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True)
    [line] = [line for line in planned.stdout.splitlines() if "flask run" in line]
    return line


def test_make_run_serves_on_port_5000_by_default():
    assert serve_command().endswith("--host 127.0.0.1 --port 5000")


def test_make_run_takes_another_port_from_port():
    assert serve_command("PORT=5001").endswith("--host 127.0.0.1 --port 5001")

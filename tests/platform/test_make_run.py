"""`make run` serves on the port a newcomer asks for, and on 5000 by default, with a demo clinic
in the diary unless DEMO=0 asks for an empty one."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest

from intake.appointments.demo import DEMO_PRACTITIONERS

PROJECT_ROOT = Path(__file__).resolve().parents[2]
VENV = PROJECT_ROOT / ".venv"

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


def serve_with_make(tmp_path: Path, *arguments: str) -> list[str]:
    """Run `make run` on a new SQLite database until it serves, stop it, and return the practitioners
    its diary holds. Nothing is installed: the virtualenv the tests run in counts as up to date."""
    database = tmp_path / "clinic.sqlite3"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {**os.environ, "DATABASE_URL": f"sqlite:///{database}", "SECRET_KEY": "make-run-test",
                   "MAIL_FILE_DIR": str(tmp_path / "mail"), "PORT": str(port)}
    environment.pop("DEMO", None)
    server = subprocess.Popen(["make", f"--old-file={VENV}/.installed", "run", *arguments], cwd=PROJECT_ROOT, env=environment,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while not serving(port):
            assert server.poll() is None, server.stdout.read().decode()
            assert time.monotonic() < deadline, "make run did not start serving within a minute"
            time.sleep(0.2)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        server.stdout.close()
    with closing(sqlite3.connect(database)) as connection:
        return [name for (name,) in connection.execute("SELECT name FROM practitioners ORDER BY name")]


def serving(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


needs_the_virtualenv = pytest.mark.skipif(not (VENV / ".installed").exists(), reason="make run's virtualenv is not installed here")


@needs_the_virtualenv
def test_make_run_serves_a_demo_clinic_with_practitioners(tmp_path):
    assert serve_with_make(tmp_path) == sorted(DEMO_PRACTITIONERS)


@needs_the_virtualenv
def test_make_run_with_demo_0_starts_with_an_empty_diary(tmp_path):
    assert serve_with_make(tmp_path, "DEMO=0") == []

"""gunicorn with the production settings (gunicorn.conf.py), served on 127.0.0.1 for a test."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.mail_server import free_port

PROJECT = Path(__file__).resolve().parents[2]


@contextmanager
def gunicorn_serving(database_url: str, log_file: Path, **settings: str) -> Iterator[int]:
    """Serve wsgi:app with one worker on a free port, writing gunicorn's output to `log_file`;
    yield the port, and stop the server afterwards."""
    port = free_port()
    environment = {**os.environ, "DATABASE_URL": database_url, "WEB_CONCURRENCY": "1", **settings}
    with log_file.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{port}", "wsgi:app"],
            cwd=PROJECT, env=environment, stdout=output, stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_listening(port, server)
            yield port
        finally:
            server.terminate()
            server.wait(timeout=20)


def _wait_until_listening(port: int, process: subprocess.Popen, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, "gunicorn exited"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not start")

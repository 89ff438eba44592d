"""A visitor cannot write lines of their own into the logs, nor terminal escapes.

A path asked for as /%0aforged would otherwise start a second, forged line (in gunicorn's access
log, which writes the decoded path, and in the app's own warnings, which name the path), and
/%1b[31m would colour the terminal of whoever reads the log. Every logged value has its control
characters written as escapes (intake.platform.logsafe).
"""

from __future__ import annotations

import logging
import socket
import threading

from flask.logging import default_handler

from intake.platform.logsafe import ControlCharactersEscaped, escape_controls
from tests.support.gunicorn import gunicorn_serving

FORGED = "/%0a127.0.0.1 [01/Jan/2000:09:00:00 +0000] \"GET /staff/audit HTTP/1.1\" 200 1 1ms"
COLOURED = "/%1b[31mred%1b[0m"
SEPARATED = "/%e2%80%a8forged"


def send(port: int, raw: bytes) -> bytes:
    """One raw HTTP request, as an attacker's tool would send it, and the answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(raw)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def attacks(port: int) -> None:
    for path in (FORGED.replace(" ", "%20").replace('"', "%22"), COLOURED, SEPARATED):
        assert send(port, f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()).startswith(b"HTTP/1.")


def assert_no_forged_lines(logged: str) -> None:
    lines = logged.splitlines()
    assert not [line for line in lines if line.startswith(("127.0.0.1 [01/Jan/2000", "forged", "red"))], logged
    assert "\x1b" not in logged and "\u2028" not in logged, logged


def test_escaping_writes_control_characters_as_escapes_and_keeps_other_text():
    assert escape_controls("/a\nb\r\x1b[31m\x00\x7f\u2028\\ é") == "/a\\nb\\r\\x1b[31m\\x00\\x7f\\u2028\\\\ é"
    record = logging.LogRecord("intake", logging.WARNING, __file__, 1, "Refused %s", ("/x\nforged",), None)
    assert ControlCharactersEscaped().filter(record) and record.getMessage() == "Refused /x\\nforged"


def test_the_apps_own_log_lines_name_a_path_on_one_line(make_app):
    """The app's warnings and errors name the path asked for (decoded, so it can hold a new line)."""
    make_app()
    record = logging.LogRecord("intake", logging.WARNING, __file__, 1, "Form post to %s refused", ("/book/x\nforged",), None)
    assert all(check.filter(record) for check in default_handler.filters)
    assert default_handler.format(record).endswith(": Form post to /book/x\\nforged refused")


def test_gunicorn_with_our_settings_writes_no_forged_line_and_no_escape_code(tmp_path, database_url, make_app):
    make_app()  # the database, migrated
    log_file = tmp_path / "gunicorn.log"
    with gunicorn_serving(database_url, log_file, SECRET_KEY="log-injection-test", MAIL_FILE_DIR=str(tmp_path / "mail")) as port:
        attacks(port)
    logged = log_file.read_text()
    assert '"GET /\\x1b[31mred\\x1b[0m HTTP/1.0" 404' in logged, logged  # the access line, escaped
    assert '"GET /\\n127.0.0.1 [01/Jan/2000' in logged, logged
    assert_no_forged_lines(logged)


def test_the_development_server_writes_no_forged_line_and_no_escape_code(make_app, caplog):
    from werkzeug.serving import make_server

    caplog.set_level(logging.INFO)
    server = make_server("127.0.0.1", 0, make_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        attacks(server.server_port)
        # Raw bytes in the request line reach the development server's log undecoded.
        send(server.server_port, b"GET /\x1b[31mraw HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
    finally:
        server.shutdown()
    access = "\n".join(record.getMessage() for record in caplog.records if record.name == "werkzeug")
    assert access and "\\x1b[31mraw" in access
    assert_no_forged_lines(access)


def test_the_development_servers_own_colours_are_dropped_not_escaped():
    """Its start-up lines are werkzeug's own words: shown plain, not as "\\x1b[33m..." (make run)."""
    from intake.platform.logsafe import WithoutQueryStrings

    record = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "\x1b[33mPress CTRL+C to quit\x1b[0m", (), None)
    assert WithoutQueryStrings().filter(record) and record.getMessage() == "Press CTRL+C to quit"
    visitor = logging.LogRecord("werkzeug", logging.INFO, __file__, 1, "%s", ("GET /\x1b[31mraw",), None)
    assert WithoutQueryStrings().filter(visitor) and visitor.getMessage() == "GET /\\x1b[31mraw"

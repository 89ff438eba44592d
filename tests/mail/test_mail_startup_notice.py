"""With no mail server, starting the app says where the emails are written."""

from __future__ import annotations

import logging


def test_with_no_mail_server_start_up_says_where_emails_are_written(make_app, tmp_path, caplog):
    folder = tmp_path / "outgoing-mail"
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(folder))
    notices = [record.getMessage() for record in caplog.records if record.name == "intake.mail"]
    assert notices == [f"No MAIL_SERVER or MAIL_PROVIDER is set: emails are written as .eml files to {folder.resolve()}"]


def test_with_a_mail_server_start_up_says_nothing_about_files(make_app, caplog):
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        make_app(MAIL_SERVER="smtp.clinic.example")
    assert [record for record in caplog.records if record.name == "intake.mail"] == []

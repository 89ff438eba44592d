"""With no mail server, starting the app says where the emails are written."""

from __future__ import annotations

import logging


def test_with_no_mail_server_start_up_says_where_emails_are_written(make_app, tmp_path, caplog):
    folder = tmp_path / "outgoing-mail"
    make_app()  # the first app of a process also builds the schema template's app, which says the same of its folder
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        make_app(MAIL_SERVER="", MAIL_FILE_DIR=str(folder))
    notices = [record.getMessage() for record in caplog.records if record.name == "intake.mail"]
    assert notices == [f"No MAIL_SERVER or MAIL_PROVIDER is set: emails are not sent to anyone: they are written as .eml files to {folder.resolve()}"]


def test_with_a_mail_provider_start_up_says_where_emails_go(make_app, caplog):
    make_app()
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="intake.mail"):
        make_app(MAIL_PROVIDER="resend", RESEND_API_KEY="re_clinic", RESEND_BASE_URL="https://api.resend.com")
    notices = [record.getMessage() for record in caplog.records if record.name == "intake.mail"]
    assert notices == ["MAIL_PROVIDER is resend: emails are sent through Resend at https://api.resend.com"]


def test_with_a_mail_server_start_up_says_nothing_about_files(make_app, caplog):
    make_app()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="intake.mail"):
        make_app(MAIL_SERVER="smtp.clinic.example")
    assert [record for record in caplog.records if record.name == "intake.mail"] == []

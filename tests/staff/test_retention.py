"""The retention purge: requests never booked are anonymised after RETENTION_MONTHS, sent emails
lose their bodies after MESSAGE_BODY_RETENTION_DAYS, expired drafts go, and the audit trail is
never touched; a dry run counts the same and changes nothing; batches commit one by one, so a
purge stopped part-way finishes when run again, and a second run does nothing more."""

from __future__ import annotations

from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import select, update

from intake import create_app
from intake.journey.models import Draft
from intake.mail.models import OutboxMessage
from intake.platform.config import SettingError
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from intake.staff import retention
from tests.factories import book_appointment, new_practitioner, new_request, sign_in, update_request
from tests.support.back_office import cli, request_id, request_value

NOW = (utcnow() + relativedelta(months=25)).replace(microsecond=0)


@pytest.fixture
def aged(app, make_staff):
    """Seen from NOW (25 months on): a request never booked, with a note and emails waiting; one
    booked; one booked then cancelled; one never booked but changed a month ago; emails sent 40
    and 5 days before; an expired draft and a live one."""
    reception = make_staff("reception")
    new_practitioner(app)
    stale = new_request(app, first="Stella", email="stella@example.com")
    booked = new_request(app, first="Boris", email="boris@example.com")
    cancelled = new_request(app, first="Cara", email="cara@example.com")
    recent = new_request(app, first="Rita", email="rita@example.com")
    book_appointment(app, booked, reception)
    desk = sign_in(app, reception)
    cancel = desk.post(f"/staff/requests/{cancelled}/appointments/{book_appointment(app, cancelled, reception)}/cancel",
                       {"reason": "Rang to cancel", "then": "cancelled", "sequence": "0"}, form_path=f"/staff/requests/{cancelled}")
    assert cancel.status_code == 303
    desk.post(f"/staff/requests/{stale}/notes", {"body": "Stella rang back"}, form_path=f"/staff/requests/{stale}")
    update_request(app, recent, updated_at=NOW - relativedelta(months=1))
    with app.app_context():
        for reference, days in ((booked, 40), (recent, 5)):
            db.session.execute(update(OutboxMessage).where(
                OutboxMessage.request_id == request_value(app, reference, "id"), OutboxMessage.kind == "clinic_new_request",
            ).values(status="sent", sent_at=NOW - timedelta(days=days)))
        db.session.add_all([Draft(id="expired", answers={"about-you": {"first_name": "Ed"}}, expires_at=NOW - timedelta(minutes=1)),
                            Draft(id="live", answers={}, expires_at=NOW + timedelta(hours=1))])
        db.session.commit()
    return {"stale": stale, "booked": booked, "cancelled": cancelled, "recent": recent}


def everything(app) -> dict[str, list]:
    """Every row of every table, to compare before and after."""
    with app.app_context():
        return {table.name: sorted(map(repr, db.session.execute(select(table)).all())) for table in db.metadata.sorted_tables}


def purge(app, *args: str):
    return cli(app, "retention", "purge", "--now", NOW.isoformat(), *args)


def erased_because(app, reference: str) -> str | None:
    return request_value(app, reference, "erased_because")


def test_only_requests_never_booked_and_unchanged_for_the_retention_period_are_anonymised(app, aged):
    result = purge(app)
    assert result.exit_code == 0, result.output
    assert [erased_because(app, aged[name]) for name in ("stale", "booked", "cancelled", "recent")] == ["retention", None, None, None]
    assert request_value(app, aged["stale"], "first_name") == "" and request_value(app, aged["stale"], "status") == "new"
    with app.app_context():
        stale_id = request_id(app, aged["stale"])
        assert db.session.execute(select(OutboxMessage).where(OutboxMessage.request_id == stale_id)).all() == []  # queued: dropped


def test_sent_emails_lose_their_bodies_after_the_set_days_and_keep_the_record_that_they_went(app, aged):
    purge(app)
    with app.app_context():
        sent = {row.request_id: row for row in db.session.execute(select(OutboxMessage).where(OutboxMessage.status == "sent")).scalars()}
    old, new = sent[request_id(app, aged["booked"])], sent[request_id(app, aged["recent"])]
    assert (old.text_body, old.html_body, old.body_removed_at) == ("", "", NOW) and old.recipient and old.subject
    assert new.text_body and new.body_removed_at is None


def test_expired_drafts_are_removed_and_live_ones_kept(app, aged):
    purge(app)
    with app.app_context():
        assert db.session.execute(select(Draft.id)).scalars().all() == ["live"]


def test_the_audit_trail_is_never_touched(app, aged):
    before = everything(app)["audit_events"]
    purge(app)
    assert everything(app)["audit_events"] == before


def test_a_dry_run_prints_the_same_counts_and_changes_nothing(app, aged):
    before = everything(app)
    dry = purge(app, "--dry-run")
    assert dry.exit_code == 0 and "dry run: nothing was changed" in dry.output and everything(app) == before
    real = purge(app)
    counts = [line for line in real.output.splitlines() if line.startswith("  ")]
    assert counts == [line for line in dry.output.splitlines() if line.startswith("  ")]
    assert counts == ["  requests anonymised: 1", "  notes erased: 1", "  queued emails dropped: 2", "  email bodies removed: 1",
                      "  expired drafts removed: 1"]


def test_running_again_changes_nothing_more(app, aged):
    purge(app)
    after_first = everything(app)
    again = purge(app)
    assert all(line.endswith(": 0") for line in again.output.splitlines() if line.startswith("  "))
    assert everything(app) == after_first


def test_each_batch_is_committed_so_a_purge_stopped_part_way_finishes_when_run_again(app, monkeypatch):
    references = [new_request(app, first=name, email=f"{name.lower()}@example.com") for name in ("Ann", "Bea", "Cat")]
    calls = []
    real_anonymise = retention.anonymise

    def stopped_on_the_second(stored, now, because):
        calls.append(stored.reference)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the operator pressed Ctrl-C, or the machine went down
        return real_anonymise(stored, now, because)

    monkeypatch.setattr(retention, "anonymise", stopped_on_the_second)
    with app.app_context(), pytest.raises(KeyboardInterrupt):
        retention.purge(NOW, retention.Policy(), batch_size=1)
    assert [erased_because(app, reference) for reference in references] == ["retention", None, None]
    monkeypatch.setattr(retention, "anonymise", real_anonymise)
    with app.app_context():
        counts = retention.purge(NOW, retention.Policy(), batch_size=1)
    assert counts.requests_anonymised == 2 and all(erased_because(app, reference) == "retention" for reference in references)


def test_the_retention_period_is_counted_from_the_last_change(app):
    reference = new_request(app)
    changed = request_value(app, reference, "updated_at")
    with app.app_context():
        kept = retention.purge(changed + relativedelta(months=24) - timedelta(minutes=1), retention.Policy(24, 30))
        gone = retention.purge(changed + relativedelta(months=24) + timedelta(minutes=1), retention.Policy(24, 30))
    assert (kept.requests_anonymised, gone.requests_anonymised) == (0, 1)


def test_a_request_anonymised_by_the_purge_says_so_on_its_page(app, aged, staff_client):
    purge(app)
    page = staff_client("admin").client.get(f"/staff/requests/{aged['stale']}").get_data(as_text=True)
    assert "Erased request" in page and "only for a set time" in page and "Stella" not in page


def test_the_settings_come_from_the_environment(make_app, monkeypatch, aged):
    monkeypatch.setenv("RETENTION_MONTHS", "36")
    monkeypatch.setenv("MESSAGE_BODY_RETENTION_DAYS", "7")
    app = make_app()
    assert (app.config["RETENTION_MONTHS"], app.config["MESSAGE_BODY_RETENTION_DAYS"]) == (36, 7)
    assert "unchanged for 36 months, email bodies sent over 7 days ago" in purge(app, "--dry-run").output


@pytest.mark.parametrize("name", ["RETENTION_MONTHS", "MESSAGE_BODY_RETENTION_DAYS"])
@pytest.mark.parametrize("value", ["0", "-3", "twelve", "1.5", "99999999", "²"])
def test_a_bad_setting_stops_the_app_with_a_clear_message(monkeypatch, tmp_path, name, value):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=f"{name} must be a whole number of (months|days) from 1 to"):
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "x", "INSTANCE_PATH": tmp_path})


def test_the_purge_and_erasure_services_use_no_flask_request_globals():
    import ast
    import inspect

    from intake.staff import rights

    for module in (retention, rights):
        imported = {alias.name for node in ast.walk(ast.parse(inspect.getsource(module)))
                    if isinstance(node, ast.ImportFrom) and node.module == "flask" for alias in node.names}
        assert imported == set(), module.__name__

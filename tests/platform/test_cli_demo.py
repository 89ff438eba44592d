"""`flask clinic demo`: a demo clinic on a diary with no practitioners, with real free times, once."""

from __future__ import annotations

from datetime import time, timedelta

from sqlalchemy import func, select

from intake.appointments import diary
from intake.appointments.demo import DEMO_PRACTITIONERS
from intake.appointments.models import AppointmentType, BookingRules, Practitioner, WorkingHours
from intake.clinic.sites import Site
from intake.platform.extensions import db
from intake.platform.timeutil import utcnow
from tests.factories import new_practitioner
from tests.support.database import reset_database


def demo(app):
    return app.test_cli_runner().invoke(args=["clinic", "demo"])


def diary_rows(app) -> dict[str, int]:
    with app.app_context():
        return {model.__name__: db.session.execute(select(func.count()).select_from(model)).scalar_one()
                for model in (Practitioner, WorkingHours, BookingRules, AppointmentType)}


def test_the_demo_clinic_has_practitioners_at_every_site_with_free_times_to_book(app):
    result = demo(app)
    assert result.exit_code == 0, result.output
    assert "added 4 practitioners" in result.output
    with app.app_context():
        people = diary.practitioners()
        assert sorted(person.name for person in people) == sorted(DEMO_PRACTITIONERS)
        assert {code for person in people for code in person.site_codes} == {"canal-side", "riverside", "west-green"}
        weekdays = set(db.session.execute(select(WorkingHours.weekday)).scalars())
        assert weekdays == {0, 1, 2, 3, 4, 5}  # Monday to Saturday
        evenings = db.session.execute(select(func.count()).select_from(WorkingHours).where(WorkingHours.ends >= time(19))).scalar_one()
        assert evenings > 0
        now = utcnow()
        for site in ("canal-side", "riverside", "west-green"):
            assert diary.free_times(now, default_minutes=45, site_code=site, last_day=now.date() + timedelta(days=14)), site
        rules, kind = diary.booking_rules(), diary.assessment_type(45)
        assert (rules.id, rules.notice_working_days, rules.horizon_days, rules.step_minutes) == (1, 1, 42, 15)
        assert (kind.id is not None, kind.minutes, kind.buffer_minutes) == (True, 45, 15)


def test_running_it_again_adds_nothing_and_says_so(app):
    demo(app)
    before = diary_rows(app)
    result = demo(app)
    assert result.exit_code == 0
    assert "already has practitioners, so nothing was added" in result.output
    assert diary_rows(app) == before


def test_a_diary_with_a_practitioner_of_its_own_gets_no_demo(app):
    new_practitioner(app, "Real Person")
    result = demo(app)
    assert "nothing was added" in result.output
    assert diary_rows(app)["Practitioner"] == 1


def test_a_clinic_with_one_site_gets_every_demo_practitioner_there(make_app):
    app = make_app(CLINIC_SITES=[Site("harbour", "Harbour", "1 Quay Street, London E1 9ZZ")])
    assert demo(app).exit_code == 0
    with app.app_context():
        assert {code for person in diary.practitioners() for code in person.site_codes} == {"harbour"}
        assert set(db.session.execute(select(WorkingHours.site_code)).scalars()) == {"harbour"}


def test_on_an_unmigrated_database_it_says_to_migrate_first(make_app):
    app = make_app()
    with app.app_context():
        reset_database()
        db.engine.dispose()
    result = demo(app)
    assert result.exit_code != 0
    assert "run `flask db upgrade` (or `make run`) first" in result.output and "Traceback" not in result.output

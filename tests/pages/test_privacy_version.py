"""The privacy notice carries a version, and each request keeps the version the patient agreed to."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from intake.journey.models import AssessmentRequest
from intake.pages import privacy
from intake.platform.extensions import db
from tests.factories import Patient, new_practitioner, sign_in


def stored_versions(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.execute(select(AssessmentRequest.privacy_notice_version).order_by(AssessmentRequest.id)).scalars())


def test_the_notice_wording_matches_its_version():
    """Changing templates/pages/privacy.html means a new version: raise PRIVACY_NOTICE's number,
    date it, and record the template's new SHA-256 (intake.pages.privacy.template_fingerprint())."""
    assert privacy.template_fingerprint() == privacy.PRIVACY_NOTICE.sha256, "the privacy notice changed: give it a new version"


def test_the_notice_shows_its_version_and_date(client):
    page = client.get("/privacy").get_data(as_text=True)
    assert f"Version {privacy.PRIVACY_NOTICE.number}, {privacy.PRIVACY_NOTICE.dated:%-d %B %Y}" in page


def test_a_request_keeps_the_version_agreed_to_on_the_check_page(app, monkeypatch):
    Patient(app.test_client()).complete()  # no free times: consent and send on the check page
    assert stored_versions(app) == [privacy.PRIVACY_NOTICE.number]
    monkeypatch.setattr(privacy, "PRIVACY_NOTICE", privacy.NoticeVersion("7", date(2027, 1, 1), ""))
    monkeypatch.setattr("intake.journey.services.PRIVACY_NOTICE", privacy.PRIVACY_NOTICE)
    Patient(app.test_client()).complete()
    assert stored_versions(app) == ["1", "7"]


def test_a_patient_who_chose_a_time_keeps_the_version_they_agreed_to_before_it_changed(app, monkeypatch):
    """Consent is given on the check page; the request is stored after the time is chosen. A new
    notice published in between is not what they agreed to."""
    new_practitioner(app, "Clara Clinician")
    patient = Patient(app.test_client())
    patient.answer_all()
    assert patient.submit().headers["Location"].endswith("/book/time")
    monkeypatch.setattr("intake.journey.services.PRIVACY_NOTICE", privacy.NoticeVersion("8", date(2027, 2, 1), ""))
    patient.phone_me()
    assert stored_versions(app) == [privacy.PRIVACY_NOTICE.number]


def test_reception_sees_which_version_was_agreed_to(app, make_staff):
    Patient(app.test_client()).complete()
    staff = sign_in(app, make_staff("reception"))
    with app.app_context():
        reference = db.session.execute(select(AssessmentRequest.reference)).scalar_one()
    page = staff.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert f"Version {privacy.PRIVACY_NOTICE.number}" in page

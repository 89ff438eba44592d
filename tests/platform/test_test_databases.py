"""Every test starts on an empty database, whatever the test before it left there: the schema is
built once per worker and copied (SQLite) or emptied (PostgreSQL) for each test (tests/support/database.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from intake.journey.models import REQUEST_STATUSES, StatusCount
from intake.appointments.models import DiaryVersion
from intake.platform.extensions import db
from intake.staff import accounts as staff_accounts, services as staff_services


@pytest.mark.parametrize("turn", ["first", "second"])
def test_each_test_starts_with_empty_tables_and_ids_from_one(app, patient, make_staff, turn):
    """Both turns leave a request and an account behind; neither sees the other's."""
    with app.app_context():
        for table in db.metadata.sorted_tables:
            rows = db.session.execute(select(func.count()).select_from(table)).scalar_one()
            expected = {StatusCount.__table__: len(REQUEST_STATUSES), DiaryVersion.__table__: 1}.get(table, 0)
            assert rows == expected, table.name
        assert set(db.session.execute(select(StatusCount.requests)).scalars()) == {0}
    reference = patient.complete()
    email = make_staff("reception")
    with app.app_context():
        assert staff_services.find_request(reference).id == 1
        assert staff_accounts.find_staff(email).id == 1

"""Property-based tests of the query strings the back office's lists read: the request list (its
filters, search, order and page), its CSV export, the audit log and the outbox page.

Whatever the query string (junk, control characters, huge numbers, days at the edges of the
calendar such as 9999-12-31 or 0001-01-01, repeated or unknown keys), no page fails with a server
error or shows a traceback. A received day that is not a real day of 2000 to 2099 gets 400 with a
message next to its box and the other filters kept; anything else gets the ordinary page. One app
per test, reused for every example; FUZZ_EXAMPLES=1000 in the environment searches longer.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from intake.appointments.diary_view import parse_day
from intake.journey.models import REQUEST_STATUSES
from intake.staff.models import AuditEvent
from tests.factories import Patient
from tests.support.fuzz import FUZZ, SITES, added, assert_no_server_error, cleaned, hostile, newest, state

QUERY_KEYS = {
    "/staff/": ["status", "site", "urgency", "from", "to", "q", "order", "match", "page"],
    "/staff/export.csv": ["status", "site", "urgency", "from", "to", "q", "order", "match"],
    "/staff/audit": ["page", "reference"],
    "/staff/outbox": ["page", "status"],
}
EDGE_DAYS = ["9999-12-31", "0001-01-01", "10000-01-01", "1999-12-31", "2100-01-01", "2099-12-31", "2000-01-01", "2024-02-30",
             "2024-02-29", " 2024-07-01 ", "20240701", "2024-7-1", "２０２４-０７-０１", "-2024-07-01", "+002024-07-01"]
QUERY_VALUES = st.one_of(
    hostile(100, ["new", "booked", "riverside", "urgent", "newest", "2024-07-01", "-1", "0", "10001", "9" * 30, "-" + "9" * 30, *EDGE_DAYS]),
    st.integers().map(str),
    st.dates().map(date.isoformat),
)
DATE_KEYS = ("from", "to")


def pairs_of(query: list) -> list[tuple[str, str]]:
    return [(key, item) for key, value in query for item in (value if isinstance(value, list) else [value])]


def bad_days(pairs: list[tuple[str, str]]) -> list[str]:
    """The received-day boxes whose (first) value is given but not a real day of 2000 to 2099."""
    values = {}
    for key, value in pairs:
        values.setdefault(key, value)  # a repeated key reads its first value
    return [key for key in DATE_KEYS if cleaned(values.get(key)) and parse_day(cleaned(values[key])) is None]


@pytest.mark.parametrize("path", list(QUERY_KEYS))
def test_the_back_office_lists_answer_any_query_string(unlimited_app, staff_client, path):
    """Any filter, sort and page values, repeated or unknown: never a 5xx; a NUL anywhere gets 400;
    a bad received day gets 400 with its message (and no export); else the page (or CSV), nothing
    stored but one audit entry per export, holding only allow-listed filters."""
    app = unlimited_app
    Patient(app.test_client()).complete()
    admin = staff_client("admin")
    dated = "from" in QUERY_KEYS[path]

    @FUZZ
    @example(query=[("to", "9999-12-31")]).via("the day after 9999-12-31 was a 500")
    @example(query=[("from", "0001-01-01"), ("to", "9999-12-31"), ("status", "new")])
    @example(query=[("page", "9" * 400), ("from", "")])
    @given(query=st.lists(st.tuples(st.one_of(st.sampled_from(QUERY_KEYS[path]), st.text(max_size=10)), QUERY_VALUES), max_size=6))
    def check(query):
        pairs = pairs_of(query)
        before = state(app)
        response = admin.client.get(path, query_string=pairs)
        body = assert_no_server_error(response)
        after = state(app)
        if any("\x00" in key + value for key, value in pairs):
            # No link of ours holds NUL, and PostgreSQL cannot compare text with it: refused first.
            assert response.status_code == 400 and after == before
            return
        bad = bad_days(pairs) if dated else []
        if bad:
            assert response.status_code == 400 and after == before, body[:500]
            assert "There is a problem" in body and all(f'id="{key}-error"' in body for key in bad)
            assert "Enter a real date between 2000 and 2099" in body and "</html>" in body
            return
        assert response.status_code == 200, body[:500]
        if path.endswith(".csv"):
            assert body.startswith("Reference,") and added(before, after) == {"AuditEvent": 1}
            filters = newest(app, AuditEvent).detail["filters"]
            assert set(filters) <= {"status", "site", "urgency", "from", "to", "q", "order", "match"}
            # A search matched in part (asked for, or nothing matched whole) is recorded as such.
            assert filters.get("match", "part") == "part" and ("match" not in filters or "q" in filters)
            assert filters.get("status", "new") in REQUEST_STATUSES and filters.get("site", "riverside") in SITES
            assert filters.get("urgency", "routine") in ("routine", "urgent", "emergency")
            assert filters.get("order", "newest") == "newest" and len(filters.get("q", "")) <= 100
            assert all(parse_day(filters[key]) for key in DATE_KEYS if key in filters)
        else:
            assert after == before and "</html>" in body
            assert 'class="error-message"' not in body

    check()

"""The back office's request list: urgency order, filters, London dates, search and paging.

Read-only checks share one clinic of six requests per module and backend (the `clinic` fixture).
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select, text

from intake.journey.models import AssessmentRequest
from intake.platform.extensions import db
from intake.staff.listing import LIST_COLUMNS, RequestFilters, filtered_requests
from tests.factories import NEWEST_ORDER, URGENCY_ORDER, UTC, listed, new_request, new_staff, sign_in, update_request
from tests.support.back_office import EXPORT_HEADER, csv_rows, request_value


# --- 1. the list --------------------------------------------------------------------------

def test_the_list_shows_emergency_then_urgent_then_routine_newest_first_within_each(clinic):
    """Flagged requests come first, so reception calls the most urgent patients back first."""
    assert clinic.listed() == clinic.refs_of(URGENCY_ORDER)
    assert clinic.listed("order=urgency") == clinic.refs_of(URGENCY_ORDER)


def test_newest_first_order_ignores_urgency(clinic):
    """order=newest lists purely by when the request arrived."""
    assert clinic.listed("order=newest") == clinic.refs_of(NEWEST_ORDER)


@pytest.mark.parametrize(("query", "letters"), [
    ("status=contacted", "DC"),
    ("status=declined", "E"),
    ("status=booked", ""),
    ("site=canal-side", "EB"),
    ("site=west-green", "FC"),
    ("urgency=urgent", "DC"),
    ("urgency=emergency", "FE"),
    ("urgency=routine", "BA"),
    ("status=new&urgency=emergency", "F"),
    ("status=new&site=riverside&order=newest", "A"),
], ids=lambda value: value if isinstance(value, str) and "=" in value else None)
def test_the_list_filters_by_status_site_and_urgency(clinic, query, letters):
    """Each filter narrows the list, and filters combine."""
    assert clinic.listed(query) == clinic.refs_of(letters)


@pytest.mark.parametrize(("query", "letters"), [
    ("from=2024-07-01&to=2024-07-01", "A"),      # 23:30 UTC on 30 June is 1 July in London
    ("from=2024-06-30&to=2024-06-30", ""),
    ("from=2024-07-02", "FDB"),                  # 23:30 UTC on 1 July is 2 July in London
    ("to=2024-06-30", "EC"),
    ("from=2024-06-10&to=2024-07-01", "CA"),
], ids=lambda value: value if isinstance(value, str) and "=" in value else None)
def test_the_date_range_uses_london_dates(clinic, query, letters):
    """'Received from/to' are days on the clinic's calendar (BST), not UTC days."""
    assert clinic.listed(query) == clinic.refs_of(letters)


def test_search_finds_a_reference_exactly_in_any_case(clinic):
    """Reception can read a reference out in lower case, with stray spaces."""
    reference = clinic.refs["D"]
    assert clinic.listed(f"q={reference}") == [reference]
    assert clinic.listed(f"q={reference.lower()}") == [reference]
    assert clinic.listed(f"q=+{reference.lower()}+") == [reference]


@pytest.mark.parametrize(("search", "letter"), [
    ("LOVEL", "A"), ("ada lov", "A"), ("hopp", "B"), ("Florence Night", "F"),
    ("navy.exam", "B"), ("@CRIMEA", "E"),
])
def test_search_finds_part_of_a_name_or_email(clinic, search, letter):
    """Part of the name (first, last or both) or of the email, whatever the case."""
    assert clinic.listed(f"q={search}") == [clinic.refs[letter]]


@pytest.mark.parametrize("typed", ["07400 123456", "07400123456", "+44 7400 123456", "+447400123456", "0740 012 3456"])
def test_search_finds_a_phone_number_however_it_is_typed(clinic, typed):
    """The number is stored as +447400123456; reception types it as the patient reads it out."""
    assert request_value(clinic.app, clinic.refs["A"], "phone") == "+447400123456"
    response = clinic.staff.client.get("/staff/", query_string={"q": typed})
    assert listed(response) == [clinic.refs["A"]]


def test_search_that_matches_nothing_says_so(clinic):
    """An empty result is stated, not shown as a blank table."""
    response = clinic.get("/staff/?q=Zebedee")
    assert listed(response) == []
    assert "No requests match these filters." in response.get_data(as_text=True)


def test_the_list_shows_how_many_requests_are_in_each_status(clinic):
    """Counts per status sit above the list and match what each status filter shows."""
    body = clinic.get("/staff/").get_data(as_text=True)
    counts = dict(re.findall(r'href="/staff/\?status=(\w+)"[^>]*>[^<]*<strong>(\d+)</strong>', body))
    assert counts == {"new": "3", "contacted": "2", "booked": "0", "attended": "0", "no_show": "0", "cancelled": "0", "declined": "1"}
    assert "6 requests" in body
    assert "2 requests" in clinic.get("/staff/?status=contacted").get_data(as_text=True)


@pytest.mark.parametrize("query", [
    "status=%3Cscript%3Ealert(1)%3C/script%3E",
    "order=DROP+TABLE+assessment_requests",
    "urgency=whenever&site=..%2F..%2Fetc&page=abc",
    "status=new'%20OR%201=1--&order=newest;DROP",
    "q=%25&page=-3",
    "page=-99999999999999999999999999999&from=&to=+",
])
def test_unknown_filter_values_are_ignored_safely(clinic, query):
    """Tampered query strings get the ordinary list (200), never an error or echoed markup."""
    response = clinic.get(f"/staff/?{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<script>alert(1)" not in body
    if not query.startswith("q="):
        assert listed(response) == clinic.refs_of(URGENCY_ORDER)
    assert csv_rows(clinic.get(f"/staff/export.csv?{query}"))[0] == EXPORT_HEADER
    with clinic.app.app_context():  # the table is still there
        assert db.session.execute(select(func.count()).select_from(AssessmentRequest)).scalar_one() == 6


@pytest.mark.parametrize("query", [
    "to=9999-12-31", "from=9999-12-31", "from=0001-01-01", "to=0001-01-01", "from=10000-01-01", "to=2100-01-01",
    "from=yesterday", "to=2024-13-45", "to=2024-02-30", "from=20240701", "from=" + "9" * 30, "to=%3Cb%3E",
])
def test_a_bad_received_day_is_explained_next_to_its_box_and_the_other_filters_kept(clinic, query):
    """A day that is not a real date of 2000 to 2099 (a day after 9999-12-31 was a server error)
    gets 400 and a message next to its box; the list and the export keep the other filters."""
    box = query.split("=")[0]
    response = clinic.get(f"/staff/?status=contacted&{query}")
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "There is a problem" in body and f'id="{box}-error"' in body
    assert "Enter a real date between 2000 and 2099" in body and "<b>" not in body
    assert '<option value="contacted" selected>' in body
    assert [ref for ref in clinic.refs_of("ABCDEF") if f"/staff/requests/{ref}" in body] == clinic.refs_of("CD")

    export = clinic.get(f"/staff/export.csv?status=contacted&{query}")
    assert export.status_code == 400 and export.mimetype == "text/html"
    assert f'id="{box}-error"' in export.get_data(as_text=True)


def test_the_list_is_paged_on_the_server_with_links_that_keep_the_filters(make_app):
    """With 2 per page, 5 requests make 3 pages; previous/next links keep the filters and order."""
    app = make_app(STAFF_PAGE_SIZE=2)
    names = ["Ada", "Grace", "Alan", "Mary", "Joan"]
    refs = [new_request(app, first=name, email=f"{name.lower()}@example.com") for name in names]
    for hours, reference in enumerate(refs):
        update_request(app, reference, created_at=datetime(2024, 5, 1, 9, tzinfo=UTC) + timedelta(hours=hours))
    staff = sign_in(app, new_staff(app, "reception"))
    wanted = {"status": ["new"], "site": ["riverside"], "order": ["newest"]}

    def link(body: str, rel: str) -> str | None:
        match = re.search(rf'<a href="([^"]+)" rel="{rel}">', body)
        return html.unescape(match.group(1)) if match else None

    seen, path = [], "/staff/?status=new&site=riverside&order=newest"
    for page in (1, 2, 3):
        response = staff.client.get(path)
        body = response.get_data(as_text=True)
        seen.append(listed(response))
        assert f"page {page} of 3" in body
        previous, following = link(body, "prev"), link(body, "next")
        assert (previous is None) == (page == 1)
        assert (following is None) == (page == 3)
        for target, target_page in ((previous, page - 1), (following, page + 1)):
            if target:
                assert parse_qs(urlsplit(target).query) == {**wanted, "page": [str(target_page)]}
        path = following
    newest_first = list(reversed(refs))
    assert seen == [newest_first[0:2], newest_first[2:4], newest_first[4:]]


@pytest.mark.parametrize(("search", "indexes"), [
    ("seacole", ["name_trgm", "email_trgm"]),
    ("navy.exam", ["name_trgm", "email_trgm"]),
    ("patient4567@", ["name_trgm", "email_trgm"]),  # digits in an email are not a phone number
    ("07400 123456", ["name_trgm", "email_trgm", "phone"]),  # a whole number: looked up as stored
    ("123456", ["name_trgm", "email_trgm", "phone_trgm"]),  # part of one: found anywhere in it
])
def test_search_by_part_of_a_name_email_or_phone_reads_an_index_on_postgresql(app, search, indexes):
    """At a million requests a scan of every row takes over a second: PostgreSQL must find the
    matches through the trigram indexes (pg_trgm, migration 0022) or, for a whole phone number,
    the phone's own index, for the count and for the page. SQLite scans (the documented fallback
    for one-machine trials), so there is nothing to check there."""
    query = filtered_requests(RequestFilters(search=search))
    statements = {
        "count": select(func.count()).select_from(query.order_by(None).subquery()),
        "page": query.with_only_columns(*LIST_COLUMNS).limit(25),
    }
    with app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("SQLite scans: see benchmarks/README.md")
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_indexscan = off"))  # not the ordered index, filtered row by row
        for purpose, statement in statements.items():
            sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
            plan = " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))
            assert "Seq Scan" not in plan, (purpose, plan)
            used = sorted(set(re.findall(r"ix_assessment_requests_(name_trgm|email_trgm|phone_trgm|phone)\b", plan)))
            assert used == sorted(indexes), (purpose, plan)


def test_search_finds_the_last_digits_of_a_phone_number(clinic):
    """Part of a number (not a whole one) is found anywhere in the stored number."""
    assert clinic.listed("q=123456") == [clinic.refs["A"]]


def test_a_broad_filter_counts_up_to_a_limit_and_then_says_more(make_app, monkeypatch):
    """Counting every one of a million matches would take as long as reading them: past the limit
    the list says "more than", and still shows its pages."""
    app = make_app(STAFF_PAGE_SIZE=2)
    for name in ("Ada", "Grace", "Alan", "Mary", "Joan"):
        new_request(app, first=name, email=f"{name.lower()}@example.com")
    staff = sign_in(app, new_staff(app, "reception"))
    monkeypatch.setattr("intake.staff.listing.COUNT_LIMIT", 4)
    response = staff.client.get("/staff/?site=riverside")
    assert "More than 4 requests" in response.get_data(as_text=True) and len(listed(response)) == 2
    assert len(listed(staff.client.get("/staff/?site=riverside&page=2"))) == 2
    monkeypatch.setattr("intake.staff.listing.COUNT_LIMIT", 5)
    assert "5 requests, page 1 of 3" in staff.client.get("/staff/?site=riverside").get_data(as_text=True)

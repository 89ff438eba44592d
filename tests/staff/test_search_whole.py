"""The back office's search tries what was typed whole first (a reference, phone number, email
address, surname, or first name and surname), then anywhere in names, emails and phone numbers.

Whole matches are what reception usually wants ("Seacole" is Mrs Seacole, not Ms Seacole-Brown),
and each is an equality an index answers in the list's order, so a surname shared by a thousand
requests costs one page of index entries (benchmarks/staff_list.py --million).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text

from intake.platform.extensions import db
from intake.staff.listing import LIST_COLUMNS, COUNT_LIMIT, RequestFilters, filtered_requests, whole_search_kinds
from intake.journey.models import AssessmentRequest
from tests.factories import listed, new_request, new_staff, sign_in, update_request
from tests.support.back_office import csv_rows
from tests.support.database import BACKENDS, shared_app

# key: (first name, last name, email, status)
PATIENTS = {
    "mary": ("Mary", "Seacole", "mary@crimea.example", "new"),
    "ada": ("Ada", "Seacole", "Ada.Seacole@Example.com", "contacted"),
    "nada": ("Nada", "Seacole", "nada@example.com", "new"),
    "ann": ("Ann", "Seacole-Brown", "ann@example.com", "new"),
    "joann": ("Joann", "Brown", "joann@example.com", "new"),
}
SEACOLES = {"mary", "ada", "nada"}
SEACOLE_ANYWHERE = SEACOLES | {"ann"}


@dataclass
class Named:
    app: object
    refs: dict[str, str]
    staff: object

    def listed(self, **query) -> set[str]:
        return {self.key_of[reference] for reference in listed(self.staff.client.get("/staff/", query_string=query))}

    @property
    def key_of(self) -> dict[str, str]:
        return {reference: key for key, reference in self.refs.items()}


@pytest.fixture(scope="module", params=BACKENDS)
def named(request, tmp_path_factory):
    with shared_app(request.param, tmp_path_factory, name="search_whole") as app:
        refs = {}
        for key, (first, last, email, status) in PATIENTS.items():
            refs[key] = new_request(app, first=first, last=last, email=email)
            update_request(app, refs[key], status=status)
        yield Named(app, refs, sign_in(app, new_staff(app, "reception")))


def test_a_surname_finds_that_surname_and_offers_the_search_in_part(named):
    """"seacole" is the three Seacoles, not Ms Seacole-Brown; the page says how it matched and
    links to the search anywhere, which finds her too."""
    assert named.listed(q="seacole") == SEACOLES
    assert named.listed(q="  SEACOLE ") == SEACOLES
    body = named.staff.client.get("/staff/?q=seacole").get_data(as_text=True)
    assert "Showing requests whose surname is “seacole”." in body
    link = html.unescape(re.search(r'href="([^"]+)">Find “seacole” anywhere', body).group(1))
    assert "match=part" in link
    assert named.listed(q="seacole", match="part") == SEACOLE_ANYWHERE


def test_a_first_name_and_surname_find_that_person(named):
    assert named.listed(q="ada seacole") == {"ada"}
    assert named.listed(q="Ada   Seacole") == {"ada"}
    assert named.listed(q="seacole-brown") == {"ann"}


def test_a_whole_email_address_finds_that_address_in_any_case(named):
    """Not an address that merely contains it (joann@example.com holds ann@example.com)."""
    assert named.listed(q="ada.seacole@example.com") == {"ada"}
    assert named.listed(q="ann@example.com") == {"ann"}


def test_what_matches_nothing_whole_is_looked_for_in_part(named):
    body = named.staff.client.get("/staff/?q=seac").get_data(as_text=True)
    assert "anywhere in the name, email or phone number" in body
    assert named.listed(q="seac") == SEACOLE_ANYWHERE
    assert named.listed(q="mary seac") == {"mary"}
    assert named.listed(q="@example.com") == {"ada", "nada", "ann", "joann"}


def test_the_other_filters_choose_with_the_search(named):
    """A whole match must pass the other filters too; where none does, the search in part is used
    (Ada Seacole's request is not new, but "Nada Seacole" holds "ada seacole")."""
    assert named.listed(q="seacole", status="new") == {"mary", "nada"}
    assert named.listed(q="ada seacole", status="new") == {"nada"}


def test_pages_of_a_search_in_part_stay_in_part(named):
    """The link to the next page keeps looking in part, as reception chose."""
    filters = RequestFilters(search="seacole", match="part")
    assert filters.as_args()["match"] == "part"
    assert "match" not in RequestFilters(search="seacole", match="surname").as_args()
    assert "match" not in RequestFilters(match="part").as_args()


def test_the_export_holds_what_the_list_shows(named):
    rows = csv_rows(named.staff.client.get("/staff/export.csv?q=seacole"))
    assert {row[0] for row in rows[1:]} == {named.refs[key] for key in SEACOLES}
    rows = csv_rows(named.staff.client.get("/staff/export.csv?q=seacole&match=part"))
    assert {row[0] for row in rows[1:]} == {named.refs[key] for key in SEACOLE_ANYWHERE}


@pytest.mark.parametrize(("typed", "kinds"), [
    ("seacole", ["surname"]),
    ("Mary Seacole", ["name"]),
    ("O'Brien-Smith", ["surname"]),
    ("Zoë", ["surname"]),
    ("CAMPBELL", ["reference", "surname"]),  # eight letters references are made of: tried as one first
    ("ab2cd3ef", ["reference"]),
    ("mary@crimea.example", ["email"]),
    ("mary@crimea", []),
    ("07400 123456", ["phone"]),
    ("123456", []),
    ("seac%", []),
    ("", []),
])
def test_what_a_search_could_be_whole(typed, kinds):
    assert whole_search_kinds(typed) == kinds


@pytest.mark.parametrize(("search", "match", "index"), [
    ("seacole", "surname", "surname_rank"),
    ("mary seacole", "name", "name_rank"),
    ("mary@crimea.example", "email", "email_lower"),
])
def test_a_whole_search_reads_its_index_in_the_lists_order_on_postgresql(named, search, match, index):
    """The page reads its rows from the index in the list's order (no sort of every match), and the
    count reads that index alone, so neither grows with the requests stored."""
    query = filtered_requests(RequestFilters(search=search, match=match))
    counted = query.order_by(None).with_only_columns(AssessmentRequest.id).limit(COUNT_LIMIT + 1)
    with named.app.app_context(), db.engine.connect() as connection:
        if connection.dialect.name != "postgresql":
            pytest.skip("SQLite: the same indexes exist, but its plans are not read here")
        connection.execute(text("SET LOCAL enable_seqscan = off"))
        connection.execute(text("SET LOCAL enable_bitmapscan = off"))
        page = explain(connection, query.with_only_columns(*LIST_COLUMNS).limit(25))
        assert f"ix_assessment_requests_{index}" in page, page
        if match != "email":  # one patient's few requests may be sorted; a surname's thousand are not
            assert "Sort" not in page, page
            count = explain(connection, select(func.count()).select_from(counted.subquery()))
            assert f"Index Only Scan using ix_assessment_requests_{index}" in count, count


def explain(connection, statement) -> str:
    sql = str(statement.compile(connection, compile_kwargs={"literal_binds": True}))
    return " ".join(row[0] for row in connection.execute(text(f"EXPLAIN {sql}")))

"""The CSV export: honours the list's filters, is audited, neutralises spreadsheet formulas, and is
read and sent a batch of rows at a time."""

from __future__ import annotations

import csv
import io

import pytest

from intake.platform.extensions import db
from intake.staff.listing import RequestFilters, export_rows

from tests.factories import URGENT, new_request, update_request
from tests.support.back_office import EXPORT_HEADER, audit_events, csv_rows



# --- 7. CSV export ------------------------------------------------------------------------

def test_the_csv_export_honours_the_filters_and_is_audited(app, patient, staff_client):
    """The download holds what the list shows, with a header row; each export is audited with filters and row count."""
    routine = patient.complete()
    urgent = new_request(app, first="Grace", last="Hopper", email="grace@example.com", site="canal-side", **URGENT)
    reception = staff_client("reception")
    page = reception.client.get("/staff/?urgency=urgent&site=canal-side").get_data(as_text=True)
    assert 'href="/staff/export.csv?site=canal-side&amp;urgency=urgent"' in page or 'href="/staff/export.csv?urgency=urgent&amp;site=canal-side"' in page

    rows = csv_rows(reception.client.get("/staff/export.csv?urgency=urgent&site=canal-side"))
    assert rows[0] == EXPORT_HEADER
    assert [row[0] for row in rows[1:]] == [urgent]
    assert rows[1][2:6] == ["New", "urgent", "Grace", "Hopper"]
    assert rows[1][7] == "grace@example.com" and rows[1][9] == "canal-side" and rows[1][10] == "Knee"

    everything = csv_rows(staff_client("admin").client.get("/staff/export.csv"))
    assert [row[0] for row in everything[1:]] == [urgent, routine]
    assert [entry["detail"] for entry in audit_events(app, "export_csv")] == [
        {"filters": {"urgency": "urgent", "site": "canal-side"}, "rows": 1}, {"filters": {}, "rows": 2}
    ]
    assert staff_client("clinician").client.get("/staff/export.csv").status_code == 403


@pytest.mark.parametrize("payload", ['=HYPERLINK("http://evil.example","Click")', "+SUM(1)", "-2", "@cmd", "=1+2"])
def test_the_csv_export_neutralises_spreadsheet_formulas(app, patient, staff_client, payload):
    """A value a spreadsheet would run as a formula is prefixed with ' and kept otherwise intact."""
    reference = patient.complete()
    update_request(app, reference, first_name=payload, last_name=payload)
    rows = csv_rows(staff_client("reception").client.get(f"/staff/export.csv?q={reference}"))
    assert rows[1][4] == "'" + payload
    assert rows[1][5] == "'" + payload
    assert all(not cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_a_large_export_is_read_and_written_a_batch_at_a_time_with_every_row_once_in_the_lists_order(app, staff_client):
    references = [new_request(app, first=f"Patient{letter}", email=f"{letter}@example.com") for letter in "abcde"]
    with app.app_context():
        chunks = list(export_rows(RequestFilters(), batch=2))
        db.session.remove()
    assert len(chunks) == 4  # the header, then three batches of at most two rows
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0] == EXPORT_HEADER and [row[0] for row in rows[1:]] == references[::-1]  # newest first, each once
    shown = csv_rows(staff_client("reception").client.get("/staff/export.csv?status=new"))
    assert shown == rows
    assert audit_events(app, "export_csv")[-1]["detail"] == {"filters": {"status": "new"}, "rows": 5}

"""Markup a patient types (in answers) or staff type (in notes) is shown as text on every back-office page."""

from __future__ import annotations



from tests.factories import Staff, give_up_on_an_email, update_request
from tests.support.back_office import csv_rows

SCRIPT = "<script>alert(1)</script>"

IMG = '"><img src=x onerror=alert(1)>'

SCRIPT_ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

IMG_ESCAPED = "&lt;img src=x onerror=alert(1)&gt;"


# --- 8. patient-entered markup is escaped everywhere ---------------------------------------

def assert_escaped(body: str, where: str, expected=(SCRIPT_ESCAPED, IMG_ESCAPED)) -> None:
    assert "<script>alert(1)" not in body, where
    assert "<img src=x" not in body, where
    for escaped in expected:
        assert escaped in body, f"{where}: {escaped} not shown"


def test_markup_in_a_patients_answers_and_notes_is_shown_as_text_on_every_back_office_page(app, patient, staff_client):
    """Payloads written straight into the record (validation would refuse them in names), a note,
    a failed sign-in and a search: escaped on the list, request, outbox and audit pages; plain data in the CSV."""
    reference = patient.complete()
    hostile_email = f"{IMG}@example.com"
    update_request(
        app, reference, first_name=SCRIPT, last_name=IMG, description=f"{SCRIPT}\n{IMG}", goals=SCRIPT,
        availability_note=IMG, email=hostile_email,
    )
    give_up_on_an_email(app, reference, recipient=hostile_email, error=f"550 {SCRIPT} {IMG}")
    reception = staff_client("reception")
    assert reception.post(f"/staff/requests/{reference}/notes", {"body": f"{SCRIPT}\n{IMG}"}).status_code == 303
    Staff(app.test_client()).login(IMG, "wrong password")  # a failed sign-in is audited with the email typed

    assert_escaped(reception.client.get("/staff/").get_data(as_text=True), "list")
    assert_escaped(reception.client.get("/staff/", query_string={"q": IMG}).get_data(as_text=True), "list search", (IMG_ESCAPED,))
    detail = reception.client.get(f"/staff/requests/{reference}").get_data(as_text=True)
    assert_escaped(detail, "request page")
    assert detail.count(SCRIPT_ESCAPED) >= 4 and detail.count(IMG_ESCAPED) >= 5  # names, words, goals, note, email
    assert_escaped(reception.client.get("/staff/outbox").get_data(as_text=True), "outbox")

    export = reception.client.get("/staff/export.csv", query_string={"q": SCRIPT})
    assert export.mimetype == "text/csv" and export.headers["Content-Disposition"].startswith("attachment;")
    assert len(csv_rows(export)) == 2  # the search matched the hostile name
    rows = csv_rows(reception.client.get("/staff/export.csv"))
    [row] = rows[1:]
    assert (row[4], row[5], row[7]) == (SCRIPT, IMG, hostile_email)  # kept exactly, as data in their cells

    audit = staff_client("admin").client.get("/staff/audit").get_data(as_text=True)
    assert_escaped(audit, "audit log")

from tests.factories import new_practitioner, new_request, sign_in, new_staff, free_slot, CSRF_PATTERN
import re

def test_smoke(app):
    p = new_practitioner(app, "Clara Clinician", sites=("riverside", "canal-side"))
    ref = new_request(app)
    staff = sign_in(app, new_staff(app, "reception"))
    r = staff.client.get("/staff/diary?site=riverside")
    assert r.status_code == 200, r.get_data(as_text=True)[-3000:]
    r = staff.client.get("/staff/diary/week?site=riverside")
    assert r.status_code == 200, r.get_data(as_text=True)[-3000:]
    r = staff.client.get(f"/staff/requests/{ref}")
    assert r.status_code == 200, r.get_data(as_text=True)[-3000:]
    slot = free_slot(app)
    r = staff.post(f"/staff/requests/{ref}/book", {"slot": slot})
    assert r.status_code == 303, __import__("tests.support.back_office", fromlist=["x"]).error_messages(r.get_data(as_text=True))
    page = staff.client.get(f"/staff/requests/{ref}").get_data(as_text=True)
    assert "Move the appointment" in page
    m = re.search(r'/staff/requests/\w+/appointments/(\d+)/move', page)
    aid = m.group(1)
    r = staff.post(f"/staff/requests/{ref}/appointments/{aid}/move", {"slot": free_slot(app, index=10), "sequence": "0"})
    assert r.status_code == 303, __import__("tests.support.back_office", fromlist=["x"]).error_messages(r.get_data(as_text=True))
    r = staff.post(f"/staff/requests/{ref}/appointments/{aid}/cancel", {"reason": "Ill", "then": "contacted", "sequence": "1"})
    assert r.status_code == 303, __import__("tests.support.back_office", fromlist=["x"]).error_messages(r.get_data(as_text=True))
    r = staff.client.get("/staff/diary?site=riverside&day=9999-12-31")
    assert r.status_code == 400
    r = staff.client.get(f"/staff/diary/practitioners/{p}")
    assert r.status_code == 200
    r = staff.client.get(f"/staff/diary/mine")
    assert r.status_code == 200
    pass

def test_dump(app):
    from datetime import timedelta
    from intake.platform.timeutil import today_in_london
    p = new_practitioner(app, "Clara Clinician", sites=("riverside", "canal-side"))
    new_practitioner(app, "Dev Physio", sites=("riverside",))
    ref = new_request(app)
    staff = sign_in(app, new_staff(app, "reception"))
    day = today_in_london() + timedelta(days=7)
    r = staff.post(f"/staff/requests/{ref}/book", {"slot": free_slot(app, day=day, index=3)})
    open("/tmp/day.html", "w").write(staff.client.get(f"/staff/diary?site=riverside&day={day}").get_data(as_text=True))
    open("/tmp/week.html", "w").write(staff.client.get(f"/staff/diary/week?site=riverside&week={day}").get_data(as_text=True))
    open("/tmp/req.html", "w").write(staff.client.get(f"/staff/requests/{ref}").get_data(as_text=True))
    open("/tmp/list.html", "w").write(staff.client.get(f"/staff/diary/practitioners/{p}?day={day}").get_data(as_text=True))

"""A first pass through the back office with the shared fixtures."""


def test_reception_can_sign_in_and_see_a_new_request(staff_client, patient):
    reference = patient.complete()
    staff = staff_client("reception")
    assert reference in staff.client.get("/staff/").get_data(as_text=True)

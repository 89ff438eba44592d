"""Property-based tests of the sign-in code page (two-step sign-in's second step): whatever is
posted, no server error and no traceback; a post without a valid token or with a malformed code
stores nothing; a well-formed wrong code adds one 'login_code_failed' entry and signs nobody in;
only the right code signs in (its step is forgotten before each example, so it may be used again)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import update

from intake.platform.extensions import db
from intake.staff.models import AuditEvent, StaffSecondFactor
from tests.factories import CSRF_PATTERN, enrol_staff, login
from tests.support.back_office import is_signed_in
from tests.support.fuzz import FUZZ, TOKENS, added, assert_no_server_error, first, near_examples, newest, posts, state, text_field, with_token

RIGHT = "RIGHT CODE"  # stands for the code the authenticator shows when the example runs
CODE_FIELDS = {
    "code": text_field(st.just(RIGHT), 40, [
        "12345", "1234567", "abcdef", "12 34 5", "1" * 41, "12\x0034", "١٢٣٤٥٦", "１２３４５６", "12345\u200b6",
        "abcde-2345o", "abcde-23456", ["123456", "654321"], "0" * 20,
    ]),
}


def test_the_code_page_signs_in_only_with_the_right_code_and_never_fails(unlimited_app, make_staff):
    app = unlimited_app
    account = make_staff("admin")
    phone = enrol_staff(app, account)
    other = CSRF_PATTERN.search(app.test_client().get("/staff/login").get_data(as_text=True)).group(1)

    @FUZZ
    @near_examples(CODE_FIELDS, {"code": RIGHT}, CODE_FIELDS)
    @given(post=posts(CODE_FIELDS), token_choice=TOKENS)
    def check(post, token_choice):
        data, all_valid = post
        with app.app_context():  # the right code may be used again in this example
            db.session.execute(update(StaffSecondFactor).values(last_step=None))
            db.session.commit()
        client = app.test_client()
        assert login(client, account).status_code == 303
        token = CSRF_PATTERN.search(client.get("/staff/login/code").get_data(as_text=True)).group(1)
        typed = first(data.get("code"))
        right = typed == RIGHT
        if isinstance(data.get("code"), str) and data["code"] == RIGHT:
            data = {**data, "code": phone.code()}
        elif isinstance(data.get("code"), list) and data["code"][0] == RIGHT:
            data = {**data, "code": [phone.code(), *data["code"][1:]]}
        before = state(app)
        response = client.post("/staff/login/code", data=with_token(data, token_choice, token, other))
        after = state(app)
        body = assert_no_server_error(response)
        if token_choice != "valid":
            assert response.status_code == 400 and after == before
        elif right:
            assert response.status_code == 303 and added(before, after) == {"AuditEvent": 1}
            assert newest(app, AuditEvent).action == "login" and is_signed_in(client)
        elif "That code is not right" in body:
            assert response.status_code == 400 and added(before, after) == {"AuditEvent": 1}
            assert newest(app, AuditEvent).action == "login_code_failed" and not is_signed_in(client)
        else:
            assert response.status_code == 400 and "There is a problem" in body and after == before
            assert not is_signed_in(client)
        assert not all_valid or token_choice != "valid" or response.status_code == 303

    check()

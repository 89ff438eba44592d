"""Issue 7: every rule in the URL map, walked by someone with no right to patient A's data:
anonymous, another patient (B) holding A's reference, forged session cookies, staff in the
wrong role, disabled or signed-out staff, a patient on the back office, staff on a confirmation
page. A refusal is a refusal, shows none of A's details and changes nothing; and the rightful
owners (A's browser, the back office) do see the data, so each check can fail.

Role tables, URL values, POST bodies and the database snapshot come from test_staff_access,
which checks the allowed side of each role; this file adds the cross-patient cases and looks
for A's details in every response of the walk."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import CSRF_PATTERN, Patient, free_slot, give_up_on_an_email, new_practitioner, sign_in, valid_answers
from tests.support.back_office import (
    ALL_ROLES, ROLE_CASES, build_url, cli, copy_session, is_signed_in, location_path, role_case_path, snapshot, url_values, valid_post_data,
)
from intake.staff.models import ROLES

# Patient A's answers: values no page, article or other patient would contain by chance.
A_ANSWERS = {
    "about_you": {
        "first_name": "Ottoline",
        "last_name": "Fairweatherby",
        "email": "ottoline.fairweatherby@example.org",
        "phone": "07412 918273",
        "postcode": "ze2 9qx",
    },
    "how_it_feels": {"description": "Twinges since the Kestrelwick relay", "goals": "Dancing the Zumbaroo again"},
    "when_and_where": {"note": "Not during Pemberfield choir practice"},
}
# The same details as pages show them (phone digits survive E.164 and display; postcode in capitals).
A_MARKERS = ("Ottoline", "Fairweatherby", "ottoline.fairweatherby@example.org", "918273", "ZE2 9QX",
             "Kestrelwick", "Zumbaroo", "Pemberfield")
# A refusal: a redirect to a page that holds nothing (sign-in, or the start of a request), or an error.
REFUSALS = {302, 303, 400, 403, 404, 405}
SAFE_LANDINGS = {"/staff/login", "/book/"}
# Values for URL parameters that url_values (shared with test_staff_access) leaves out or gets
# wrong for one endpoint; a parameter neither knows fails the walk in build_url.
EXTRA_URL_VALUES = {"filename": "css/app.css"}
ENDPOINT_URL_VALUES = {"articles.article": {"slug": "ankle-sprain"}}
# The walk's sign-in attempt names an account that does not exist, so it never signs anyone in.
NOBODY = "nobody@clinic.example"


# --- the scene: A, B, and the back office ---------------------------------------------------

@dataclass
class Scene:
    app: Flask
    a: Patient  # A's browser: a submitted request, and a complete draft not yet sent
    b: Patient  # B's browser: its own submitted request, and its own live draft
    a_reference: str
    b_reference: str
    a_draft: str
    message_id: int
    slot: str  # a free time to book
    make_staff: Callable[..., str]

    def url(self, rule) -> str:
        values = {**url_values(self.a_reference, self.message_id), **EXTRA_URL_VALUES,
                  **ENDPOINT_URL_VALUES.get(rule.endpoint, {})}
        return build_url(self.app, rule, values)

    def post_data(self, endpoint: str) -> dict:
        return valid_post_data(endpoint, NOBODY, self.slot)


def session_of(client: FlaskClient) -> dict:
    with client.session_transaction() as session:
        return dict(session)


def _a_free_slot(app) -> str:
    new_practitioner(app)
    return free_slot(app)


@pytest.fixture
def scene(app, make_staff) -> Scene:
    a = Patient(app.test_client())
    a_reference = a.complete(**A_ANSWERS)
    a.answer_all(**A_ANSWERS)
    b = Patient(app.test_client())
    b_reference = b.complete()
    b.start()
    assert b.answer("about-you", valid_answers()["about-you"]).status_code == 303
    return Scene(
        app=app, a=a, b=b, a_reference=a_reference, b_reference=b_reference,
        a_draft=session_of(a.client)["draft_id"], message_id=give_up_on_an_email(app),
        slot=_a_free_slot(app), make_staff=make_staff,
    )


# --- actors: browsers with no right to A's data ---------------------------------------------

def is_back_office(endpoint: str) -> bool:
    return endpoint.startswith("staff.") and endpoint != "staff.login"


@dataclass
class Actor:
    """A browser to walk with; `cookie` (a forged session) is put back before every request."""

    client: FlaskClient
    role: str | None = None  # signed in as this role: its own pages are skipped (test_staff_access)
    cookie: str | None = None
    walks: Callable[[str], bool] = lambda endpoint: True

    def plant(self) -> None:
        if self.cookie is not None:
            self.client.set_cookie("session", self.cookie)

    def send(self, method: str, url: str, data: dict):
        """GET/HEAD as is; anything else with a CSRF token from this browser's own session."""
        self.plant()
        if method in ("GET", "HEAD"):
            return self.client.open(url, method=method)
        token = CSRF_PATTERN.search(self.client.get("/staff/login").get_data(as_text=True)).group(1)
        self.plant()
        return self.client.open(url, method=method, data={**data, "csrf_token": token})


def forged_session(scene: Scene) -> dict:
    """What a thief would want in a session: A's draft and reference, an admin's sign-in, B's CSRF secret."""
    admin = sign_in(scene.app, scene.make_staff("admin"))
    return {**session_of(admin.client), **session_of(scene.b.client),
            "draft_id": scene.a_draft, "submitted_references": [scene.a_reference]}


def sign(data: dict, key: str) -> str:
    """A session cookie as Flask writes it, signed with `key`."""
    signer = Flask("forger")
    signer.secret_key = key
    signer.config["SECRET_KEY_FALLBACKS"] = []
    return signer.session_interface.get_signing_serializer(signer).dumps(data)


def forged(how: str) -> Callable[[Scene], Actor]:
    def build(scene: Scene) -> Actor:
        wrong_key = sign(forged_session(scene), "not the app's secret key")
        payload = wrong_key.rsplit(".", 2)[0]  # payload.timestamp.signature (a zipped payload starts with ".")
        _, b_timestamp, b_signature = scene.b.client.get_cookie("session").value.rsplit(".", 2)
        cookie = {
            "signed with another key": wrong_key,
            "B's signature on A's session data": f"{payload}.{b_timestamp}.{b_signature}",
            "A's session data unsigned": payload,
            "A's draft id as the cookie": scene.a_draft,
        }[how]
        return Actor(scene.app.test_client(), cookie=cookie)

    return build


def staff_in_role(role: str) -> Callable[[Scene], Actor]:
    return lambda scene: Actor(sign_in(scene.app, scene.make_staff(role)).client, role=role)


def disabled_admin(scene: Scene) -> Actor:
    email = scene.make_staff("admin")
    staff = sign_in(scene.app, email)
    assert cli(scene.app, "staff", "disable", email).exit_code == 0
    return Actor(staff.client)


def signed_out_admin(scene: Scene) -> Actor:
    staff = sign_in(scene.app, scene.make_staff("admin"))
    old_cookie = copy_session(scene.app, staff)
    assert is_signed_in(old_cookie)
    assert staff.post("/staff/logout").status_code == 303
    return Actor(old_cookie)


ACTORS: dict[str, Callable[[Scene], Actor]] = {
    "anonymous": lambda scene: Actor(scene.app.test_client()),
    "patient B": lambda scene: Actor(scene.b.client),
    "patient A on the back office": lambda scene: Actor(scene.a.client, walks=is_back_office),
    **{f"cookie {how}": forged(how) for how in (
        "signed with another key", "B's signature on A's session data",
        "A's session data unsigned", "A's draft id as the cookie")},
    **{f"{role} (not their pages)": staff_in_role(role) for role in ROLES},  # ROLES is ordered; ALL_ROLES is a set
    "admin after being disabled": disabled_admin,
    "admin's cookie after signing out": signed_out_admin,
}


# --- the walk -------------------------------------------------------------------------------

def allowed_roles(app: Flask) -> dict[str, frozenset[str]]:
    """Back-office endpoint -> roles, from test_staff_access.ROLE_CASES. Signing out, the sign-in
    code page and new recovery codes are for everyone (tests/staff/test_two_factor_routes.py shows
    what the last two do for someone signed in, or half signed in)."""
    adapter = app.url_map.bind("localhost")
    table = {"staff.logout": ALL_ROLES, "staff.login_code": ALL_ROLES, "staff.renew_recovery_codes": ALL_ROLES}
    for _, method, path, roles in ROLE_CASES:
        table[adapter.match(role_case_path(path, "REFERENCE", 1).partition("?")[0], method=method)[0]] = roles
    return table


def must_refuse(endpoint: str) -> bool:
    """Pages that are someone's in particular: the back office, and A's confirmation."""
    return is_back_office(endpoint) or endpoint == "journey.confirmation"


def leaks(response, url: str, reference: str) -> list[str]:
    """A's details in the body or Location; A's reference counts unless the test put it in the URL."""
    seen = response.get_data(as_text=True) + response.headers.get("Location", "")
    markers = A_MARKERS if reference in url else (*A_MARKERS, reference)
    return [marker for marker in markers if marker in seen]


def holds_a(client: FlaskClient, scene: Scene) -> bool:
    """The browser's session names A's draft or A's reference (and so would open them)."""
    session = session_of(client)
    return session.get("draft_id") == scene.a_draft or scene.a_reference in session.get("submitted_references", [])


def others_state(state: dict, a_draft: str) -> dict:
    """What a served public page may not touch: everything but other browsers' drafts and the audit
    (a failed sign-in is audited by design)."""
    return {**{k: v for k, v in state.items() if k != "audit"},
            "drafts": [draft for draft in state["drafts"] if draft[0] == a_draft]}


def walk(scene: Scene, actor: Actor) -> list[str]:
    """Every rule and method (Flask answers OPTIONS itself, empty): what went wrong, one line each."""
    app, roles, problems = scene.app, allowed_roles(scene.app), []
    is_a = holds_a(actor.client, scene)
    for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
        if is_back_office(rule.endpoint) and rule.endpoint not in roles:
            problems.append(f"{rule.endpoint}: new back-office page, add it to ROLE_CASES")
        if not actor.walks(rule.endpoint) or actor.role in roles.get(rule.endpoint, ()):
            continue
        url = scene.url(rule)
        for method in sorted(rule.methods - {"OPTIONS"}):
            before = snapshot(app)
            response = actor.send(method, url, scene.post_data(rule.endpoint))
            status, where = response.status_code, f"{method} {url}"
            if shown := leaks(response, url, scene.a_reference):
                problems.append(f"{where}: {status} shows {shown}")
            if not is_a and holds_a(actor.client, scene):
                problems.append(f"{where}: the session now holds A's draft or reference")
            if not must_refuse(rule.endpoint):
                if status >= 500:
                    problems.append(f"{where}: {status}")
                if others_state(snapshot(app), scene.a_draft) != others_state(before, scene.a_draft):
                    problems.append(f"{where}: changed someone else's records")
                continue
            if status not in REFUSALS:
                problems.append(f"{where}: {status} is not a refusal")
            elif status in (302, 303) and location_path(response) not in SAFE_LANDINGS:
                problems.append(f"{where}: redirected to {response.headers['Location']}")
            if snapshot(app) != before:
                problems.append(f"{where}: refused, yet the database changed")
    return problems


@pytest.mark.parametrize("who", ACTORS)
def test_every_route_refuses_and_shows_nothing_of_patient_a(who, scene):
    """Walked by this actor, no response holds A's details, and what is not theirs is refused unchanged."""
    assert walk(scene, ACTORS[who](scene)) == []


# --- the owners do see the data (so the walk can fail) --------------------------------------

def shown(client: FlaskClient, path: str, reference: str) -> tuple[int, list[str]]:
    response = client.get(path)
    return response.status_code, leaks(response, "", reference)


def test_the_owners_see_what_the_walk_looks_for(scene, staff_client):
    """A's browser sees its confirmation and draft; B its own; an admin sees every marker of A."""
    a_ref = scene.a_reference
    assert shown(scene.a.client, f"/book/confirmation/{a_ref}", a_ref) == (200, ["Ottoline", a_ref])
    status, on_check_page = shown(scene.a.client, "/book/check", a_ref)
    assert (status, set(on_check_page)) == (200, set(A_MARKERS))
    assert scene.b.client.get(f"/book/confirmation/{scene.b_reference}").status_code == 200
    admin = staff_client("admin")
    assert shown(admin.client, f"/staff/requests/{a_ref}", a_ref) == (200, [*A_MARKERS, a_ref])


def test_the_forged_session_would_open_everything_if_signed_with_the_real_key(scene):
    """The forged cookies are refused for their signature alone: the same data, properly signed, works."""
    client = scene.app.test_client()
    client.set_cookie("session", sign(forged_session(scene), scene.app.secret_key))
    a_ref = scene.a_reference
    assert shown(client, f"/book/confirmation/{a_ref}", a_ref) == (200, ["Ottoline", a_ref])
    status, on_check_page = shown(client, "/book/check", a_ref)
    assert (status, "Kestrelwick" in on_check_page) == (200, True)
    assert shown(client, f"/staff/requests/{a_ref}", a_ref) == (200, [*A_MARKERS, a_ref])

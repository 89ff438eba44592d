"""Browser-test plumbing: a live server on 127.0.0.1, Debian's Chromium through Playwright, axe-core.

Browser tests skip with a clear reason when Chromium (or Playwright) is missing, unless
REQUIRE_BROWSER=1, when they fail instead (CI sets it and installs Chromium).
"""

from __future__ import annotations

import os
from functools import cache
import threading
from contextlib import contextmanager
from pathlib import Path

import pytest

from intake.clinic.back_screen import load_wording
from tests.factories import STAFF_PASSWORD, new_practitioner, new_staff

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1366, "height": 768}
VIEWPORTS = {"phone": PHONE, "desktop": DESKTOP}
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
# WCAG 2.2 A and AA, plus axe's best practices (heading order, landmarks, one main, ...).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
STAFF_EMAIL = "rita@clinic.example"
ADMIN_EMAIL = "ada@clinic.example"


def require_browser() -> None:
    """Skip (or, with REQUIRE_BROWSER=1, fail) when the browser cannot run here."""
    problem = ""
    if not Path(CHROMIUM).exists():
        problem = f"Chromium not found at {CHROMIUM}: install Debian's chromium package (apt-get install chromium)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            problem = "Playwright for Python is not installed (pip install -r requirements-test.txt)"
    if problem:
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"REQUIRE_BROWSER=1 but {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory):
    """The app served on 127.0.0.1 (a random free port) with a fresh SQLite database, one receptionist
    and two practitioners working weekdays, 09:00 to 17:00, at two sites each."""
    require_browser()
    app = browser_app(tmp_path_factory.mktemp("browser"), "browser", STAFF_2FA_REQUIRED="off")  # test_browser_two_factor.py serves one that requires it
    new_staff(app, "reception", email=STAFF_EMAIL, name="Rita Reception")
    new_staff(app, "admin", email=ADMIN_EMAIL, name="Ada Admin")
    for name, sites in (("Clara Clinician", ("riverside", "canal-side")), ("Priya Physio", ("riverside", "west-green"))):
        new_practitioner(app, name, sites=sites)
    with serve(app) as served:
        yield served


def browser_app(folder: Path, name: str, **overrides):
    """An app for the browser tests on a new SQLite database in `folder`, its tables built."""
    from intake import create_app
    from tests.support.database import create_schema

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / f'{name}.sqlite3'}",
        "INSTANCE_PATH": folder,
        "SECRET_KEY": f"{name}-tests",
        "MAIL_FILE_DIR": str(folder / "mail"),
        **overrides,
    })
    with app.app_context():
        create_schema()
    return app


@contextmanager
def serve(app):
    """Serve `app` on 127.0.0.1 (a random free port) in a thread, for as long as the block lasts."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LiveServer(f"http://127.0.0.1:{server.server_port}", app)
    finally:
        server.shutdown()


class LiveServer(str):
    """The live server's address, with its app for a test that must store something first."""

    def __new__(cls, address: str, app) -> LiveServer:
        served = super().__new__(cls, address)
        served.app = app
        return served


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the whole run."""
    require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(params=list(VIEWPORTS))
def page(request, browser):
    """A fresh browser tab (its own cookies) at phone or desktop width."""
    context = browser.new_context(viewport=VIEWPORTS[request.param])
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    tab.viewport_name = request.param
    problems: list[str] = []

    def failed_resource(response) -> None:
        if response.status >= 400 and response.request.resource_type != "document":
            problems.append(f"{response.status} for {response.url}")

    def console_error(message) -> None:
        if message.type == "error" and "Failed to load resource" not in message.text:
            problems.append(message.text)  # includes anything the Content-Security-Policy refused

    tab.on("response", failed_resource)
    tab.on("console", console_error)
    tab.on("pageerror", lambda error: problems.append(str(error)))
    yield tab
    context.close()
    # A blocked or missing stylesheet, script or image, or any script error, fails the test.
    assert problems == [], problems


def screenshot(page, name: str) -> None:
    """Keep a full-page picture for people to look at (test-output/ is git-ignored), when
    SCREENSHOTS=1 asks for them: taking them costs a fifth of the browser tests' time."""
    if os.environ.get("SCREENSHOTS") != "1":
        return
    folder = SCREENSHOTS / page.viewport_name
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=True)


@cache
def _axe_script() -> str:
    """axe-core's source, as the axe-playwright-python package ships it, read once."""
    from axe_playwright_python.sync_playwright import Axe

    return Axe().axe_script


def axe_violations(page) -> list[dict]:
    """Run axe-core in the page for WCAG 2.2 A and AA and best practices; return the violations.

    axe-core is loaded into a page only when it is not there yet, and only the violations come
    back from the browser: passes and inapplicable rules were serialised for nothing."""
    if not page.evaluate("typeof axe !== 'undefined'"):
        page.evaluate(_axe_script())
    options = {"runOnly": {"type": "tag", "values": WCAG_TAGS}, "resultTypes": ["violations"]}
    return page.evaluate("options => axe.run(document, options).then(results => results.violations)", options)


def describe(violations: list[dict]) -> str:
    """Violations in a form a developer can act on."""
    return "\n".join(
        f"{item['id']} ({item['impact']}): {item['help']} -> " + "; ".join(node["target"][0] if isinstance(node["target"][0], str) else str(node["target"]) for node in item["nodes"][:5])
        for item in violations
    )


class AxeWalk:
    """An admin's walk through back-office pages, checking each with axe-core as it goes."""

    def __init__(self, page, live_server, name: str) -> None:
        self.page, self.live_server, self.name = page, live_server, name
        self.checked: dict[str, list[dict]] = {}

    def sign_in(self, email: str = ADMIN_EMAIL) -> None:
        self.page.goto(self.live_server + "/staff/login")
        self.page.get_by_label("Email address").fill(email)
        self.page.get_by_label("Password").fill(STAFF_PASSWORD)
        self.press("button", "Sign in")

    def press(self, role: str, name: str) -> None:
        with self.page.expect_navigation():
            self.page.get_by_role(role, name=name, exact=True).click()

    def check(self, name: str) -> None:
        self.page.wait_for_load_state()
        self.checked[name] = axe_violations(self.page)
        screenshot(self.page, f"axe-{self.name}-{name}")

    def assert_no_violations(self, what: str) -> None:
        size = VIEWPORTS[self.page.viewport_name]
        print(f"\naxe-core on {what}, {self.page.viewport_name} ({size['width']}x{size['height']}): {len(self.checked)} pages checked")
        failing = {name: violations for name, violations in self.checked.items() if violations}
        assert not failing, "\n\n".join(f"{name}:\n{describe(violations)}" for name, violations in failing.items())


# --- what a person does on the patient's pages -------------------------------------------

def fill_about_you(page, first_name: str = "Ada") -> None:
    page.get_by_label("First name").fill(first_name)
    page.get_by_label("Last name").fill("Lovelace")
    birth = page.get_by_role("group", name="Date of birth")
    birth.get_by_label("Day").fill("10")
    birth.get_by_label("Month").fill("12")
    birth.get_by_label("Year").fill("1985")
    page.get_by_label("Email address").fill("ada@example.com")
    page.get_by_label("Mobile phone number").fill("07400 123456")
    page.get_by_label("Phone call").check()
    page.get_by_label("Postcode (optional)").fill("N1 9GU")


def answer_where_and_how(page, region: str = "Knee", description: str = "Aches after running.") -> None:
    page.get_by_label(region, exact=True).check()
    page.get_by_label("Left", exact=True).check()
    page.get_by_label("2 to 6 weeks").check()
    page.get_by_label("Gradually, for no clear reason").check()
    continue_on(page)
    page.get_by_role("group", name="How bad is your pain right now?").get_by_label("4", exact=True).check()
    page.get_by_role("group", name="How bad is your pain at its worst?").get_by_label("7", exact=True).check()
    page.get_by_label("Stiffness").check()
    page.get_by_label("Tell us about your problem (optional)").fill(description)
    continue_on(page)


def answer_all_no(page) -> None:
    for group in page.get_by_role("group").all():
        group.get_by_label("No", exact=True).check()


def answer_safety_pages_no(page) -> None:
    """Answer No on each page of safety questions the patient is asked (which pages there are, and
    their questions, follow the problem), up to the back-pain screen or the page about when and where
    they can come."""
    while not page.url.endswith(("/book/when-and-where", "/book/back-pain")):
        answer_all_no(page)
        continue_on(page)


def answer_back_pain(page, agree: tuple[str, ...] = (), bothered: str = "slightly") -> None:
    """Answer the back-pain screen as a person reads it: agree with the statements whose codes are
    given, disagree with the rest, and pick how much the pain bothered them."""
    wording = load_wording()
    for code, statement in wording.statements:
        choice = wording.agree if code in agree else wording.disagree
        page.get_by_role("group", name=statement, exact=True).get_by_label(choice, exact=True).check()
    page.get_by_role("group", name=wording.bothersome, exact=True).get_by_label(wording.answer_words[bothered], exact=True).check()


def continue_on(page) -> None:
    """Press Continue and wait for the next page to load."""
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()


def start(page, live_server) -> None:
    page.goto(live_server + "/")
    screenshot(page, "01-home")
    page.get_by_role("link", name="Request a free assessment").click()
    screenshot(page, "02-start")
    page.get_by_role("button", name="Start now").click()

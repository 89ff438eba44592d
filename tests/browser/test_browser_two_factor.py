"""Two-step sign-in in Chromium, on an app that requires it of admins (STAFF_2FA_REQUIRED=admin, the
default): an admin's first sign-in sets up an authenticator (its key read off the page, as someone
who cannot scan would type it), keeps the recovery codes, and signs in again with a code; axe-core
(WCAG 2.2 A and AA) on each new page, clean and with its errors."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from tests.factories import STAFF_PASSWORD, new_staff
from tests.support.browser import VIEWPORTS, axe_violations, browser_app, describe, require_browser, screenshot, serve


@pytest.fixture(scope="module")
def clinic_server(tmp_path_factory):
    """The app served with two-step sign-in required of admins, on its own fresh SQLite database."""
    require_browser()
    app = browser_app(tmp_path_factory.mktemp("browser-two-factor"), "two-factor", STAFF_2FA_REQUIRED="admin")
    with serve(app) as served:
        yield served


def test_an_admin_sets_up_two_step_sign_in_then_signs_in_with_a_code(page, clinic_server):
    email = new_staff(clinic_server.app, "admin", email=f"ada.{page.viewport_name}@clinic.example", name="Ada Admin")
    checked: dict[str, list[dict]] = {}

    def check(name: str) -> None:
        page.wait_for_load_state()
        checked[name] = axe_violations(page)
        screenshot(page, f"axe-two-factor-{name}")

    def press(role: str, name: str) -> None:
        with page.expect_navigation():
            page.get_by_role(role, name=name, exact=True).click()

    def sign_in_with_password() -> None:
        page.goto(clinic_server + "/staff/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(STAFF_PASSWORD)
        press("button", "Sign in")

    # 1. The password, then setting up: the QR code, and the key as text.
    sign_in_with_password()
    assert page.get_by_role("heading", name="Set up two-step sign-in").is_visible()
    assert page.get_by_role("img", name=re.compile("QR code")).locator("svg").is_visible()
    assert page.get_by_role("navigation", name="Back office").count() == 0  # nobody is signed in yet
    check("set-up")
    page.get_by_label("Code", exact=True).fill("abc")
    press("button", "Turn on two-step sign-in")
    assert page.title().startswith("Error:") and page.get_by_role("alert").filter(has_text="There is a problem").is_visible()
    check("set-up-errors")
    secret = page.locator("#secret-key").inner_text().replace(" ", "")
    authenticator = pyotp.TOTP(secret)
    page.get_by_label("Code", exact=True).fill(authenticator.now())
    press("button", "Turn on two-step sign-in")

    # 2. The ten recovery codes, shown once, with buttons to print and copy them.
    assert page.get_by_role("heading", name="Your recovery codes").is_visible()
    codes = page.locator("#recovery-codes li").all_inner_texts()
    assert len(set(codes)) == 10
    assert page.get_by_role("button", name="Print the codes").is_visible()
    check("recovery-codes")
    press("link", "I have kept my codes: continue")
    assert page.get_by_role("navigation", name="Back office").is_visible()
    press("link", "Two-step sign-in")
    assert page.get_by_text("You have 10 unused recovery codes").is_visible()
    check("two-step")
    press("button", "Sign out")

    # 3. Signing in again: the password, then the code (a wrong one first).
    sign_in_with_password()
    assert page.get_by_role("heading", name="Enter your sign-in code").is_visible()
    check("code")
    page.get_by_label("Code", exact=True).fill("000000" if authenticator.now() != "000000" else "111111")
    press("button", "Sign in")
    assert page.title().startswith("Error:")
    check("code-errors")
    page.get_by_label("Code", exact=True).fill(authenticator.at(time.time() + 30))  # the next code: the first was used at set-up
    press("button", "Sign in")
    assert page.get_by_role("heading", name="Requests").is_visible()

    size = VIEWPORTS[page.viewport_name]
    print(f"\naxe-core on the two-step sign-in pages, {page.viewport_name} ({size['width']}x{size['height']}): {len(checked)} pages checked")
    failing = {name: violations for name, violations in checked.items() if violations}
    assert not failing, "\n\n".join(f"{name}:\n{describe(violations)}" for name, violations in failing.items())

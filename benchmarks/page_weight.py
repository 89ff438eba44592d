"""Page weight of every patient page, measured in Debian's Chromium: target under 60 KB each
(HTML + CSS + JS + images, as a first visit with the cache off) and no request to another origin.

Serves the app on 127.0.0.1 (a free port, fresh SQLite database), walks a routine journey and
an emergency one through the browser's own cookie jar, then loads each page in Chromium and adds
up every response. The test suite imports `measure_patient_pages` to check the same target.

    .venv/bin/python benchmarks/page_weight.py
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # the tests' answers and browser settings

from tests.factories import CSRF_PATTERN, valid_answers  # noqa: E402
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, PHONE  # noqa: E402

LIMIT_BYTES = 60 * 1024
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class PageWeight:
    """Everything one page load fetched: bytes by kind, and any request that left our origin."""

    path: str
    bytes_by_kind: dict[str, int] = field(default_factory=dict)
    elsewhere: list[str] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(self.bytes_by_kind.values())


def _post_form(context, base_url: str, path: str, data: dict, form_path: str | None = None) -> str:
    """Post a form the way the browser would, with the token from its page; return the final URL."""
    page = context.request.get(base_url + (form_path or path)).text()
    token = CSRF_PATTERN.search(page).group(1)
    response = context.request.post(base_url + path, data=urlencode({**data, "csrf_token": token}, doseq=True), headers=FORM_HEADERS)
    assert response.ok, f"{path}: {response.status}"
    return response.url


def _answer_journey(context, base_url: str, changes: dict[str, dict] | None = None) -> None:
    """Start a request and answer every page that applies, in this browser context's session."""
    _post_form(context, base_url, "/book/start", {}, form_path="/book/")
    answers = valid_answers()
    for slug, fields in (changes or {}).items():
        answers[slug].update(fields)
    for slug, data in answers.items():
        if context.request.get(base_url + f"/book/{slug}", max_redirects=0).status == 303:
            continue  # this page does not apply to these answers
        _post_form(context, base_url, f"/book/{slug}", data)


def _weigh(context, base_url: str, path: str) -> PageWeight:
    """Load one page as a first visit (a new context with the same cookies, so an empty cache)
    and add up every response it caused."""
    weight = PageWeight(path)
    fresh = context.browser.new_context(viewport=PHONE, storage_state=context.storage_state())
    tab = fresh.new_page()
    origin = urlsplit(base_url).netloc
    responses = []
    tab.on("response", lambda response: responses.append(response))
    tab.goto(base_url + path, wait_until="networkidle")
    for response in responses:
        url = response.url
        if url.startswith("data:"):
            continue
        if urlsplit(url).netloc != origin:
            weight.elsewhere.append(url)
            continue
        kind = response.request.resource_type
        weight.bytes_by_kind[kind] = weight.bytes_by_kind.get(kind, 0) + len(response.body())
    fresh.close()
    return weight


def measure_patient_pages(browser, base_url: str) -> list[PageWeight]:
    """Weigh every page a patient can see: public pages, each question, care cards, check, the
    times and the time to confirm (when the clinic has free times), confirmation."""
    context = browser.new_context(viewport=PHONE)
    weights = [_weigh(context, base_url, path) for path in ("/", "/privacy", "/book/", "/articles/")]
    article = re.search(r'href="(/articles/[a-z0-9-]+)"', context.request.get(base_url + "/articles/").text()).group(1)
    weights.append(_weigh(context, base_url, article))
    _answer_journey(context, base_url)
    weights += [_weigh(context, base_url, f"/book/{slug}") for slug in valid_answers()
                if context.request.get(base_url + f"/book/{slug}", max_redirects=0).status == 200]  # the pages this patient is asked
    weights.append(_weigh(context, base_url, "/book/check"))
    confirmation = _post_form(context, base_url, "/book/check", {"consent": "y"})
    if urlsplit(confirmation).path == "/book/time":  # the clinic has free times: choose one
        weights.append(_weigh(context, base_url, "/book/time"))
        slot = re.search(r'name="slot" type="radio" value="([^"]+)"', context.request.get(base_url + "/book/time").text()).group(1)
        confirm_path = "/book/time/confirm?" + urlencode({"slot": slot})
        weights.append(_weigh(context, base_url, confirm_path))
        seen = re.search(r'name="answers_seen" type="hidden" value="(\d+)"', context.request.get(base_url + confirm_path).text()).group(1)
        confirmation = _post_form(context, base_url, "/book/time/confirm", {"slot": slot, "answers_seen": seen}, form_path=confirm_path)
    weights.append(_weigh(context, base_url, urlsplit(confirmation).path))
    context.close()

    back = browser.new_context(viewport=PHONE)  # the back-pain screen, asked only of a lower-back problem
    _answer_journey(back, base_url, {"where-it-hurts": {"region": "lower_back"}})
    weights.append(_weigh(back, base_url, "/book/back-pain"))
    back.close()

    emergency = browser.new_context(viewport=PHONE)
    _answer_journey(emergency, base_url, {"nerve-symptoms": {"saddle_numbness": "yes"}})
    weights.append(_weigh(emergency, base_url, "/book/advice/emergency"))
    emergency.close()
    return weights


def _serve(folder: Path) -> str:
    """The app on a free port of 127.0.0.1, on a fresh database; returns its base URL."""
    from werkzeug.serving import make_server

    from intake import create_app
    from intake.journey.models import StatusCount
    from intake.platform.extensions import db

    app = create_app({
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'weight.sqlite3'}",
        "INSTANCE_PATH": folder,
        "SECRET_KEY": "page-weight",
        "MAIL_FILE_DIR": str(folder / "mail"),
        "OUTBOX_SEND_AFTER_REQUEST": False,
    })
    with app.app_context():
        db.create_all()
        StatusCount.create_rows()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}"


def main() -> int:
    from playwright.sync_api import sync_playwright

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
        base_url = _serve(Path(folder))
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        weights = measure_patient_pages(browser, base_url)
        browser.close()
    print(f"{'page':<34} {'html':>7} {'css':>7} {'js':>7} {'other':>7} {'total':>8}  third-party")
    failed = False
    for weight in weights:
        kinds = dict(weight.bytes_by_kind)
        html, css, js = kinds.pop("document", 0), kinds.pop("stylesheet", 0), kinds.pop("script", 0)
        ok = weight.total < LIMIT_BYTES and not weight.elsewhere
        failed |= not ok
        print(f"{weight.path:<34} {html:>7} {css:>7} {js:>7} {sum(kinds.values()):>7} {weight.total:>8}  {len(weight.elsewhere)}  {'PASS' if ok else 'FAIL'}")
    print("FAIL" if failed else f"PASS: every patient page under {LIMIT_BYTES // 1024} KB, no third-party requests")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

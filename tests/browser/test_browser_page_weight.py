"""Every patient page weighs under 60 KB in Chromium (HTML, CSS, JS and images, first visit)
and asks nothing of any other origin. The measuring code is shared with benchmarks/page_weight.py."""

from __future__ import annotations

from benchmarks.page_weight import LIMIT_BYTES, measure_patient_pages


def test_every_patient_page_is_light_and_only_talks_to_us(browser, live_server):
    weights = measure_patient_pages(browser, live_server)
    paths = [weight.path for weight in weights]
    assert {"/", "/book/", "/book/about-you", "/book/your-problem", "/book/back-pain", "/book/check", "/book/time",
            "/book/advice/emergency"} <= set(paths)
    assert any(path.startswith("/book/time/confirm?slot=") for path in paths)
    assert any(path.startswith("/book/confirmation/") for path in paths)
    for weight in weights:
        # The measurement really saw the page and its stylesheet and script.
        assert {"document", "stylesheet", "script"} <= set(weight.bytes_by_kind), weight
        assert weight.total < LIMIT_BYTES, f"{weight.path} weighs {weight.total} bytes"
        assert weight.elsewhere == [], f"{weight.path} asked other origins for {weight.elsewhere}"

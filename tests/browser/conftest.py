"""The browser tests share one Chromium and one live server, so they all run on one worker."""

import pytest

from intake.platform.extensions import limiter


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.parent.name == "browser":
            item.add_marker(pytest.mark.xdist_group("browser"))


@pytest.fixture(autouse=True)
def rate_limits_counted_afresh():
    """Each browser test starts with no rate-limit counts, as a test with an app of its own does.

    Flask-Limiter is one object in the process: without this, counts left by whatever ran before on
    this worker (other browser tests on the shared live server, a test that used up a limit) refuse
    its requests ("Too many attempts" on a patient's submission, seen once in a full run).
    """
    if limiter.initialized:
        limiter.reset()

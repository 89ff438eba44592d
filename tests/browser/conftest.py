"""The browser tests share one Chromium and one live server, so they all run on one worker."""

import pytest


def pytest_collection_modifyitems(items):
    for item in items:
        if item.path.parent.name == "browser":
            item.add_marker(pytest.mark.xdist_group("browser"))

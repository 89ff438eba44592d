"""axe-core (WCAG 2.2 A and AA) on every article's page.

The accessibility walk checks the article page at both widths with one article; articles differ
only in their Markdown (headings, lists, emphasis, links), so each is checked here at phone width,
where the text reflows most.
"""

from __future__ import annotations

import pytest

from intake.articles.library import load_articles
from tests.support.browser import axe_violations, describe


@pytest.mark.parametrize("page", ["phone"], indirect=True)
def test_every_article_page_has_no_axe_violations(page, live_server):
    articles = load_articles()
    failing = {}
    for article in articles:
        page.goto(f"{live_server}/articles/{article.slug}")
        page.wait_for_load_state()
        assert page.get_by_role("heading", name="When to seek help").is_visible(), article.slug
        violations = axe_violations(page)
        if violations:
            failing[article.slug] = violations
    print(f"\naxe-core on {len(articles)} article pages at {page.viewport_name} width: {len(failing)} with violations")
    assert not failing, "\n\n".join(f"{slug}:\n{describe(violations)}" for slug, violations in failing.items())

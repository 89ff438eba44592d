"""Kept pages (intake.platform.page_cache) are rendered without anything of one request or browser."""

from __future__ import annotations

import pytest
from flask import render_template
from jinja2 import UndefinedError

from intake.journey.journey import STEPS, answer_key
from intake.platform.page_cache import FORM_TOKEN_SLOT

READING_ONE_REQUEST = [
    "{{ request.path }}",
    "{% if request.query_string %}?{% endif %}",
    "{{ session['draft_id'] }}",
    "{% if session %}signed in{% endif %}",
    "{% for key in session %}{{ key }}{% endfor %}",
    "{{ g.user }}",
    "{% if g %}g{% endif %}",
    "{{ get_flashed_messages() }}",
]


@pytest.mark.parametrize("source", READING_ONE_REQUEST)
def test_a_kept_page_that_reads_the_request_session_or_g_fails_to_render(app, source):
    cache = app.extensions["page_cache"]
    with app.test_request_context("/book/where-it-hurts"):
        with pytest.raises(UndefinedError, match="kept page may not read"):
            cache.environment.from_string(source).render()


def test_the_same_template_still_reads_them_when_rendered_for_one_request(app):
    """The rule is the kept pages' own: Flask's templates are untouched."""
    with app.test_request_context("/book/where-it-hurts"):
        assert render_template("errors/error.html", error=None)
        assert app.jinja_env.from_string("{{ request.path }}").render(request=None) is not None


@pytest.mark.parametrize("step", [step for step in STEPS if step.same_for_everyone], ids=lambda step: step.slug)
def test_every_question_page_renders_as_a_kept_page_exactly_as_for_one_request(app, step):
    cache = app.extensions["page_cache"]
    path = f"/book/{step.slug}"
    with app.test_request_context(path):
        context = {
            "step": step, "form": step.build_form(app.config), "back_url": "/book/", "timed_out": False,
            "save_clashed": False, "example_date": "1 2 2027", "form_action": path,
        }
        kept = cache.render(f"journey/steps/{answer_key(step)}.html", context)
        rendered = render_template(f"journey/steps/{answer_key(step)}.html", **context, csrf_token=lambda: FORM_TOKEN_SLOT)
    assert kept == rendered
    assert FORM_TOKEN_SLOT in kept and f'action="{path}"' in kept

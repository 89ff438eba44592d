"""Article pages, and articles offered on the confirmation page and in the patient's email."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape

from tests.factories import Patient
from intake.articles.library import load_articles
from intake.platform.extensions import db
from intake.mail.models import OutboxMessage


def test_the_library_lists_every_article(client):
    page = client.get("/articles/").get_data(as_text=True)
    total = len(load_articles())
    assert f"{total} articles" in page
    assert len(re.findall(r'<li class="article-list__item">', page)) == total


def test_the_library_filters_by_body_area_and_searches_words(client):
    elbow = client.get("/articles/?area=elbow").get_data(as_text=True)
    assert "/articles/tennis-and-golfers-elbow" in elbow and "/articles/ankle-sprain" not in elbow
    found = client.get("/articles/?q=numbness").get_data(as_text=True)
    assert "/articles/sciatica-leg-numbness" in found


def test_search_words_are_escaped_and_unknown_areas_ignored(client):
    response = client.get("/articles/?q=<script>alert(1)</script>&area=<b>")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;" in page


def test_an_article_page_shows_the_article_a_disclaimer_and_related_reading(client):
    page = client.get("/articles/sciatica-leg-numbness").get_data(as_text=True)
    assert "<h1" in page and "sciatica" in page.lower()
    assert "When to seek help" in page
    assert "not a diagnosis" in page
    assert "Related articles" in page and "minute read" in page


def test_an_unknown_article_is_not_found(client):
    assert client.get("/articles/no-such-article").status_code == 404


def test_the_confirmation_page_offers_three_articles_with_reasons(client, patient):
    reference = patient.complete(
        where_it_hurts={"region": "lower_back"},
        how_it_feels={"sensations": ["numbness", "spreading_pain"], "description": "pain down my leg"},
    )
    page = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    assert page.count('class="recommended__item"') == 3
    assert 'href="/articles/sciatica-leg-numbness"' in page
    assert "Because you mentioned pain spreading down your leg, with numbness" in page


def test_a_flagged_request_is_offered_the_urgent_help_article_first(client, patient):
    reference = patient.complete(general_health={"weight_loss": "yes"})
    page = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    offered = re.findall(r'<li class="recommended__item"><a href="([^"]+)"', page)
    assert offered[0] == "/articles/red-flag-symptoms-urgent-help"


def test_the_patient_email_links_the_recommended_articles(make_app):
    app = make_app(PUBLIC_BASE_URL="https://intake.clinic.example")
    Patient(app.test_client()).complete(how_it_feels={"description": "my knee gives way", "sensations": ["swelling"]})
    with app.app_context():
        email = db.session.execute(
            db.select(OutboxMessage).where(OutboxMessage.kind == "patient_acknowledgement")
        ).scalar_one()
    assert "https://intake.clinic.example/articles/knee-" in email.text_body
    assert 'href="https://intake.clinic.example/articles/knee-' in email.html_body


@pytest.mark.parametrize("article", load_articles(), ids=lambda article: article.slug)
def test_every_article_has_its_own_page_with_its_title_and_when_to_seek_help(client, article):
    response = client.get(f"/articles/{article.slug}")
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1" in page and escape(article.title) in page
    assert "When to seek help" in page


def offered(client, reference: str) -> list[str]:
    page = client.get(f"/book/confirmation/{reference}").get_data(as_text=True)
    return re.findall(r'<li class="recommended__item"><a href="/articles/([^"]+)"', page)


def test_a_back_ache_of_two_years_is_offered_reading_on_long_term_pain_not_new_pain(client, patient):
    reference = patient.complete(
        where_it_hurts={"region": "lower_back", "duration": "over_3_months", "onset": "gradual"},
        how_it_feels={"sensations": [], "description": "My back has ached for two years", "goals": "Garden again"},
    )
    slugs = offered(client, reference)
    assert slugs[0] == "living-well-with-persistent-back-pain"
    assert "persistent-pain-how-pain-works" in slugs and "acute-low-back-pain" not in slugs


@pytest.mark.parametrize(("born", "first"), [("1950", True), ("2004", False)])
def test_the_patients_age_orders_the_articles_offered(make_app, born, first):
    app = make_app()
    client = app.test_client()
    reference = Patient(client).complete(
        about_you={"date_of_birth-year": born},
        where_it_hurts={"region": "knee", "duration": "over_3_months", "onset": "gradual"},
        how_it_feels={"sensations": [], "description": "It aches", "goals": "Walk further"},
    )
    assert (offered(client, reference)[0] == "knee-osteoarthritis") is first

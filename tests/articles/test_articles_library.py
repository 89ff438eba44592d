"""The article library: enough articles, on the required topics, well formed and safely rendered."""

from __future__ import annotations

import re

import pytest

from intake.articles.library import ArticleError, load_articles, parse_article, render_markdown

REQUIRED_TOPICS = [
    "sciatica-leg-numbness", "acute-low-back-pain", "persistent-pain-how-pain-works", "neck-pain-and-desk-posture",
    "whiplash", "headaches-from-the-neck", "shoulder-impingement-rotator-cuff", "frozen-shoulder",
    "tennis-and-golfers-elbow", "carpal-tunnel-and-wrist-pain", "hip-pain-and-osteoarthritis", "front-of-knee-pain",
    "knee-ligament-and-meniscus-rehab", "knee-osteoarthritis", "ankle-sprain", "achilles-tendon-pain",
    "plantar-heel-pain", "running-injuries", "back-pain-in-pregnancy", "rehab-after-surgery",
    "staying-active-exercise-for-pain", "sleep-and-pain", "what-happens-at-your-first-assessment",
    "red-flag-symptoms-urgent-help",
]
# Where the library was thin (issue 17): written for this project.
NEW_TOPICS = [
    "neck-pain-with-arm-symptoms", "shin-pain", "groin-pain", "outside-of-hip-pain", "knee-injuries-in-sport",
    "living-well-with-persistent-back-pain", "spinal-stenosis-leg-pain-when-walking",
]
ARTICLES = load_articles()


def test_there_are_at_least_30_articles_covering_every_required_topic_and_six_new_ones():
    slugs = {article.slug for article in ARTICLES}
    assert len(ARTICLES) >= 30
    assert set(REQUIRED_TOPICS) <= slugs
    assert len(NEW_TOPICS) >= 6 and set(NEW_TOPICS) <= slugs


def when_to_seek_help(article) -> str:
    return article.body.split("## When to seek help", 1)[1]


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.slug)
def test_each_article_says_when_to_call_999_or_go_to_ae_and_when_to_get_same_day_advice(article):
    help_section = when_to_seek_help(article)
    assert "999" in help_section or "A&E" in help_section
    assert "111" in help_section or "GP" in help_section


@pytest.mark.parametrize("article", [a for a in ARTICLES if "lower_back" in a.body_areas], ids=lambda article: article.slug)
def test_each_lower_back_article_sends_the_signs_of_cauda_equina_to_ae(article):
    text = article.body if "red_flags" in article.conditions else when_to_seek_help(article)
    assert "between your legs" in text and ("urine" in text or "bladder" in text) and "A&E" in text


@pytest.mark.parametrize("article", [a for a in ARTICLES if "neck" in a.body_areas and "red_flags" not in a.conditions], ids=lambda article: article.slug)
def test_each_neck_article_sends_the_signs_of_an_artery_problem_to_999(article):
    assert "double vision" in when_to_seek_help(article) and "999" in when_to_seek_help(article)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.slug)
def test_each_article_is_500_to_1200_words_and_ends_with_when_to_seek_help(article):
    assert 500 <= article.word_count <= 1200
    headings = re.findall(r"^## (.+)$", article.body, re.MULTILINE)
    assert headings and headings[-1].strip() == "When to seek help"
    assert article.summary and len(article.summary) <= 200
    assert article.reading_minutes == -(-article.word_count // 200)


@pytest.mark.parametrize("article", ARTICLES, ids=lambda article: article.slug)
def test_no_article_claims_medical_review_or_carries_raw_html(article):
    text = article.body.lower()
    assert "reviewed by" not in text and "medically reviewed" not in text
    assert not re.search(r"<[a-z/!]", article.body)


def test_raw_html_in_markdown_is_shown_as_text_never_run():
    html = render_markdown('Hello <script>alert(1)</script> <img src=x onerror="alert(2)"> [x](javascript:alert(3))')
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


def write(folder, name, text):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


FRONT = "---\ntitle: T\nslug: {slug}\nsummary: S\nbody_areas: {areas}\nsymptoms: []\nconditions: []\naudience: A\nupdated: 2026-01-01\n---\nBody\n"


def test_an_article_with_an_unknown_body_area_is_refused(tmp_path):
    with pytest.raises(ArticleError, match="body_areas"):
        parse_article(write(tmp_path, "x.md", FRONT.format(slug="x", areas="[elbows]")))


def test_an_article_whose_slug_differs_from_its_file_is_refused(tmp_path):
    with pytest.raises(ArticleError, match="slug"):
        parse_article(write(tmp_path, "x.md", FRONT.format(slug="y", areas="[]")))


def test_an_article_with_missing_fields_or_bad_yaml_is_refused(tmp_path):
    with pytest.raises(ArticleError, match="missing"):
        parse_article(write(tmp_path, "x.md", "---\ntitle: T\n---\nBody\n"))
    with pytest.raises(ArticleError, match="YAML"):
        parse_article(write(tmp_path, "y.md", "---\ntitle: a: b: c\n---\nBody\n"))

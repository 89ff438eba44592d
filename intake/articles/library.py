"""Load the article library from Markdown files with front matter. Pure Python, no Flask."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import frontmatter
import yaml
from markdown_it import MarkdownIt

from intake.clinic import vocabulary

CONTENT_FOLDER = Path(__file__).parent / "content"
WORDS_PER_MINUTE = 200
WORD = re.compile(r"[A-Za-z0-9’']+")
SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
CONDITIONS = frozenset({
    "pain_education", "older_adults",
    "nerve_pain", "acute_pain", "persistent_pain", "posture", "whiplash", "headache", "tendon",
    "frozen_shoulder", "osteoarthritis", "ligament", "sprain", "running", "pregnancy", "post_surgery",
    "exercise", "sleep", "first_assessment", "red_flags", "sports_injury", "jaw",
})
REQUIRED_FIELDS = ("title", "slug", "summary", "body_areas", "symptoms", "conditions", "audience", "updated")

# CommonMark with raw HTML switched off: any HTML in an article is shown as text, never run.
_markdown = MarkdownIt("commonmark", {"html": False})


class ArticleError(ValueError):
    """An article file is missing a field or uses a code the app does not know."""


@dataclass(frozen=True)
class Article:
    """One article, with its Markdown body rendered to safe HTML once, at load time."""

    slug: str
    title: str
    summary: str
    body_areas: tuple[str, ...]
    symptoms: tuple[str, ...]
    conditions: tuple[str, ...]
    audience: str
    updated: date
    body: str
    html: str
    word_count: int

    @property
    def reading_minutes(self) -> int:
        """Reading time at an easy pace, rounded up."""
        return max(1, math.ceil(self.word_count / WORDS_PER_MINUTE))


def render_markdown(text: str) -> str:
    """Turn Markdown into HTML with raw HTML disabled."""
    return _markdown.render(text)


def _codes(post, field: str, allowed, path: Path) -> tuple[str, ...]:
    values = post[field]
    if not isinstance(values, list) or any(value not in allowed for value in values):
        raise ArticleError(f"{path.name}: {field} must be a list of {sorted(allowed)}")
    return tuple(values)


def parse_article(path: Path) -> Article:
    """Read one article file, checking its front matter."""
    try:
        post = frontmatter.load(path)
    except yaml.YAMLError as error:
        raise ArticleError(f"{path.name}: the front matter is not valid YAML ({error})") from error
    missing = [field for field in REQUIRED_FIELDS if field not in post.metadata]
    if missing:
        raise ArticleError(f"{path.name}: missing {', '.join(missing)}")
    slug = str(post["slug"])
    if not SLUG.match(slug) or slug != path.stem:
        raise ArticleError(f"{path.name}: slug must be lower-case words joined by hyphens, matching the file name")
    updated = post["updated"]
    if not isinstance(updated, date):
        raise ArticleError(f"{path.name}: updated must be a date (YYYY-MM-DD)")
    return Article(
        slug=slug,
        title=str(post["title"]),
        summary=str(post["summary"]),
        body_areas=_codes(post, "body_areas", vocabulary.codes(vocabulary.BODY_REGIONS), path),
        symptoms=_codes(post, "symptoms", vocabulary.codes(vocabulary.SENSATIONS), path),
        conditions=_codes(post, "conditions", CONDITIONS, path),
        audience=str(post["audience"]),
        updated=updated,
        body=post.content,
        html=render_markdown(post.content),
        word_count=len(WORD.findall(post.content)),
    )


def load_articles(folder: Path = CONTENT_FOLDER) -> list[Article]:
    """Load every article in a folder, sorted by title; refuse duplicate slugs."""
    articles = sorted((parse_article(path) for path in folder.glob("*.md")), key=lambda article: article.title)
    if len({article.slug for article in articles}) != len(articles):
        raise ArticleError("Two articles share a slug")
    return articles

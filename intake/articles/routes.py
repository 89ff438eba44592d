"""Article pages: the library with a body-area filter and word search, and each article."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template, request

from intake.clinic import vocabulary
from intake.articles.matcher import ArticleIndex

bp = Blueprint("articles", __name__, url_prefix="/articles")
QUERY_LIMIT = 100


def article_index() -> ArticleIndex:
    """The index built once at start-up."""
    return current_app.extensions["article_index"]


@bp.get("/")
def library():
    """All articles, narrowed by body area and search words."""
    query = request.args.get("q", "")[:QUERY_LIMIT].strip()
    area = request.args.get("area", "")
    if area not in vocabulary.codes(vocabulary.BODY_REGIONS):
        area = ""
    articles = article_index().search(query, area)
    return render_template("articles/library.html", articles=articles, query=query, area=area)


@bp.get("/<slug>")
def article(slug: str):
    """One article, with related reading at the foot."""
    index = article_index()
    found = next((item for item in index.articles if item.slug == slug), None) or abort(404)
    return render_template("articles/article.html", article=found, related=index.related(found))

"""Benchmark: ranking 500 articles for one intake must take under 5 ms once the index is built.

Run: .venv/bin/python benchmarks/article_matching.py
The 26 real articles are repeated with changed slugs and titles to make 500, the index is
built once (as at start-up), then one realistic intake is ranked many times.
"""

from __future__ import annotations

import dataclasses
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from intake.articles.library import load_articles  # noqa: E402
from intake.articles.matcher import ArticleIndex, IntakeProfile, recommend  # noqa: E402

TARGET_MS = 5.0
LIBRARY_SIZE = 500
RUNS = 300


def library_of(size: int):
    """Copies of the real articles, each with its own slug and title, up to `size`."""
    real = load_articles()
    return [
        dataclasses.replace(article, slug=f"{article.slug}-{number}", title=f"{article.title} ({number})")
        for number in range(size // len(real) + 1)
        for article in real
    ][:size]


def main() -> int:
    started = time.perf_counter()
    index = ArticleIndex.build(library_of(LIBRARY_SIZE))
    build_ms = (time.perf_counter() - started) * 1000
    profile = IntakeProfile(
        region="lower_back",
        sensations=("spreading_pain", "numbness", "pins_and_needles"),
        duration="6_to_12_weeks",
        onset="gradual",
        text=(
            "Pain started in my lower back after gardening and now spreads down the back of my left leg to my foot. "
            "My toes feel numb and tingle when I sit for long. I want to get back to walking the dog and playing golf."
        ),
    )
    recommend(index, profile)  # warm up
    timings = []
    for _ in range(RUNS):
        started = time.perf_counter()
        recommend(index, profile)
        timings.append((time.perf_counter() - started) * 1000)
    median, worst_5 = statistics.median(timings), sorted(timings)[int(RUNS * 0.95)]
    print(f"articles: {len(index.articles)}; index built once in {build_ms:.0f} ms")
    print(f"ranking one intake: median {median:.2f} ms, 95th percentile {worst_5:.2f} ms over {RUNS} runs (target < {TARGET_MS} ms)")
    passed = median < TARGET_MS
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())

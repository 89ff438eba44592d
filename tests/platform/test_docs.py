"""A clone of the repository has what a newcomer needs: the README points only inside it."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def test_the_readme_sends_readers_only_to_files_the_repository_has():
    readme = (PROJECT_ROOT / "README.md").read_text()
    assert "../shared" not in readme
    linked = set(re.findall(r"`((?:docs|benchmarks)/[\w./-]+\.md)`", readme))
    assert "docs/architecture.md" in linked
    assert [path for path in sorted(linked) if not (PROJECT_ROOT / path).is_file()] == []


def test_the_architecture_notes_name_only_modules_that_exist():
    notes = (PROJECT_ROOT / "docs" / "architecture.md").read_text()
    named = set(re.findall(r"`((?:intake|tests)/[\w/]+\.py)`", notes))
    assert named, "the notes name the modules a newcomer should open"
    assert [path for path in sorted(named) if not (PROJECT_ROOT / path).is_file()] == []

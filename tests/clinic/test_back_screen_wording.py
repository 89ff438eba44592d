"""The back-pain screen's wording comes from a file a clinic can replace; a file that cannot be
used stops the app starting, saying what to fix; the shipped wording never names a licensed tool."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from intake import create_app
from intake.clinic.back_screen import (
    BOTHER_LEVELS, BOTHERSOME, DEFAULT_WORDING_FILE, LONGEST_TEXT, STATEMENTS, WordingFileError, load_wording,
)
from intake.platform.config import build_config

SHIPPED = DEFAULT_WORDING_FILE.read_text(encoding="utf-8")
# Names of published back-pain questionnaires: the shipped wording is our own and must not claim to be one.
PUBLISHED_TOOL_NAMES = re.compile(r"start\s*back|keele|örebro|orebro|screening tool", re.IGNORECASE)


def replaced(old: str, new: str, text: str = SHIPPED) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "wording.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_wording_gives_all_nine_questions_and_every_answer():
    wording = load_wording()
    assert [code for code, _ in wording.questions] == [*STATEMENTS, BOTHERSOME]
    assert all(words.strip() for _, words in wording.questions)
    assert set(wording.answer_words) == {"agree", "disagree", *BOTHER_LEVELS}
    assert wording.notice == ""


def test_the_shipped_wording_never_names_a_published_questionnaire():
    wording = load_wording()
    shown = [wording.staff_name, wording.intro, wording.notice, *(words for _, words in wording.questions), *wording.answer_words.values()]
    assert [text for text in shown if PUBLISHED_TOOL_NAMES.search(text)] == []
    assert "not a validated questionnaire" in wording.staff_name  # staff are told what the score rests on


def test_a_clinic_file_replaces_every_word_and_keeps_the_codes(tmp_path, monkeypatch):
    licensed = replaced('notice = ""', 'notice = "Wording used under licence."')
    licensed = replaced('never_better = "My back pain feels awful and I doubt it will ever improve."', 'never_better = "Licensed words for item seven."', licensed)
    monkeypatch.setenv("BACK_SCREEN_WORDING_FILE", str(write(tmp_path, licensed)))
    wording = build_config(tmp_path)["BACK_SCREEN_WORDING"]
    assert dict(wording.statements)["never_better"] == "Licensed words for item seven."
    assert wording.notice == "Wording used under licence."


def test_without_a_setting_the_shipped_wording_is_used(tmp_path, monkeypatch):
    monkeypatch.delenv("BACK_SCREEN_WORDING_FILE", raising=False)
    assert build_config(tmp_path)["BACK_SCREEN_WORDING"] == load_wording(DEFAULT_WORDING_FILE)


def test_line_breaks_and_runs_of_spaces_in_the_file_become_single_spaces(tmp_path):
    text = replaced('agree = "Agree"', 'agree = """Agree\n   entirely"""')
    assert load_wording(write(tmp_path, text)).agree == "Agree entirely"


@pytest.mark.parametrize(("change", "message"), [
    (('worrying_thoughts = "My mind has been full of worries much of the time."\n', ""), r"\[statements\] worrying_thoughts must be some text"),
    (("worrying_thoughts =", "worrying_thought ="), r"worrying_thought is not part of the screen"),
    (('slightly = "A little"', 'slightly = "   "'), r"\[bothersome\] slightly must be some text"),
    (('agree = "Agree"', "agree = 1"), r"agree must be some text"),
    (('disagree = "Disagree"', f'disagree = "{"x" * (LONGEST_TEXT + 1)}"'), rf"disagree is longer than {LONGEST_TEXT} characters"),
    (("[bothersome]", "[bothered]"), r"bothered is not part of the screen"),
    (('intro = "', 'intro = '), r"is not a TOML file"),
])
def test_a_file_that_cannot_be_used_is_refused_with_what_to_fix(tmp_path, change, message):
    path = write(tmp_path, replaced(*change))
    with pytest.raises(WordingFileError, match=message) as refused:
        load_wording(path)
    assert str(path) in str(refused.value)


def test_a_missing_file_is_refused_by_name(tmp_path):
    with pytest.raises(WordingFileError, match=r"missing\.toml: cannot be read"):
        load_wording(tmp_path / "missing.toml")


def test_the_app_refuses_to_start_with_a_wording_file_it_cannot_use(tmp_path, monkeypatch):
    monkeypatch.setenv("BACK_SCREEN_WORDING_FILE", str(write(tmp_path, replaced("[statements]", "[statement]"))))
    with pytest.raises(WordingFileError, match=r"\[statement\]|statement is not part of the screen"):
        create_app({"TESTING": True, "INSTANCE_PATH": tmp_path, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db'}"})

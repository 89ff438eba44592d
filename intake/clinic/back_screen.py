"""The back-pain screen's nine questions: their fixed codes, and their wording, read from a file.

The structure follows shared/CLINICAL.md ("Risk stratification for back pain"): eight
statements about the last two weeks, each agreed or disagreed with, then how bothersome the
pain has been, on five levels. The codes are stored with every request and scored by
intake.triage.back_risk, so they never change; the words are the clinic's to choose. The
wording shipped (back_screen_wording.toml) is this project's own plain English. A clinic
licensed to use a published questionnaire's exact wording points BACK_SCREEN_WORDING_FILE at
its own copy of the file instead (README: "The back-pain screen").
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_WORDING_FILE = Path(__file__).resolve().parent / "back_screen_wording.toml"

# Statements 1-8, in the order they are asked; agreeing with one scores 1.
STATEMENTS = (
    "leg_pain", "shoulder_or_neck_pain", "short_walks", "slow_dressing",
    "activity_unsafe", "worrying_thoughts", "never_better", "no_enjoyment",
)
# Question 9, and its five answers from least to most.
BOTHERSOME = "bothersome"
BOTHER_LEVELS = ("not_at_all", "slightly", "moderately", "very_much", "extremely")
AGREEMENT = ("agree", "disagree")
ITEMS = (*STATEMENTS, BOTHERSOME)

# The longest text the file may give for one piece of wording: enough for a long question, short
# enough that a mistaken paste shows up when the app starts rather than on a patient's phone.
LONGEST_TEXT = 400
TEXT_KEYS = ("staff_name", "intro", "notice", "agree", "disagree")


class WordingFileError(ValueError):
    """The wording file cannot be used; the message names the file and what to fix."""


@dataclass(frozen=True)
class BackScreenWording:
    """What patients and staff read of the screen. `notice` (may be empty) is shown under the
    questions, for a licence's copyright line; `staff_name` is how the back office names it."""

    staff_name: str
    intro: str
    notice: str
    agree: str
    disagree: str
    statements: tuple[tuple[str, str], ...]  # (code, words) for each of STATEMENTS, in order
    bothersome: str
    bother_levels: tuple[tuple[str, str], ...]  # (code, words) for each of BOTHER_LEVELS, in order

    @property
    def questions(self) -> tuple[tuple[str, str], ...]:
        """(code, words) of all nine items, in the order they are asked."""
        return (*self.statements, (BOTHERSOME, self.bothersome))

    @property
    def answer_words(self) -> dict[str, str]:
        """The words of every answer, by its code."""
        return {"agree": self.agree, "disagree": self.disagree, **dict(self.bother_levels)}


def _text(table: dict[str, Any], key: str, where: str, source: Path, *, optional: bool = False) -> str:
    """One piece of wording from the file: a string of at most LONGEST_TEXT characters, not blank unless optional."""
    value = table.get(key, "" if optional else None)
    if not isinstance(value, str) or (not optional and not value.strip()):
        raise WordingFileError(f"{source}: {where}{key} must be some text in quotes.")
    if len(value) > LONGEST_TEXT:
        raise WordingFileError(f"{source}: {where}{key} is longer than {LONGEST_TEXT} characters.")
    return " ".join(value.split())


def _known_keys_only(table: dict[str, Any], allowed: tuple[str, ...], where: str, source: Path) -> None:
    """Refuse keys the screen does not use (most often a misspelt code, whose wording would be lost)."""
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise WordingFileError(f"{source}: {where}{', '.join(unknown)} is not part of the screen (expected {', '.join(allowed)}).")


def _table(raw: dict[str, Any], key: str, source: Path) -> dict[str, Any]:
    table = raw.get(key)
    if not isinstance(table, dict):
        raise WordingFileError(f"{source}: the file needs a [{key}] section.")
    return table


def load_wording(path: Path | str | None = None) -> BackScreenWording:
    """Read and check a wording file (the shipped one when no path is given)."""
    source = Path(path) if path else DEFAULT_WORDING_FILE
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
    except OSError as error:
        raise WordingFileError(f"{source}: cannot be read ({error.strerror}).") from error
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise WordingFileError(f"{source}: is not a TOML file ({error}).") from error
    _known_keys_only(raw, (*TEXT_KEYS, "statements", BOTHERSOME), "", source)
    statements, bothersome = _table(raw, "statements", source), _table(raw, BOTHERSOME, source)
    _known_keys_only(statements, STATEMENTS, "[statements] ", source)
    _known_keys_only(bothersome, ("question", *BOTHER_LEVELS), f"[{BOTHERSOME}] ", source)
    return BackScreenWording(
        staff_name=_text(raw, "staff_name", "", source),
        intro=_text(raw, "intro", "", source),
        notice=_text(raw, "notice", "", source, optional=True),
        agree=_text(raw, "agree", "", source),
        disagree=_text(raw, "disagree", "", source),
        statements=tuple((code, _text(statements, code, "[statements] ", source)) for code in STATEMENTS),
        bothersome=_text(bothersome, "question", f"[{BOTHERSOME}] ", source),
        bother_levels=tuple((code, _text(bothersome, code, f"[{BOTHERSOME}] ", source)) for code in BOTHER_LEVELS),
    )

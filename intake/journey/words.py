"""The red flags in a draft's free text, as the journey and the stored request need them.

The pages that ask about them are in journey.py (`words_to_check`); the reading itself is
intake.triage.free_text. Here: the patient's answers to those direct questions, the record of
every flag their words ever showed (kept in the draft, so taking the words out does not hide
that they were written), and the flags a request stores for the clinician.
"""

from __future__ import annotations

from typing import Any

from intake.journey.journey import WORDS_SOURCES, Answers, words_to_check
from intake.triage.free_text import AnsweredFlag, category, find_in_fields

# Where the draft keeps every red flag the patient's words have shown, even after they change them.
WORDS_SEEN = "words_seen"
TEXT_FIELDS = {field: source for source, fields in WORDS_SOURCES.values() for field in fields}
ANSWERS = {"yes": True, "no": False}


def _texts(answers: Answers) -> dict[str, str]:
    """The patient's free text, by field name."""
    return {field: answers.get(source, {}).get(field) or "" for field, source in TEXT_FIELDS.items()}


def answered_flags(answers: Answers) -> list[AnsweredFlag]:
    """The red flags the words pages ask about now, with the patient's answer to each (None: not yet)."""
    return [
        AnsweredFlag(match.category, ANSWERS.get(answers.get(key, {}).get(match.category)))
        for key in WORDS_SOURCES for _, match in words_to_check(answers, key)
    ]


def with_words_seen(answers: Answers) -> Answers:
    """The answers with the red flags their words show now added to those they showed before (by
    category, under WORDS_SEEN, left out while there are none)."""
    seen = dict(answers.get(WORDS_SEEN) or {})
    for field, match in find_in_fields(_texts(answers)):
        seen.setdefault(match.category, {"field": field, "words": match.words, "quote": match.quote})
    return {**answers, WORDS_SEEN: seen} if seen else answers


def words_ever_flagged(answers: Answers) -> bool:
    """Whether the patient's words show a red flag now, or did before they changed them."""
    return bool(answers.get(WORDS_SEEN) or find_in_fields(_texts(answers)))


def _answer_given(answers: Answers, code: str, current: bool, asked: dict[str, str]) -> str | None:
    """The patient's answer about a flag: on the words page that asks it now, or, for words since
    taken out, the last answer they gave on either words page."""
    if current:
        return answers.get(asked[code], {}).get(code) if code in asked else None
    return next((answers[page][code] for page in WORDS_SOURCES if code in answers.get(page, {})), None)


def flags_in_words(answers: Answers) -> list[dict[str, Any]]:
    """Every red flag in the patient's words, as the request stores it for the clinician: the
    category, its level, reason and question, where and what they wrote, their answer when asked
    directly ("yes", "no", or None: not asked, because they had ticked yes to that safety question
    already), and whether the words are still in what they sent (`current`)."""
    asked = {match.category: key for key in WORDS_SOURCES for _, match in words_to_check(answers, key)}
    now = {match.category: {"field": field, "words": match.words, "quote": match.quote} for field, match in find_in_fields(_texts(answers))}
    earlier = {code: seen for code, seen in (answers.get(WORDS_SEEN) or {}).items() if code not in now}
    flags = []
    for current, found in ((True, now), (False, earlier)):
        for code, where in found.items():
            flagged = category(code)
            flags.append({
                "category": code, "level": flagged.level.value, "reason": flagged.reason, "question": flagged.question,
                **where, "answer": _answer_given(answers, code, current, asked), "current": current,
            })
    return flags

"""Red flags in the patient's own words: find emergency and urgent signs in free text.

Patients often describe a red flag in a text box and then answer No to the matching safety
question. This module reads the text (plain English, slang, common misspellings, British or
American spelling) and reports each likely sign with the category of safety question it points
to, its level and the exact words, so the journey can quote them back and ask directly.
Pure Python, no outside service, no Flask or database: the same text always gives the same flags.

How a text is read:
1. Folded: lower case, accents and curly quotes folded, apostrophes dropped ("can't" -> "cant").
2. Cut into words and clause breaks (. ! ? ; new line, "but", "although", "however").
3. Words spelt the usual wrong ways are mended ("numbess" -> "numb", "bladdder" -> "bladder"),
   and phrases that mean the same are made one ("unable to" / "not able to" -> "cant",
   "down below" / "between my legs" / "back passage" -> "saddle").
4. Each category's patterns (intake.triage.free_text_patterns) are matched on the folded words.
   A match is dropped when a negation comes a few words before it in the same clause ("no
   numbness between my legs", "not leaking"), when it is hypothetical ("in case I get ..."), or
   when the clause shows an ordinary cause the category names ("legs like jelly after the
   marathon", "my mum had cancer", "trying to lose weight").
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple

from intake.triage.free_text_patterns import CATEGORIES, MULTI_WORD, SPELLING, Category
from intake.triage.questions import QUESTIONS_BY_CODE, Advice
from intake.triage.red_flags import Reason, TriageResult, Urgency

CLAUSE = "|"
CLAUSE_WORDS = frozenset({"but", "although", "though", "however", "except", "whereas", ".", "!", "?", ";", "\n"})
NEGATORS = frozenset({
    "no", "not", "never", "without", "dont", "doesnt", "didnt", "isnt", "arent", "wasnt", "werent",
    "havent", "hasnt", "hadnt", "wont", "none", "nor", "neither", "nothing", "denies", "deny", "nil",
})
NEGATION_WINDOW = 5  # words before a match in which a negation cancels it
HYPOTHETICAL = re.compile(
    r"\b(in case|what if|if (i|it|they|you) (ever|get|got|develop|start|notice|had|have)|watch (out )?for|look out for|"
    r"warned|worried (about|that)|scared (of|that)|afraid (of|that)|told (me )?to (go|call|ring)|just in case)\b"
)
# For each first word of a phrase in MULTI_WORD, the lengths of its phrases, longest first.
PHRASE_LENGTHS = {
    first: sorted({len(phrase) for phrase in MULTI_WORD if phrase[0] == first}, reverse=True) for first in {phrase[0] for phrase in MULTI_WORD}
}
QUOTE_LIMIT = 160  # characters of the patient's sentence quoted back at most
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)*|[.!?;\n]")
SENTENCE_END = re.compile(r"[.!?;\n]")
QUOTES = str.maketrans(dict.fromkeys("\u2018\u2019\u02bc`\u00b4", "'"))


@dataclass(frozen=True)
class FreeTextMatch:
    """One likely red flag in a text: its category and level, and where the words are.

    `start`/`end` index the patient's own text (so `words` is exactly what they typed), and
    `quote` is the sentence around them, to show back as "You wrote: ...".
    """

    category: str
    level: Urgency
    start: int
    end: int
    words: str
    quote: str


class _Word(NamedTuple):
    """A folded word, and where the patient's words it stands for start and end."""

    text: str
    start: int
    end: int


def _fold(text: str) -> str:
    """Lower case, accents and typographic quotes folded, one character for each of the text's."""
    text = text.translate(QUOTES)
    if text.isascii():
        return text.lower()
    return "".join(char.lower() if char.isascii() else _fold_char(char) for char in text)


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    """One character folded to one ASCII character: its letter without accents, else x or a space."""
    base = "".join(part for part in unicodedata.normalize("NFKD", char) if not unicodedata.combining(part)).lower()[:1]
    return base if base.isascii() and base else ("x" if char.isalnum() else " ")


def _words(text: str) -> list[_Word]:
    """The text's words (apostrophes dropped, spelling mended) and clause breaks, with their places."""
    words: list[_Word] = []
    for found in WORD.finditer(_fold(text)):
        token = found.group().replace("'", "")
        token = CLAUSE if token in CLAUSE_WORDS else SPELLING.get(token, token)
        words.append(_Word(token, *found.span()))
    return _join_phrases(words)


def _join_phrases(words: list[_Word]) -> list[_Word]:
    """Replace the phrases of MULTI_WORD by their one-word meaning, longest phrase first."""
    joined: list[_Word] = []
    index = 0
    while index < len(words):
        for length in PHRASE_LENGTHS.get(words[index].text, ()):
            if index + length > len(words):
                continue
            phrase = tuple(word.text for word in words[index:index + length])
            meaning = MULTI_WORD.get(phrase)
            if meaning is not None:
                joined.extend(_Word(part, words[index].start, words[index + length - 1].end) for part in meaning.split())
                index += length
                break
        else:
            joined.append(words[index])
            index += 1
    return joined


class _Folded:
    """A text as one string of folded words, able to map a match back to the patient's words."""

    def __init__(self, text: str) -> None:
        self.words = _words(text)
        self.string = " ".join(word.text for word in self.words)
        self.word_at: list[int] = []
        for index, word in enumerate(self.words):
            self.word_at.extend([index] * (len(word.text) + 1))

    def clause_around(self, first: int, last: int) -> tuple[int, int]:
        """The word indexes where the clause holding words first..last starts and ends."""
        start = first
        while start > 0 and self.words[start - 1].text != CLAUSE:
            start -= 1
        end = last
        while end + 1 < len(self.words) and self.words[end + 1].text != CLAUSE:
            end += 1
        return start, end

    def text_of(self, start: int, end: int) -> str:
        return " ".join(word.text for word in self.words[start:end + 1])


def _cancelled(folded: _Folded, category: Category, first: int, last: int) -> bool:
    """Whether a match is negated, hypothetical, or has an ordinary cause in its clause."""
    clause_start, clause_end = folded.clause_around(first, last)
    before = [word.text for word in folded.words[max(clause_start, first - NEGATION_WINDOW):first]]
    if NEGATORS.intersection(before):
        return True
    if HYPOTHETICAL.search(folded.text_of(clause_start, first - 1)):
        return True
    return bool(category.ordinary and category.ordinary.search(folded.text_of(clause_start, clause_end)))


def _quote(text: str, start: int, end: int) -> str:
    """The sentence around the patient's words, cut down around them if it is long."""
    sentence_start = max((found.end() for found in SENTENCE_END.finditer(text, 0, start)), default=0)
    found_end = SENTENCE_END.search(text, end)
    sentence_end = found_end.start() if found_end else len(text)
    if sentence_end - sentence_start > QUOTE_LIMIT:
        margin = max(0, (QUOTE_LIMIT - (end - start)) // 2)
        sentence_start, sentence_end = max(sentence_start, start - margin), min(sentence_end, end + margin)
        quote = text[sentence_start:sentence_end].strip()
        return ("…" if sentence_start > 0 else "") + quote + ("…" if sentence_end < len(text) else "")
    return " ".join(text[sentence_start:sentence_end].split())


def find_red_flags(text: str) -> list[FreeTextMatch]:
    """Every category of red flag the text likely describes, once each, in the order of CATEGORIES."""
    return list(_red_flags(text))


@lru_cache(maxsize=64)
def _red_flags(text: str) -> tuple[FreeTextMatch, ...]:
    """find_red_flags, remembered for the last few texts: a page asks about the same answers several
    times (which pages apply, which is next, the urgency)."""
    if not text or not text.strip():
        return ()
    folded = _Folded(text)
    matches = []
    for category in CATEGORIES:
        if category.needs and not category.needs.search(folded.string):
            continue
        for pattern in category.patterns:
            match = _first_match(folded, category, pattern)
            if match is not None:
                start, end = match
                matches.append(FreeTextMatch(category.code, category.level, start, end, text[start:end], _quote(text, start, end)))
                break
    return tuple(matches)


def _first_match(folded: _Folded, category: Category, pattern: re.Pattern[str]) -> tuple[int, int] | None:
    """The patient-text span of the first match of `pattern` that starts a word and is not cancelled."""
    string, position = folded.string, 0
    while (found := pattern.search(string, position)) is not None:
        start = found.start()
        position = start + 1
        if found.end() <= start or (start > 0 and string[start - 1] != " "):
            continue
        first, last = folded.word_at[start], folded.word_at[found.end() - 1]
        if not _cancelled(folded, category, first, last):
            return folded.words[first].start, folded.words[last].end
    return None


def find_in_fields(texts: Mapping[str, str], skip: Iterable[str] = ()) -> list[tuple[str, FreeTextMatch]]:
    """The red flags of several texts as (field name, match), each category once (the first
    field that shows it), leaving out the categories in `skip` (asked about already)."""
    seen = set(skip)
    found = []
    for field, text in texts.items():
        for match in find_red_flags(text or ""):
            if match.category not in seen:
                seen.add(match.category)
                found.append((field, match))
    return found


def category(code: str) -> Category:
    """The category with this code."""
    return CATEGORIES_BY_CODE[code]


CATEGORIES_BY_CODE = {entry.code: entry for entry in CATEGORIES}


@dataclass(frozen=True)
class AnsweredFlag:
    """A red flag found in the patient's words as it stands now, and their answer when asked
    directly: True (yes), False (no) or None (not asked yet)."""

    category: str
    answer: bool | None


def flag_level(flag: AnsweredFlag) -> Urgency | None:
    """The urgency a flag in the patient's words gives their request (the rule, in one place).

    - Yes to the direct question: the category's own level, exactly as if they had ticked Yes to
      the matching safety question (emergency: A&E now or 999; urgent: GP or 111 today).
    - No to an emergency sign: urgent. The patient wrote words that can mean an emergency, so a
      clinician reads the request before anything is booked; it is never silently routine.
    - No to an urgent sign: no level of its own. It is a soft flag a clinician sees (and the
      request is not offered self-booking), so the patient is not sent to a GP for words they
      have just told us do not apply.
    - Not answered yet: no level (the journey does not let a request be sent until it is).
    """
    if flag.answer is None:
        return None
    level = category(flag.category).level
    if flag.answer:
        return level
    return Urgency.URGENT if level is Urgency.EMERGENCY else None


def flag_advice(flag: AnsweredFlag) -> Advice | None:
    """The care card a flag in the patient's words leads to (None: no card, see flag_level): 999 or
    A&E for a yes to an emergency sign; for a yes to another sign, the card of the safety question
    it matches (a painful swollen calf: help the same day); otherwise a GP today."""
    level = flag_level(flag)
    if level is None:
        return None
    if level is Urgency.EMERGENCY:
        return Advice.EMERGENCY
    question = QUESTIONS_BY_CODE.get(flag.category)
    return question.advice if flag.answer and question is not None else Advice.GP_TODAY


def strongest(levels: Sequence[Urgency | None]) -> Urgency:
    """The most urgent of some levels (routine when there are none)."""
    order = (Urgency.EMERGENCY, Urgency.URGENT)
    return next((level for level in order if level in levels), Urgency.ROUTINE)


def with_free_text(result: TriageResult, flags: Sequence[AnsweredFlag]) -> TriageResult:
    """The triage of the ticked answers, with the flags in the patient's words added (flag_level):
    a flag with a level is a reason for the urgency; a No to an urgent sign is a soft flag."""
    reasons, soft_flags = list(result.reasons), list(result.soft_flags)
    levels: list[Urgency | None] = [result.urgency]
    for flag in flags:
        if flag.answer is None:
            continue
        level = flag_level(flag)
        said = "yes" if flag.answer else "no"
        reason = Reason(f"words_{flag.category}", f"{category(flag.category).reason} (asked directly, they answered {said})", flag_advice(flag))
        (reasons if level else soft_flags).append(reason)
        levels.append(level)
    return TriageResult(urgency=strongest(levels), reasons=tuple(reasons), soft_flags=tuple(soft_flags))

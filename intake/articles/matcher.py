"""Rank articles for a patient's answers: structured evidence first, then their own words.

Pure Python (no Flask, no database): the index is built once at start-up and each
ranking is a few dictionary look-ups per article, so 500 articles rank in well under 5 ms.
Text relevance is BM25 over titles, summaries and bodies, with Snowball stemming so that
"numb" and "numbness" meet, and a few patient synonyms ("tingling" → pins and needles).
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import snowballstemmer

from intake.articles.library import Article, load_articles

# BM25 parameters (the usual defaults) and how much each part of an article counts.
K1, B = 1.2, 0.75
FIELD_WEIGHTS = (("title", 3), ("summary", 2), ("body", 1))

# Structured evidence outweighs words: a red flag beats everything, the body area beats
# the patient's own words, and words only order what the answers leave level. The answers
# about when and how the problem began, age and nerve symptoms move articles up or down
# within the body area, so that (say) a two-year back ache reads about persistent pain first.
RED_FLAG_SCORE = 1000.0
AREA_SCORE = 100.0
NERVE_SCORE = 80.0
LONG_STANDING_SCORE = 70.0
PAIN_EDUCATION_LONG_STANDING_SCORE = 10.0  # how pain works comes first among the general reading
AFTER_SURGERY_SCORE = 200.0  # after an operation, rehab comes before anything about the body area
SYMPTOM_SCORE = 8.0
TEXT_SCORE_MAX = 40.0
GENERAL_SCORE = 5.0  # general reading (first appointment, staying active) fills any gaps
OFF_AREA_TEXT_FACTOR = 0.1  # words alone rarely justify an article about another part of the body
RECENT_SCORE = 20.0
NOT_RECENT_SCORE = -60.0  # an article about new pain, for pain of more than 3 months
INJURY_SCORE = 30.0  # an article about an injury, for a problem that began with one
NO_INJURY_SCORE = -50.0  # an article about an injury, for a problem that began without one
WEAR_AFTER_INJURY_SCORE = -30.0  # an article about slow wear and tear, for a problem that began with an injury
OLDER_AGE, YOUNGER_AGE = 50, 45
AGE_FIT_SCORE = 15.0  # an article about slow changes mostly after 50, for someone of 50 or over whose pain is not new
AGE_MISFIT_SCORE = -40.0  # ... for someone under 45
SLOW_CHANGE_NEW_PAIN_SCORE = -20.0  # pain of under 2 weeks is rarely the slow changes of age alone
NOT_LONG_STANDING_SCORE = -30.0  # an article about long-term pain in one area, for pain of under 6 weeks
TITLE_WORD_SCORE, TITLE_WORDS_COUNTED = 10.0, 2  # the title names what the patient described
TOPIC_SCORE = 20.0  # general reading about what the patient asks about
TOPIC_WORDS = {"exercise": "exercise exercising gym fit fitness active activity sport"}
# The back-pain screen's psychosocial risk (point 3 of issue 17): the higher it is, the sooner
# the patient reads how pain works. High risk puts it first for new back pain whatever the patient
# wrote: above the new-pain article's area and recency (120) plus the most words can add (60).
RISK_SCORES = {"high": 180.0, "medium": 30.0}

NERVE_SENSATIONS = ("spreading_pain", "numbness", "pins_and_needles", "weakness")
LEG_REGIONS = frozenset({"lower_back", "hip", "knee", "ankle_foot"})
ARM_REGIONS = frozenset({"neck", "shoulder", "elbow", "wrist_hand"})
SENSATION_WORDS = {"numbness": "numbness", "pins_and_needles": "pins and needles", "weakness": "weakness"}
# Articles about one kind of symptom sink for a patient who reported neither the symptom nor
# words for it: condition -> (sensations that point to it, words that do, score without either).
NEEDS_EVIDENCE = {
    "nerve_pain": (NERVE_SENSATIONS, "numb tingling pins needles sciatica shooting nerve", -40.0),
    "headache": (("headaches",), "headache headaches migraine", -20.0),
    "frozen_shoulder": (("stiffness",), "stiff frozen", -20.0),
    "sleep": ((), "sleep sleeping asleep awake wake waking insomnia tired", -30.0),
}
RECENT_DURATIONS = frozenset({"under_2_weeks", "2_to_6_weeks"})
LONG_STANDING, NEWEST = "over_3_months", "under_2_weeks"
INJURY_CONDITIONS = frozenset({"sprain", "ligament", "whiplash"})  # articles about what one injury did
NOT_INJURED_ONSETS = frozenset({"gradual", "after_surgery"})
# Articles for one group of people only count when the patient's own words point to it.
AUDIENCE_STEMS = {"pregnancy": frozenset({"pregnant", "pregnanc", "midwif", "bump", "trimest", "antenat"})}
REGION_WORDS = {
    "lower_back": "lower back", "upper_back": "upper back", "neck": "neck", "shoulder": "shoulder",
    "elbow": "elbow", "wrist_hand": "wrist or hand", "hip": "hip", "knee": "knee",
    "ankle_foot": "ankle or foot", "head_jaw": "head or jaw",
}
STOP_WORDS = frozenset(
    "a about after again all also am an and any are as at be because been before being but by can could did do "
    "does doing down for from get got had has have having he her here him his how i if in into is it its just "
    "me more most my no not now of off on once only or other our out over own same she so some still such than "
    "that the their them then there these they this those through to too under until up very was we were what "
    "when where which while who why will with would you your".split()
    # Words patients use a lot that say nothing about which article fits.
    + "ago bit day days done get getting go going got like lot made make making month months really since start "
    "started thing things time times want wanted week weeks without year years".split()
)
# Words patients use for the same thing, folded together before stemming.
SYNONYMS = {"tingling": "pins needles", "tingly": "pins needles", "tingle": "pins needles", "numbed": "numb"}
TOKEN = re.compile(r"[a-z]+")
_stemmer = snowballstemmer.stemmer("english")


def tokens(text: str) -> list[str]:
    """Lower-case words minus stop words, with patient synonyms folded in, not yet stemmed."""
    words: list[str] = []
    for word in TOKEN.findall(text.lower()):
        if word in STOP_WORDS or len(word) < 2:
            continue
        words.extend(SYNONYMS.get(word, word).split())
    return words


def stems(text: str) -> list[str]:
    """The stemmed terms of a text."""
    return _stemmer.stemWords(tokens(text))


@dataclass(frozen=True)
class IntakeProfile:
    """What the patient told us that bears on their reading."""

    region: str
    sensations: tuple[str, ...] = ()
    duration: str = ""
    onset: str = ""
    urgency: str = "routine"
    text: str = ""
    age: int | None = None  # in years, when known
    risk: str = ""  # the back-pain screen's risk, "low", "medium" or "high"; "" when not screened


@dataclass(frozen=True)
class Recommendation:
    """An article chosen for a patient, with the reason in words they will recognise."""

    article: Article
    reason: str
    score: float


@dataclass(frozen=True)
class ArticleFacts:
    """An article's codes as sets, and its title's terms, worked out once when the index is built."""

    areas: frozenset[str]
    symptoms: frozenset[str]
    conditions: frozenset[str]
    title_terms: frozenset[str]

    @classmethod
    def of(cls, article: Article) -> ArticleFacts:
        return cls(frozenset(article.body_areas), frozenset(article.symptoms), frozenset(article.conditions), frozenset(stems(article.title)))


@dataclass(frozen=True)
class PatientFacts:
    """What ranking needs from a profile, worked out once per ranking rather than once per article."""

    profile: IntakeProfile
    sensations: frozenset[str]
    nerve: tuple[str, ...]
    stems: frozenset[str]
    unsupported: dict[str, float]  # condition -> score, for articles about symptoms the patient did not report
    topics: frozenset[str]  # conditions of general reading the patient asked about

    @classmethod
    def of(cls, profile: IntakeProfile) -> PatientFacts:
        sensations, patient_stems = frozenset(profile.sensations), frozenset(stems(profile.text))
        return cls(
            profile=profile,
            sensations=sensations,
            nerve=tuple(code for code in NERVE_SENSATIONS if code in sensations),
            stems=patient_stems,
            unsupported={
                condition: score for condition, (codes, _, score) in NEEDS_EVIDENCE.items()
                if not sensations & set(codes) and not _EVIDENCE_STEMS[condition] & patient_stems
            },
            topics=frozenset(condition for condition, words in _TOPIC_STEMS.items() if words & patient_stems),
        )


@dataclass
class ArticleIndex:
    """Everything ranking needs, computed once from the library."""

    articles: list[Article]
    term_weights: dict[str, dict[int, float]] = field(default_factory=dict)
    facts: list[ArticleFacts] = field(default_factory=list)

    @classmethod
    def build(cls, articles: list[Article]) -> ArticleIndex:
        """Precompute each term's BM25 weight in each article."""
        index = cls(articles=list(articles))
        documents = []
        for article in index.articles:
            counts: Counter[str] = Counter()
            for field_name, weight in FIELD_WEIGHTS:
                for term in stems(getattr(article, field_name)):
                    counts[term] += weight
            documents.append(counts)
        average_length = sum(sum(counts.values()) for counts in documents) / max(len(documents), 1)
        frequencies: Counter[str] = Counter(term for counts in documents for term in counts)
        total = len(documents)
        weights: dict[str, dict[int, float]] = defaultdict(dict)
        for position, counts in enumerate(documents):
            length = sum(counts.values())
            for term, frequency in counts.items():
                idf = math.log(1 + (total - frequencies[term] + 0.5) / (frequencies[term] + 0.5))
                weights[term][position] = idf * frequency * (K1 + 1) / (frequency + K1 * (1 - B + B * length / average_length))
        index.term_weights = dict(weights)
        index.facts = [ArticleFacts.of(article) for article in index.articles]
        return index

    def text_scores(self, text: str, ignore: frozenset[str] = frozenset()) -> tuple[dict[int, float], dict[int, list[tuple[float, str]]]]:
        """BM25 score of each article for a text, and which of the text's words it matched (with
        weights), leaving out the terms to ignore."""
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[tuple[float, str]]] = defaultdict(list)
        seen: set[str] = set(ignore)
        for word in tokens(text):
            term = _stemmer.stemWord(word)
            if term in seen:
                continue
            seen.add(term)
            for position, weight in self.term_weights.get(term, {}).items():
                scores[position] += weight
                matched[position].append((weight, word))
        return scores, matched

    def search(self, query: str, area: str = "") -> list[Article]:
        """Articles for a search box and an optional body-area filter, best first."""
        candidates = [
            (position, article) for position, article in enumerate(self.articles) if not area or area in article.body_areas
        ]
        if not query.strip():
            return [article for _, article in candidates]
        scores, _ = self.text_scores(query)
        hits = [(scores[position], article.slug, article) for position, article in candidates if scores.get(position)]
        return [article for _, _, article in sorted(hits, key=lambda hit: (-hit[0], hit[1]))]

    def related(self, article: Article, limit: int = 3) -> list[Article]:
        """Other articles sharing the most body areas, conditions and symptoms."""
        def overlap(other: Article) -> int:
            return (
                3 * len(set(other.body_areas) & set(article.body_areas))
                + 2 * len(set(other.conditions) & set(article.conditions))
                + len(set(other.symptoms) & set(article.symptoms))
            )

        others = [(overlap(other), other.slug, other) for other in self.articles if other.slug != article.slug]
        return [other for _, _, other in sorted(others, key=lambda item: (-item[0], item[1]))[:limit]]


@lru_cache(maxsize=4)
def index_for_folder(folder: str) -> ArticleIndex:
    """Load and index a folder of articles once per process (the library does not change while running)."""
    return ArticleIndex.build(load_articles(Path(folder)))


_EVIDENCE_STEMS = {condition: frozenset(stems(words)) for condition, (_, words, _) in NEEDS_EVIDENCE.items()}
_TOPIC_STEMS = {condition: frozenset(stems(words)) for condition, words in TOPIC_WORDS.items()}
_REGION_STEMS = {region: frozenset(stems(words)) for region, words in REGION_WORDS.items()}


def _nerve_reason(nerve: list[str], region: str) -> str:
    """Say which nerve symptoms the patient reported, and where: 'numbness in your leg'."""
    limb = "leg" if region in LEG_REGIONS else "arm" if region in ARM_REGIONS else ""
    feelings = [SENSATION_WORDS[code] for code in nerve if code in SENSATION_WORDS]
    if "spreading_pain" in nerve:
        spreading = f"pain spreading down your {limb or 'leg or arm'}"
        return f"Because you mentioned {spreading}, with {_join(feelings)}" if feelings else f"Because you mentioned {spreading}"
    return f"Because you mentioned {_join(feelings)}" + (f" in your {limb}" if limb else "")


def _join(phrases: list[str]) -> str:
    return phrases[0] if len(phrases) == 1 else f"{', '.join(phrases[:-1])} and {phrases[-1]}"


def _score(facts: ArticleFacts, patient: PatientFacts) -> tuple[float, list[str], bool]:
    """How well an article fits the patient's answers (not yet their words), the reasons why, and
    whether it is about their body area (or general reading)."""
    profile, conditions = patient.profile, facts.conditions
    score, reasons = 0.0, []
    fits_area = profile.region in facts.areas
    general = not facts.areas
    if profile.urgency != "routine" and "red_flags" in conditions:
        score += RED_FLAG_SCORE
        reasons.append("Because some of your answers mean you should get medical advice quickly")
    if profile.onset == "after_surgery" and "post_surgery" in conditions:
        score += AFTER_SURGERY_SCORE
        reasons.append("Because your problem started after an operation")
    if patient.nerve and "nerve_pain" in conditions and (fits_area or general):
        score += NERVE_SCORE
        reasons.append(_nerve_reason(list(patient.nerve), profile.region))
    score += sum(patient.unsupported.get(condition, 0.0) for condition in conditions)
    if "pain_education" in conditions and profile.risk in RISK_SCORES:
        score += RISK_SCORES[profile.risk]
        if profile.risk == "high":
            reasons.append("Because of how much your pain has been affecting you")
    if profile.duration == LONG_STANDING and "persistent_pain" in conditions:
        score += LONG_STANDING_SCORE + PAIN_EDUCATION_LONG_STANDING_SCORE * ("pain_education" in conditions)
        reasons.append("Because you have had pain for more than 3 months")
    elif "persistent_pain" in conditions and fits_area and profile.duration in RECENT_DURATIONS:
        score += NOT_LONG_STANDING_SCORE
    about_an_injury = bool(conditions & INJURY_CONDITIONS)
    not_injured = about_an_injury and profile.onset in NOT_INJURED_ONSETS
    if about_an_injury and profile.onset == "injury":
        score += INJURY_SCORE
        reasons.append("Because your problem started with an injury")
    elif not_injured:
        score += NO_INJURY_SCORE
    if "acute_pain" in conditions and fits_area and not not_injured:  # whiplash is not new pain without an accident
        if profile.duration in RECENT_DURATIONS:
            score += RECENT_SCORE
            reasons.append("Because your pain started recently")
        elif profile.duration == LONG_STANDING:
            score += NOT_RECENT_SCORE
    if "osteoarthritis" in conditions and profile.onset == "injury":
        score += WEAR_AFTER_INJURY_SCORE
    if "older_adults" in conditions:
        score += _age_score(profile)
    if general and conditions & patient.topics:
        score += TOPIC_SCORE
    audience = [stems_ for condition, stems_ in AUDIENCE_STEMS.items() if condition in conditions]
    if audience and not any(stems_ & patient.stems for stems_ in audience):
        fits_area = False  # e.g. back pain in pregnancy, for someone who has not said they are pregnant
    if fits_area and "red_flags" not in conditions:
        score += AREA_SCORE
        reasons.append(f"Because your main problem is your {REGION_WORDS.get(profile.region, 'body')}")
    if general:
        score += GENERAL_SCORE + ("first_assessment" in conditions)
    if fits_area or general:
        score += SYMPTOM_SCORE * len(patient.sensations & facts.symptoms)
    return score, reasons, fits_area or general


def _age_score(profile: IntakeProfile) -> float:
    """How an article about the slow changes of age fits the patient's age and how new their pain is."""
    score = SLOW_CHANGE_NEW_PAIN_SCORE if profile.duration == NEWEST else 0.0
    if profile.age is None:
        return score
    if profile.age < YOUNGER_AGE:
        return score + AGE_MISFIT_SCORE
    return score + (AGE_FIT_SCORE if profile.age >= OLDER_AGE and profile.duration not in RECENT_DURATIONS else 0.0)


def recommend(index: ArticleIndex, profile: IntakeProfile, limit: int = 3) -> list[Recommendation]:
    """Rank every article for one patient and return the best, each with its reason."""
    # The body area is already known from the answers: naming it again tells articles about it apart no further.
    region_stems = _REGION_STEMS.get(profile.region, frozenset())
    text_scores, matched_words = index.text_scores(profile.text, ignore=region_stems) if profile.text else ({}, {})
    best_text = max(text_scores.values(), default=0.0) or 1.0
    patient = PatientFacts.of(profile)
    words_beyond_region = patient.stems - region_stems
    ranked = []
    for position, article in enumerate(index.articles):
        score, reasons, on_area = _score(index.facts[position], patient)
        if position in text_scores:
            factor = 1 if on_area or profile.region == "other" else OFF_AREA_TEXT_FACTOR
            titled = len(words_beyond_region & index.facts[position].title_terms)
            score += factor * (TEXT_SCORE_MAX * text_scores[position] / best_text + TITLE_WORD_SCORE * min(titled, TITLE_WORDS_COUNTED))
            strongest = [word for _, word in sorted(matched_words[position], reverse=True)[:2]]
            reasons.append(f"Because you mentioned “{_join(strongest)}”")
        if "first_assessment" in article.conditions:
            reasons.append("To help you get ready for your first appointment")
        ranked.append((score, article.slug, article, reasons[0] if reasons else "Helpful reading while you wait"))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    return [Recommendation(article, reason, score) for score, _, article, reason in ranked[:limit]]

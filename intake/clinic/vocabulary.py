"""The answer choices a patient picks from, as (stored code, words shown) pairs.

Pure data shared by the forms, the triage rules and, later, article matching. Codes are
stored in the database, so change the words freely but never the codes.
"""

from __future__ import annotations

from functools import cache

CONTACT_METHODS = (
    ("phone", "Phone call"),
    ("text", "Text message"),
    ("email", "Email"),
)

BODY_REGIONS = (
    ("lower_back", "Lower back"),
    ("upper_back", "Upper back"),
    ("neck", "Neck"),
    ("shoulder", "Shoulder"),
    ("elbow", "Elbow"),
    ("wrist_hand", "Wrist and hand"),
    ("hip", "Hip"),
    ("knee", "Knee"),
    ("ankle_foot", "Ankle and foot"),
    ("head_jaw", "Head and jaw"),
    ("other", "Somewhere else"),
)

SIDES = (
    ("left", "Left"),
    ("right", "Right"),
    ("both", "Both sides"),
    ("centre", "In the middle"),
)

DURATIONS = (
    ("under_2_weeks", "Less than 2 weeks"),
    ("2_to_6_weeks", "2 to 6 weeks"),
    ("6_to_12_weeks", "6 to 12 weeks"),
    ("over_3_months", "More than 3 months"),
)

ONSETS = (
    ("injury", "After an injury or accident"),
    ("gradual", "Gradually, for no clear reason"),
    ("after_surgery", "After an operation"),
    ("not_sure", "I'm not sure"),
)

SENSATIONS = (
    ("spreading_pain", "Pain spreading down my leg or arm"),
    ("numbness", "Numbness"),
    ("pins_and_needles", "Pins and needles or tingling"),
    ("weakness", "Weakness"),
    ("stiffness", "Stiffness"),
    ("swelling", "Swelling"),
    ("clicking_locking", "Clicking, catching or locking"),
    ("headaches", "Headaches"),
)

# The care card a flagged request's patient was shown, by intake.triage.Advice code, as the clinic reads it.
CARE_CARDS = (
    ("emergency", "999 or A&E now"),
    ("same_day", "help the same day"),
    ("gp_today", "GP today"),
)

WEEKDAYS = (
    ("mon", "Monday"),
    ("tue", "Tuesday"),
    ("wed", "Wednesday"),
    ("thu", "Thursday"),
    ("fri", "Friday"),
    ("sat", "Saturday"),
    ("sun", "Sunday"),
)

TIMES_OF_DAY = (
    ("morning", "Morning (8am to 12 noon)"),
    ("afternoon", "Afternoon (12 noon to 5pm)"),
    ("evening", "Evening (5pm to 8pm)"),
)

PAIN_SCALE = tuple((str(score), str(score)) for score in range(11))


def label_for(choices: tuple[tuple[str, str], ...], code: str | None) -> str:
    """Return the words shown for a stored code, or the code itself if it is unknown."""
    return _labels(choices).get(code or "", code or "")


@cache
def _labels(choices: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """Each vocabulary's codes and words as a dict, made once (an export asks a million times)."""
    return dict(choices)


def codes(choices: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    """Return just the stored codes of a choice list."""
    return tuple(code for code, _ in choices)

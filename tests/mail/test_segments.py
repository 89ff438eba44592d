"""Counting SMS segments: GSM-7 holds 160 characters in one and 306 in two, UCS-2 70 and 134."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.mail.segments import GSM7_BASIC, GSM7_EXTENSION, fits_in_segments, is_gsm7, segment_count

basic = st.text(alphabet=sorted(GSM7_BASIC))
gsm = st.text(alphabet=sorted(GSM7_BASIC | GSM7_EXTENSION))
not_gsm = st.characters(max_codepoint=0xFFFF, exclude_categories=("Cs",)).filter(lambda character: not is_gsm7(character))
anything = st.text(alphabet=st.characters(codec="utf-16"))


@pytest.mark.parametrize(("text", "segments"), [
    ("", 1), ("a" * 160, 1), ("a" * 161, 2), ("a" * 306, 2), ("a" * 307, 3),
    ("€" * 80, 1), ("€" * 81, 2), ("a" + "€" * 80, 2),  # a euro sign takes two places...
    ("a" * 152 + "€" + "a" * 152, 3),  # ...never split across parts: 306 places, yet three parts
    ("é" * 160, 1),  # é is in the GSM alphabet
    ("ć" * 70, 1), ("ć" * 71, 2), ("ć" * 134, 2), ("ć" * 135, 3),
    ("Your appointment is at 9:30 " + "😀", 1), ("😀" * 35, 1), ("😀" * 36, 2), ("a" + "😀" * 35, 2), ("a" * 66 + "😀" + "b" * 66, 3),
])
def test_segment_counts_at_the_limits(text, segments):
    assert segment_count(text) == segments


@given(basic)
def test_plain_gsm_text_takes_one_segment_up_to_160_and_two_up_to_306(text):
    expected = 1 if len(text) <= 160 else 2 if len(text) <= 306 else -(-len(text) // 153)
    assert segment_count(text) == expected


@given(basic, not_gsm, basic)
def test_one_character_outside_gsm_makes_the_whole_text_ucs2_70_in_one_and_134_in_two(before, odd, after):
    text = before + odd + after
    expected = 1 if len(text) <= 70 else -(-len(text) // 67)
    assert segment_count(text) == expected
    assert fits_in_segments(text) is (len(text) <= 134)


@given(gsm, st.sampled_from(sorted(GSM7_BASIC | GSM7_EXTENSION)))
def test_adding_a_character_never_takes_fewer_segments(text, extra):
    assert segment_count(text + extra) >= segment_count(text)


@given(anything)
def test_every_text_takes_at_least_one_segment_and_no_more_than_one_a_character(text):
    assert 1 <= segment_count(text) <= max(1, len(text))

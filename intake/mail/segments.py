"""How many SMS segments a text takes (pure: no Flask, no database).

A text is sent in the GSM 03.38 alphabet (7 bits a character) when every character is in it,
otherwise in UCS-2 (16 bits a character, so fewer fit). One segment holds 160 GSM characters
or 70 UCS-2 units; a longer text is split into parts that each lose room to a header: 153 GSM
characters or 67 UCS-2 units a part, so two parts hold 306 or 134. A character of the GSM
extension table (such as the euro sign) takes two places and is never split across parts; nor
is a character outside the Basic Multilingual Plane (an emoji), which takes two UCS-2 units.
"""

from __future__ import annotations

GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE, GSM7_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67
MAX_SEGMENTS = 2


def is_gsm7(text: str) -> bool:
    """Whether every character of the text is in the GSM 7-bit alphabet (basic or extension)."""
    return all(character in GSM7_BASIC or character in GSM7_EXTENSION for character in text)


def _widths(text: str) -> tuple[list[int], int, int]:
    """Each character's width in places, with the single-segment and per-part room of its encoding."""
    if is_gsm7(text):
        return [2 if character in GSM7_EXTENSION else 1 for character in text], GSM7_SINGLE, GSM7_PART
    return [2 if ord(character) > 0xFFFF else 1 for character in text], UCS2_SINGLE, UCS2_PART


def segment_count(text: str) -> int:
    """The number of SMS segments the text is sent as (an empty text still takes one)."""
    widths, single, part = _widths(text)
    if sum(widths) <= single:
        return 1
    segments, used = 1, 0
    for width in widths:
        if used + width > part:
            segments, used = segments + 1, 0
        used += width
    return segments


def fits_in_segments(text: str, segments: int = MAX_SEGMENTS) -> bool:
    """Whether the text goes in at most `segments` SMS segments."""
    return segment_count(text) <= segments

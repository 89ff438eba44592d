"""The clinic's own colour and logo: checked for WCAG contrast, turned into CSS. Pure Python."""

from __future__ import annotations

import re

HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
WHITE = (255, 255, 255)
MINIMUM_CONTRAST = 4.5  # WCAG 2.2 AA for normal text: white text on the brand colour, brand links on white


def parse_colour(value: str) -> tuple[int, int, int]:
    """Read a #rrggbb colour."""
    if not HEX_COLOUR.match(value):
        raise ValueError(f"Colours must be written as #rrggbb, not {value!r}")
    return tuple(int(value[index:index + 2], 16) for index in (1, 3, 5))  # type: ignore[return-value]


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(value: int) -> float:
        scaled = value / 255
        return scaled / 12.92 if scaled <= 0.04045 else ((scaled + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: tuple[int, int, int], second: tuple[int, int, int]) -> float:
    """The WCAG contrast ratio between two colours (1 to 21)."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _mix(rgb: tuple[int, int, int], towards: tuple[int, int, int], amount: float) -> str:
    return "#" + "".join(f"{round(value + (target - value) * amount):02x}" for value, target in zip(rgb, towards))


def brand_css(colour: str) -> str:
    """CSS custom properties for the brand colour and its darker and tinted shades.

    Refuses a colour that white text (and links on white) could not be read against.
    """
    rgb = parse_colour(colour)
    ratio = contrast_ratio(rgb, WHITE)
    if ratio < MINIMUM_CONTRAST:
        raise ValueError(f"CLINIC_BRAND_COLOUR {colour} has contrast {ratio:.2f}:1 with white; it needs at least {MINIMUM_CONTRAST}:1")
    return (
        f":root {{ --brand: {colour.lower()}; --brand-dark: {_mix(rgb, (0, 0, 0), 0.3)}; "
        f"--brand-tint: {_mix(rgb, WHITE, 0.9)}; }}\n"
    )

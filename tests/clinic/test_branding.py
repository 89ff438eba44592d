"""The clinic's colour and logo come from configuration, and an unreadable colour is refused."""

from __future__ import annotations

import pytest

from intake.clinic.branding import brand_css, contrast_ratio, parse_colour


def test_contrast_ratio_matches_the_wcag_formula():
    assert round(contrast_ratio((0, 0, 0), (255, 255, 255)), 1) == 21.0
    assert round(contrast_ratio(parse_colour("#005a6a"), (255, 255, 255)), 1) == 7.9


def test_a_readable_brand_colour_becomes_css_custom_properties():
    css = brand_css("#6A1B9A")
    assert "--brand: #6a1b9a;" in css and "--brand-dark:" in css and "--brand-tint:" in css


@pytest.mark.parametrize("colour", ["#ffdd00", "#88ccee", "#777777"])
def test_a_colour_white_text_cannot_be_read_on_is_refused(colour):
    with pytest.raises(ValueError, match="contrast"):
        brand_css(colour)


@pytest.mark.parametrize("colour", ["teal", "#fff", "#12345g", "red;}body{display:none"])
def test_only_hex_colours_are_accepted(colour):
    with pytest.raises(ValueError):
        parse_colour(colour)


def test_pages_load_the_clinic_colour_and_logo(make_app, tmp_path):
    logo = tmp_path / "logo.png"
    logo.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 32)
    app = make_app(CLINIC_BRAND_COLOUR="#6a1b9a", CLINIC_LOGO=str(logo))
    client = app.test_client()
    page = client.get("/").get_data(as_text=True)
    assert 'href="/brand.css"' in page and 'src="/brand/logo"' in page
    assert "--brand: #6a1b9a;" in client.get("/brand.css").get_data(as_text=True)
    assert client.get("/brand/logo").status_code == 200


def test_without_a_logo_none_is_shown(client):
    assert "/brand/logo" not in client.get("/").get_data(as_text=True)
    assert client.get("/brand/logo").status_code == 404


def test_an_unreadable_configured_colour_stops_the_app_starting(make_app):
    with pytest.raises(ValueError, match="CLINIC_BRAND_COLOUR"):
        make_app(CLINIC_BRAND_COLOUR="#ffdd00")

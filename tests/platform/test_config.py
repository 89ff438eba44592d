"""Settings come from the environment, with a secret key generated into instance/ when none is given."""

from __future__ import annotations

import json
import re
import stat

import pytest

from intake import create_app
from intake.clinic.sites import load_sites
from intake.platform.config import DRAFT_MARGIN_SECONDS, InvalidSetting, SettingError, build_config, instance_secret_key

SITES = [{"code": "north", "name": "North", "address": "1 High Street, London N1 1AA", "email": "north@clinic.example"}]


def test_a_secret_key_is_generated_once_into_instance_and_kept_private(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    first = build_config(tmp_path)["SECRET_KEY"]
    second = build_config(tmp_path)["SECRET_KEY"]
    assert first == second and len(first) == 64
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_the_environment_secret_key_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "from-the-environment")
    assert build_config(tmp_path)["SECRET_KEY"] == "from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_database_defaults_to_sqlite_in_instance_and_follows_database_url(tmp_path, monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    assert build_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'intake.sqlite3'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://user@db.internal/intake")
    assert build_config(tmp_path)["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user@db.internal/intake"


def test_clinic_name_phone_and_sites_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("CLINIC_NAME", "Harbour Physio")
    monkeypatch.setenv("CLINIC_PHONE", "0161 496 0000")
    monkeypatch.setenv("CLINIC_SITES", json.dumps(SITES))
    app = create_app({"TESTING": True, "INSTANCE_PATH": tmp_path, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db'}"})
    page = app.test_client().get("/").get_data(as_text=True)
    assert "Harbour Physio" in page and "0161 496 0000" in page and "1 High Street, London N1 1AA" in page


def test_sites_can_come_from_a_file(tmp_path, monkeypatch):
    sites_file = tmp_path / "sites.json"
    sites_file.write_text(json.dumps(SITES), encoding="utf-8")
    monkeypatch.delenv("CLINIC_SITES", raising=False)
    monkeypatch.setenv("CLINIC_SITES_FILE", str(sites_file))
    assert [site.code for site in build_config(tmp_path)["CLINIC_SITES"]] == ["north"]


def test_the_demo_sites_are_used_when_none_are_configured():
    assert len(load_sites(None)) >= 2


@pytest.mark.parametrize(
    "records",
    [
        [],
        [{"code": "Bad Code", "name": "X", "address": "Y"}],
        [{"code": "ok", "name": "", "address": "Y"}],
        [{"code": "ok", "name": "X", "address": "Y"}, {"code": "ok", "name": "Z", "address": "W"}],
    ],
)
def test_unusable_site_configuration_is_refused_at_start_up(records):
    with pytest.raises(ValueError):
        load_sites(records)


def test_the_form_token_and_session_outlive_a_draft(tmp_path, monkeypatch):
    """Signed values are dated in whole seconds: each lasts a margin longer than a draft, so
    neither runs out first."""
    monkeypatch.setenv("DRAFT_LIFETIME_MINUTES", "45")
    config = build_config(tmp_path)
    assert config["WTF_CSRF_TIME_LIMIT"] == 45 * 60 + DRAFT_MARGIN_SECONDS
    assert config["PERMANENT_SESSION_LIFETIME"] == 45 * 60 + DRAFT_MARGIN_SECONDS


def test_instance_secret_key_is_not_overwritten(tmp_path):
    (tmp_path / "secret_key").write_text("kept", encoding="utf-8")
    assert instance_secret_key(tmp_path) == "kept"


def test_workers_starting_together_share_one_complete_secret_key(tmp_path):
    """Several processes creating the key at once all read the same, non-empty key."""
    from concurrent.futures import ThreadPoolExecutor

    for attempt in range(20):
        folder = tmp_path / str(attempt)
        with ThreadPoolExecutor(max_workers=8) as pool:
            keys = set(pool.map(lambda _: instance_secret_key(folder), range(8)))
        assert len(keys) == 1 and len(keys.pop()) == 64
        assert [path.name for path in folder.iterdir()] == ["secret_key"]


def test_two_step_sign_in_is_required_of_admins_unless_the_environment_says_otherwise(tmp_path, monkeypatch):
    monkeypatch.delenv("STAFF_2FA_REQUIRED", raising=False)
    assert build_config(tmp_path)["STAFF_2FA_REQUIRED"] == "admin"
    for value, read in (("all", "all"), (" OFF ", "off"), ("Admin", "admin")):
        monkeypatch.setenv("STAFF_2FA_REQUIRED", value)
        assert build_config(tmp_path)["STAFF_2FA_REQUIRED"] == read


@pytest.mark.parametrize("value", ["yes", "admins", "none", "0"])
def test_an_unknown_two_step_setting_refuses_to_start_and_says_what_to_set(tmp_path, monkeypatch, value):
    monkeypatch.setenv("STAFF_2FA_REQUIRED", value)
    with pytest.raises(InvalidSetting, match=r"STAFF_2FA_REQUIRED is .* set it to one of all, admin, off"):
        create_app({"TESTING": True, "INSTANCE_PATH": tmp_path, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'db'}"})


def test_reminder_times_come_from_the_environment(tmp_path, monkeypatch):
    for name, value in (("REMINDER_DAYS_BEFORE", "0"), ("REMINDER_AT", "09:45"), ("REMINDER_MORNING_TEXT_AT", "off")):
        monkeypatch.setenv(name, value)
    config = build_config(tmp_path)
    assert (config["REMINDER_DAYS_BEFORE"], config["REMINDER_AT"], config["REMINDER_MORNING_TEXT_AT"]) == (0, "09:45", "")


@pytest.mark.parametrize("name, value, says", [
    ("REMINDER_AT", "10am", "REMINDER_AT must be a time of day as HH:MM"),
    ("REMINDER_AT", "off", "REMINDER_AT must be a time of day as HH:MM"),
    ("REMINDER_MORNING_TEXT_AT", "24:00", 'or "off" for none'),
    ("REMINDER_DAYS_BEFORE", "15", "REMINDER_DAYS_BEFORE must be a whole number of days from 0 to 14"),
    ("REMINDER_DAYS_BEFORE", "-1", "from 0 to 14"),
])
def test_a_reminder_setting_that_means_nothing_refuses_to_start_and_says_why(tmp_path, monkeypatch, name, value, says):
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingError, match=re.escape(says)):
        build_config(tmp_path)

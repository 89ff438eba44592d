"""Which free times a patient choosing their own is offered, a short page at a time.

Plain functions taking plain arguments (no Flask request or session): the times come from the
diary, at the site the patient chose; those that suit the days, times of day and earliest date
they gave come first, and every other time is a link away.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from intake.appointments import diary
from intake.appointments.services import BookingError, Choice, offered
from intake.appointments.slots import DAY_CODES, TIME_BANDS, Slot, suits
from intake.clinic.sites import Site, site_by_code
from intake.journey.journey import Answers
from intake.platform.timeutil import LONDON

# A page shows at most this many times, over at most this many days: short enough for a phone.
PAGE_TIMES = 20
PAGE_DAYS = 7
# "from" in a link: a London day, or a day and a time ("2026-12-07" or "2026-12-07T10:15").
FROM_PATTERN = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}(T[0-9]{2}:[0-9]{2})?", re.ASCII)
NOT_SHOWN = "Choose one of the times shown."


@dataclass(frozen=True)
class Wishes:
    """When and where the patient said they can come (on the "when and where" page)."""

    site: str
    days: tuple[str, ...]
    times: tuple[str, ...]
    earliest: date | None

    @classmethod
    def of(cls, answers: Answers) -> Wishes:
        when = answers.get("when_and_where", {})
        earliest = when.get("earliest_date")
        return cls(
            site=when.get("site", ""),
            days=tuple(day for day in when.get("days") or () if day in DAY_CODES),
            times=tuple(band for band in when.get("times") or () if band in TIME_BANDS),
            earliest=date.fromisoformat(earliest) if earliest else None,
        )


@dataclass(frozen=True)
class View:
    """Which times the page shows, read from its query string: the site, from when, and whether
    every time or only those that suit. `problem` says what in the link could not be used."""

    site: Site
    starting: datetime | None = None
    every_time: bool = False
    problem: str = ""


def read_view(args: Mapping[str, str], *, sites: list[Site], wishes: Wishes, today: date, last_day: date) -> View:
    """The view a link asks for; anything unknown or out of range is left out, with a problem to show."""
    home = site_by_code(sites, wishes.site) or sites[0]
    site, problems = home, []
    if "site" in args:
        site = site_by_code(sites, args["site"]) or home
        if site is home and args["site"] != home.code:
            problems.append(f"We could not find that clinic, so these are the times at {home.name}.")
    starting = _starting(args.get("from", ""), today, last_day)
    if starting is None and args.get("from"):
        problems.append("We could not show times from that date, so these are the first free times.")
    return View(site, starting, args.get("all") == "1", " ".join(problems))


def _starting(text: str, today: date, last_day: date) -> datetime | None:
    """The London time a "from" value names, if it is one within the days patients can book."""
    if not FROM_PATTERN.fullmatch(text):
        return None
    try:
        wall = datetime.strptime(text, "%Y-%m-%dT%H:%M" if "T" in text else "%Y-%m-%d")
    except ValueError:
        return None
    if not today <= wall.date() <= last_day:
        return None
    return wall.replace(tzinfo=LONDON)


@dataclass(frozen=True)
class Page:
    """The times one page offers, by London day, and what else there is to see."""

    days: list[tuple[date, list[Slot]]]
    later: datetime | None  # the London time of the first free time after this page
    suited_only: bool  # only times that suit the patient's days, times of day and earliest date
    none_suited: bool  # none suited, so every time is shown
    names: dict[int, str]  # the practitioners' names, by id


def page_of_times(wishes: Wishes, view: View, *, now: datetime, default_minutes: int, setup: diary.Clinic) -> Page:
    """The free times at the view's site: those that suit the patient first, unless every time
    was asked for or none suits; a page of up to PAGE_TIMES times over up to PAGE_DAYS days."""
    today = now.astimezone(LONDON).date()
    first_day = view.starting.date() if view.starting else today
    found = diary.free_times(now, default_minutes=default_minutes, site_code=view.site.code, first_day=first_day, setup=setup)
    if view.starting is not None:
        found = [slot for slot in found if slot.starts_at >= view.starting]
    suited = [] if view.every_time else [
        slot for slot in found
        if suits(slot, wishes.days, wishes.times) and (wishes.earliest is None or slot.local.date() >= wishes.earliest)
    ]
    days, later = by_day(suited or found)
    return Page(days, later, bool(suited), not view.every_time and not suited and bool(found), setup.names())


def by_day(found: list[Slot]) -> tuple[list[tuple[date, list[Slot]]], datetime | None]:
    """The first page of times grouped by London day, and the time the next page starts from."""
    if not found:
        return [], None
    last_day = found[0].local.date() + timedelta(days=PAGE_DAYS - 1)
    days: dict[date, list[Slot]] = {}
    for count, slot in enumerate(found):
        if count == PAGE_TIMES or slot.local.date() > last_day:
            return list(days.items()), slot.local
        days.setdefault(slot.local.date(), []).append(slot)
    return list(days.items()), None


def last_bookable_day(today: date, setup: diary.Clinic) -> date:
    """The last day patients may book, by the clinic's rules."""
    return today + timedelta(days=setup.rules.horizon_days)


def self_booking_open(now: datetime, *, default_minutes: int) -> bool:
    """Whether patients may choose their own time now: the clinic allows it and has a free time at some site."""
    setup = diary.clinic(default_minutes)
    return setup.rules.patients_choose_times and bool(diary.free_times(now, default_minutes=default_minutes, setup=setup))


@dataclass(frozen=True)
class ChosenTime:
    """A free time the patient picked, with what the confirm page says about it."""

    choice: Choice
    slot: Slot
    site: Site
    practitioner: str


def chosen_time(value: str | None, *, now: datetime, default_minutes: int, sites: list[Site], setup: diary.Clinic) -> ChosenTime:
    """The free time a form's slot value names, checked as booking will check it.

    Raises BookingError (the message for the patient) for anything that is not a time patients
    can book at a clinic we have, and SlotTaken, with the nearest free times, for one taken since.
    """
    if not value:
        raise BookingError("Choose a time for your assessment")
    choice = Choice.parse(value)
    site = site_by_code(sites, choice.site_code)
    horizon = timedelta(days=setup.rules.horizon_days + 1)
    if site is None or choice.starts_at > now + horizon:
        raise BookingError(NOT_SHOWN)
    slot = offered(choice, now, default_minutes=default_minutes)
    return ChosenTime(choice, slot, site, setup.names()[slot.practitioner_id])

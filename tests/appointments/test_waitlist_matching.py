"""Which waitlisted patients a freed time suits, and in what order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from intake.appointments.slots import DAY_CODES, TIME_BANDS, Slot, suits
from intake.appointments.waitlist import Waiting, matching

UTC = timezone.utc
NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)  # a Tuesday
DAY, NOTICE = timedelta(days=1), timedelta(hours=12)


def freed(at: datetime, site: str = "riverside") -> Slot:
    return Slot(1, site, at, at + timedelta(minutes=45))


def waiting(entry_id: int, current: datetime, *, site="riverside", days=(), times=(), asked: datetime = NOW) -> Waiting:
    return Waiting(entry_id, site, tuple(days), tuple(times), current, asked)


def test_a_freed_time_goes_to_those_it_suits_first_to_ask_first():
    slot = freed(datetime(2026, 12, 3, 10, tzinfo=UTC))  # Thursday morning
    later = datetime(2026, 12, 20, 10, tzinfo=UTC)
    entries = [
        waiting(1, later, asked=NOW - timedelta(hours=1)),
        waiting(2, later, asked=NOW - timedelta(hours=5), days=("thu",), times=("morning",)),
        waiting(3, later, site="west-green"),  # another site
        waiting(4, later, days=("mon",)),  # cannot come on Thursdays
        waiting(5, later, times=("evening",)),  # only evenings
        waiting(6, datetime(2026, 12, 2, 10, tzinfo=UTC)),  # already earlier than the freed time
        waiting(7, datetime(2026, 12, 1, 20, tzinfo=UTC)),  # own appointment inside the cut-off
    ]
    assert [entry.entry_id for entry in matching(slot, entries, now=NOW, cutoff=DAY, notice=NOTICE)] == [2, 1]


def test_a_time_too_soon_to_move_to_is_offered_to_nobody():
    assert matching(freed(NOW + timedelta(hours=6)), [waiting(1, NOW + 10 * DAY)], now=NOW, cutoff=DAY, notice=NOTICE) == []


@given(
    start=st.datetimes(min_value=datetime(2026, 12, 1, 10), max_value=datetime(2027, 3, 1), timezones=st.just(UTC)),
    entries=st.lists(st.tuples(
        st.sampled_from(["riverside", "west-green"]), st.lists(st.sampled_from(DAY_CODES), unique=True),
        st.lists(st.sampled_from(sorted(TIME_BANDS)), unique=True), st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=90)),
        st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30)),
    ), max_size=12),
)
def test_every_offer_suits_the_patient_and_comes_in_the_order_they_asked(start, entries):
    slot = freed(start)
    waitlist = [waiting(number, NOW + gap, site=site, days=days, times=times, asked=NOW - asked)
                for number, (site, days, times, gap, asked) in enumerate(entries)]
    found = matching(slot, waitlist, now=NOW, cutoff=DAY, notice=NOTICE)
    for entry in found:
        assert entry.site_code == slot.site_code and slot.starts_at < entry.current_start and suits(slot, entry.days, entry.times)
        assert entry.current_start > NOW + DAY and slot.starts_at >= NOW + NOTICE
    assert [entry.asked_at for entry in found] == sorted(entry.asked_at for entry in found)
    suited = [entry for entry in waitlist if entry.site_code == slot.site_code and slot.starts_at < entry.current_start
              and entry.current_start > NOW + DAY and suits(slot, entry.days, entry.times) and slot.starts_at >= NOW + NOTICE]
    assert {entry.entry_id for entry in found} == {entry.entry_id for entry in suited}

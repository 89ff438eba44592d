"""Finding requests: the back-office list's filters, one page of it with counts, and the CSV export.

Plain functions; reads only.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta, timezone

import phonenumbers
from sqlalchemy import Row, Select, func, literal_column, or_, select

from intake.appointments.diary_view import parse_day
from intake.appointments.statuses import STATUS_WORDS
from intake.clinic import vocabulary
from intake.journey.models import REQUEST_STATUSES, AssessmentRequest, StatusCount
from intake.platform.extensions import db
from intake.platform.timeutil import LONDON

LIKE_SPECIALS = re.compile(r"[%_\\]")
# A search that is only digits, spaces and the signs a phone number is written with is (also) a
# phone number; digits in an email address or a reference are not.
PHONE_TYPED = re.compile(r"[\d\s+()\-.]+")
# What reception types when it has the whole thing: a reference (eight of the letters and digits
# references are made of), an email address, or a name (letters, with spaces, hyphens, apostrophes).
REFERENCE_TYPED = re.compile(r"[A-HJ-NP-Z2-9]{8}")
EMAIL_TYPED = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
NAME_TYPED = re.compile(r"[^\W\d_]+(?:[\s'’\-]+[^\W\d_]+)*")
# A search is first tried whole (each kind an equality one B-tree index answers in the list's
# order, so its cost does not grow with the requests stored); only if nothing matches whole is it
# looked for anywhere in names, emails and phone numbers (the trigram indexes).
WHOLE_SEARCH_WORDS = {
    "reference": "reference", "phone": "phone number", "email": "email address", "surname": "surname", "name": "name",
}
PART_SEARCH = "part"
URGENCY_ORDER = "urgency"
URGENCY_RANKS = {"emergency": 0, "urgent": 1, "routine": 2}  # as intake.journey.services stores urgency_rank
# Counting every match of a broad filter (a site, routine urgency) costs time in proportion to the
# requests stored; the list counts up to this many and then says "more than".
COUNT_LIMIT = 10_000
NEWEST_ORDER = "newest"


@dataclass(frozen=True)
class RequestFilters:
    """What reception has asked the list to show. Values are checked against allow-lists."""

    status: str = ""
    site: str = ""
    urgency: str = ""
    date_from: date | None = None
    date_to: date | None = None
    search: str = ""
    order: str = URGENCY_ORDER
    # How the search is matched: "" until resolve_search() chooses, a WHOLE_SEARCH_WORDS kind, or
    # PART_SEARCH (anywhere in a name, email or phone; also what reception can ask for).
    match: str = ""

    @classmethod
    def from_args(cls, args, site_codes) -> RequestFilters:
        """Read filters from query-string values, dropping anything not on an allow-list."""
        def day(name: str) -> date | None:
            # Only days the diary can show: a day after 9999-12-31 (the end of a "to" day) does not exist.
            return parse_day(args.get(name, "").strip())

        status = args.get("status", "")
        site = args.get("site", "")
        urgency = args.get("urgency", "")
        order = args.get("order", URGENCY_ORDER)
        return cls(
            status=status if status in REQUEST_STATUSES else "",
            site=site if site in site_codes else "",
            urgency=urgency if urgency in ("routine", "urgent", "emergency") else "",
            date_from=day("from"),
            date_to=day("to"),
            search=args.get("q", "")[:100].strip(),
            order=order if order in (URGENCY_ORDER, NEWEST_ORDER) else URGENCY_ORDER,
            match=PART_SEARCH if args.get("match") == PART_SEARCH else "",
        )

    def as_args(self) -> dict[str, str]:
        """The filters as query-string values (for links that keep them)."""
        values = {
            "status": self.status, "site": self.site, "urgency": self.urgency, "q": self.search,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "order": self.order if self.order != URGENCY_ORDER else "",
            # A whole match is chosen again on each page; looking in part is kept as asked.
            "match": self.match if self.match == PART_SEARCH and self.search else "",
        }
        return {key: value for key, value in values.items() if value}

    def part_search_args(self) -> dict[str, str]:
        """The same filters, with the search looked for anywhere (the link beside a whole match)."""
        return self.as_args() | {"match": PART_SEARCH}

    @property
    def only_status(self) -> bool:
        """Whether nothing but the status narrows the list (so the stored counts give its total)."""
        return not (self.site or self.urgency or self.date_from or self.date_to or self.search)


def _london_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(timezone.utc)


# Written exactly as the trigram indexes' expressions (intake.journey.models.TRIGRAM_INDEXES), with
# the space as a literal rather than a parameter, so PostgreSQL reads those indexes.
SEARCHED_NAME = func.lower(AssessmentRequest.first_name.concat(literal_column("' '")).concat(AssessmentRequest.last_name))
SEARCHED_EMAIL = func.lower(AssessmentRequest.email)
SEARCHED_SURNAME = func.lower(AssessmentRequest.last_name)


def _words(text: str) -> str:
    return " ".join(text.lower().split())


def whole_search_kinds(search: str) -> list[str]:
    """What a search could be if typed whole, in the order tried: a reference first (unique, and a
    surname can look like one), then a phone number, an email address, a surname alone, or a first
    name and surname."""
    text = search.strip()
    kinds = ["reference"] if REFERENCE_TYPED.fullmatch(text.upper()) else []
    if _whole_phone(text):
        kinds.append("phone")
    elif EMAIL_TYPED.fullmatch(text):
        kinds.append("email")
    elif NAME_TYPED.fullmatch(text):
        kinds.append("surname" if len(text.split()) == 1 else "name")
    return kinds


def _whole_condition(kind: str, search: str):
    """The search matched whole, as `kind`: an equality on an indexed column or expression."""
    text = search.strip()
    if kind == "reference":
        return AssessmentRequest.reference == text.upper()
    if kind == "phone":
        return AssessmentRequest.phone == _whole_phone(text)
    if kind == "email":
        return SEARCHED_EMAIL == text.lower()
    if kind == "surname":
        return SEARCHED_SURNAME == _words(text)
    return SEARCHED_NAME == _words(text)


def resolve_search(filters: RequestFilters) -> RequestFilters:
    """The filters with their search's match chosen: the first kind of whole match that finds a
    request (with the other filters), else a match in part. Each try reads one index entry."""
    if not filters.search or filters.match:
        return filters
    for kind in whole_search_kinds(filters.search):
        chosen = replace(filters, match=kind)
        found = filtered_requests(chosen).with_only_columns(AssessmentRequest.id).order_by(None).limit(1)
        if db.session.execute(found).first() is not None:
            return chosen
    return replace(filters, match=PART_SEARCH)


def _part_condition(search: str):
    """Match a reference exactly, or a name, email or phone number in part."""
    text = search.strip()
    conditions = [AssessmentRequest.reference == text.upper()]
    pattern = "%" + LIKE_SPECIALS.sub("", text.lower()) + "%"
    conditions += [SEARCHED_NAME.like(pattern), SEARCHED_EMAIL.like(pattern)]
    digits = "".join(char for char in text if char.isdigit())
    if len(digits) >= 4 and PHONE_TYPED.fullmatch(text):
        conditions.append(_phone_condition(text, digits))
    return or_(*conditions)


def _whole_phone(text: str) -> str | None:
    """The number as stored (E.164) when the search is a whole valid phone number, however typed."""
    if not PHONE_TYPED.fullmatch(text):
        return None
    try:
        number = phonenumbers.parse(text, "GB")
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if phonenumbers.is_valid_number(number) else None


def _phone_condition(text: str, digits: str):
    """A whole number, however typed, is looked up as stored (E.164, a B-tree index); part of one
    is found anywhere in the stored number (the trigram index). Digits are few, so each of their
    trigrams is in many numbers: reading those for a whole number would cost more than the lookup."""
    whole = _whole_phone(text)
    if whole:
        return AssessmentRequest.phone == whole
    return AssessmentRequest.phone.like(f"%{digits.lstrip('0')}%")


def filtered_requests(filters: RequestFilters) -> Select:
    """The query for the list (and its CSV export), in the chosen order. A search not yet resolved
    (resolve_search) is matched in part."""
    query = select(AssessmentRequest)
    if filters.status:
        query = query.where(AssessmentRequest.status == filters.status)
    if filters.site:
        query = query.where(AssessmentRequest.site_code == filters.site)
    if filters.urgency:
        # By its rank (stored with the urgency at submission, and what the list is ordered by): the
        # ordered index then reads just that urgency, and counting it reads that index alone.
        query = query.where(AssessmentRequest.urgency_rank == URGENCY_RANKS[filters.urgency])
    if filters.date_from:
        query = query.where(AssessmentRequest.created_at >= _london_midnight_utc(filters.date_from))
    if filters.date_to:
        query = query.where(AssessmentRequest.created_at < _london_midnight_utc(filters.date_to + timedelta(days=1)))
    if filters.search:
        whole = filters.match in WHOLE_SEARCH_WORDS
        query = query.where(_whole_condition(filters.match, filters.search) if whole else _part_condition(filters.search))
    if filters.order == NEWEST_ORDER:
        return query.order_by(AssessmentRequest.created_at.desc(), AssessmentRequest.id.desc())
    # Within each urgency, high back-pain risk first, then medium, then low and those not screened.
    return query.order_by(
        AssessmentRequest.urgency_rank, AssessmentRequest.back_risk_rank, AssessmentRequest.created_at.desc(), AssessmentRequest.id.desc(),
    )


# What the list shows of each request. Loading whole requests (every answer decoded from JSON)
# would cost more than the query itself.
LIST_COLUMNS = (
    AssessmentRequest.reference, AssessmentRequest.urgency, AssessmentRequest.first_name, AssessmentRequest.last_name,
    AssessmentRequest.phone, AssessmentRequest.phone_display, AssessmentRequest.site_code, AssessmentRequest.status, AssessmentRequest.created_at,
    AssessmentRequest.erased_at, AssessmentRequest.back_risk,
)


@dataclass(frozen=True)
class ListPage:
    """One page of the back-office list: its rows, how many requests match, and the per-status counts."""

    rows: list[Row]
    total: int
    counts: dict[str, int]
    more: bool = False  # more than `total` (COUNT_LIMIT) match: they were not all counted


# The database keeps these counts itself (triggers on assessment_requests), whatever writes a status.
STATUS_COUNTS = select(StatusCount.status, StatusCount.requests)


def list_page(filters: RequestFilters, page: int, page_size: int) -> ListPage:
    """One page of the filtered list (the columns it shows), how many requests match in all, and
    how many are in each status: plain reads in the request's session.

    With no filter but status, the total comes from the per-status counts instead of
    counting rows, so the usual views cost the same at 1,000 or 1,000,000 requests; otherwise
    matches are counted up to COUNT_LIMIT.
    """
    query = filtered_requests(filters)
    shown = query.with_only_columns(*LIST_COLUMNS).limit(page_size).offset((page - 1) * page_size)
    stored_counts = dict(db.session.execute(STATUS_COUNTS).all())
    counts = {status: stored_counts.get(status, 0) for status in REQUEST_STATUSES}
    rows = list(db.session.execute(shown).all())
    more = False
    if filters.only_status:
        total = counts[filters.status] if filters.status else sum(counts.values())
    elif page == 1 and len(rows) < page_size:
        total = len(rows)  # a first page with room to spare holds every match: no need to count again
    else:
        counted = query.order_by(None).with_only_columns(AssessmentRequest.id).limit(COUNT_LIMIT + 1)
        total = db.session.execute(select(func.count()).select_from(counted.subquery())).scalar_one()
        more = total > COUNT_LIMIT
        total = min(total, COUNT_LIMIT)
    return ListPage(rows, total, counts, more)


ERASED = "(erased)"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# Each heading, the column its value is read from, how the value is written, and whether it is
# what someone typed (a name, phone or email: neutralised against formulas; the rest is the app's
# own words and codes). A million rows are written this way, so each costs as little as it can.
EXPORT_COLUMNS = (
    ("Reference", AssessmentRequest.reference, lambda r: r.reference, False),
    ("Received (London)", AssessmentRequest.created_at, lambda r: f"{r.created_at.astimezone(LONDON):%Y-%m-%d %H:%M}", False),
    ("Status", AssessmentRequest.status, lambda r: STATUS_WORDS[r.status], False),
    ("Urgency", AssessmentRequest.urgency, lambda r: r.urgency, False),
    ("First name", AssessmentRequest.first_name, lambda r: ERASED if r.erased_at is not None else r.first_name, True),
    ("Last name", AssessmentRequest.last_name, lambda r: r.last_name, True),
    ("Phone", AssessmentRequest.phone, lambda r: r.phone, True),
    ("Email", AssessmentRequest.email, lambda r: r.email, True),
    ("Preferred contact", AssessmentRequest.contact_method, lambda r: vocabulary.label_for(vocabulary.CONTACT_METHODS, r.contact_method), False),
    ("Site", AssessmentRequest.site_code, lambda r: r.site_code, False),
    ("Main problem", AssessmentRequest.region, lambda r: vocabulary.label_for(vocabulary.BODY_REGIONS, r.region), False),
)
EXPORT_READS = (*(column for _, column, _, _ in EXPORT_COLUMNS), AssessmentRequest.erased_at)
EXPORT_VALUES = tuple((value, typed) for _, _, value, typed in EXPORT_COLUMNS)
# Rows read from the database, and written out, at a time.
EXPORT_BATCH = 500


def neutralise(value: str) -> str:
    """Stop a spreadsheet reading a value as a formula (CSV injection)."""
    return f"'{value}" if value.startswith(FORMULA_PREFIXES) else value


def export_rows(filters: RequestFilters, batch: int = EXPORT_BATCH) -> Iterator[str]:
    """The filtered list as CSV text, `batch` rows at a time, read as they are sent (a server-side
    cursor on PostgreSQL) and only the columns written: an export of any size holds one batch."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow([heading for heading, _, _, _ in EXPORT_COLUMNS])
    yield flush()
    query = filtered_requests(filters).with_only_columns(*EXPORT_READS).execution_options(yield_per=batch)
    for rows in db.session.execute(query).partitions():
        writer.writerows([neutralise(str(value(row))) if typed else str(value(row)) for value, typed in EXPORT_VALUES] for row in rows)
        yield flush()


def count_matching(filters: RequestFilters) -> int:
    """How many requests an export of these filters will hold: from the per-status counts when
    only a status is chosen (no second pass over the rows before the export starts), else counted."""
    if filters.only_status:
        stored_counts = dict(db.session.execute(STATUS_COUNTS).all())
        return stored_counts.get(filters.status, 0) if filters.status else sum(stored_counts.values())
    return db.session.execute(select(func.count()).select_from(filtered_requests(filters).order_by(None).subquery())).scalar_one()

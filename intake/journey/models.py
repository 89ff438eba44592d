"""Database models for the patient journey: in-progress drafts and submitted requests."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, Index, String, Text, event, text
from sqlalchemy.orm import Mapped, mapped_column

from intake.clinic import vocabulary
from intake.platform.extensions import db
from intake.platform.timeutil import UTCDateTime, utcnow
from intake.triage import Urgency
from intake.clinic.vocabulary import codes

REQUEST_STATUSES = ("new", "contacted", "booked", "attended", "no_show", "cancelled", "declined")
URGENCIES = tuple(level.value for level in Urgency)
# Why a request's personal data was erased: the patient asked, or it was kept as long as the clinic keeps
# requests that never became an appointment (`flask retention purge`).
ERASURE_CAUSES = ("patient_request", "retention")
# Answers every request holds until it is erased, and none holds after (empty text and lists otherwise).
ANSWERS_UNTIL_ERASED = ("date_of_birth", "contact_method", "region", "side", "duration", "onset", "pain_now", "pain_worst")
BLANK_WHEN_ERASED = ("first_name", "last_name", "email", "phone", "phone_display", "description", "goals", "availability_note")
NULL_WHEN_ERASED = (*ANSWERS_UNTIL_ERASED, "postcode", "earliest_date")
EMPTY_LISTS_WHEN_ERASED = ("urgency_reasons", "soft_flags", "sensations", "available_days", "available_times")
EMPTY_MAPPINGS_WHEN_ERASED = ("safety_answers",)
# The database's own rules for erasure (migration 0015 creates the same): answers may be missing only
# from an erased request, and an erased request holds nothing of the patient's.
ERASURE_CHECKS = {
    "answers_until_erased": "erased_at IS NOT NULL OR ("
    + " AND ".join(f"{column} IS NOT NULL" for column in ANSWERS_UNTIL_ERASED) + ")",
    "nothing_kept_when_erased": "erased_at IS NULL OR ("
    + " AND ".join([
        *(f"{column} = ''" for column in BLANK_WHEN_ERASED),
        *(f"{column} IS NULL" for column in NULL_WHEN_ERASED),
        *(f"CAST({column} AS TEXT) = '[]'" for column in EMPTY_LISTS_WHEN_ERASED),
        *(f"CAST({column} AS TEXT) = '{{}}'" for column in EMPTY_MAPPINGS_WHEN_ERASED),
        "NOT marketing_opt_in",
    ]) + ")",
    "erasure_recorded": "(erased_at IS NULL AND erased_because IS NULL) OR "
    f"(erased_at IS NOT NULL AND erased_because IN ({', '.join(repr(cause) for cause in ERASURE_CAUSES)}))",
}


# The back-pain screen's result (intake.triage.back_risk) as the database checks it: all three
# present and in range, with the risk and its place in the queue following from the scores, or
# none (not asked) and the queue place of low risk. Migration 0019 creates the same.
BACK_SCREEN_CHECKS = {
    "back_screen_scored": "(back_risk IS NULL AND back_screen_total IS NULL AND back_screen_psychological IS NULL AND back_risk_rank = 2)"
    " OR (back_risk IS NOT NULL AND back_screen_total IS NOT NULL AND back_screen_psychological IS NOT NULL"
    " AND back_screen_psychological BETWEEN 0 AND 5"
    " AND back_screen_total BETWEEN back_screen_psychological AND back_screen_psychological + 4 AND back_screen_total <= 9"
    " AND ((back_risk = 'high' AND back_screen_psychological >= 4 AND back_risk_rank = 0)"
    " OR (back_risk = 'medium' AND back_screen_psychological < 4 AND back_screen_total >= 4 AND back_risk_rank = 1)"
    " OR (back_risk = 'low' AND back_screen_total < 4 AND back_risk_rank = 2)))",
    "back_screen_erased": "erased_at IS NULL OR (back_risk IS NULL AND CAST(back_screen AS TEXT) = '{}')",
}


def _quoted(values: tuple[str, ...]) -> str:
    """Render values as a SQL IN list for a check constraint."""
    return ", ".join(f"'{value}'" for value in values)


class Draft(db.Model):
    """A patient's answers so far, kept server-side and tied to their browser session.

    The id is a secret random token held only in the patient's signed session cookie.
    Drafts expire after a period without activity and are purged.
    """

    __tablename__ = "drafts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)

# Migration 0022 creates the same. Each expression is written as the search writes it, so the
# planner recognises it.
SEARCHED_NAME = "lower(first_name || ' ' || last_name)"
TRIGRAM_INDEXES = {
    "ix_assessment_requests_name_trgm": SEARCHED_NAME,
    "ix_assessment_requests_email_trgm": "lower(email)",
    "ix_assessment_requests_phone_trgm": "phone",
}


# Migration 0024 creates the same, for a search by whole surname or whole name.
WHOLE_NAME_INDEXES = {
    "ix_assessment_requests_surname_rank": "lower(last_name)",
    "ix_assessment_requests_name_rank": SEARCHED_NAME,
}

class AssessmentRequest(db.Model):
    """A submitted request for a free initial assessment."""

    __tablename__ = "assessment_requests"
    __table_args__ = (
        CheckConstraint(f"status IN ({_quoted(REQUEST_STATUSES)})", name="status_known"),
        CheckConstraint(f"urgency IN ({_quoted(URGENCIES)})", name="urgency_known"),
        CheckConstraint(f"contact_method IN ({_quoted(codes(vocabulary.CONTACT_METHODS))})", name="contact_method_known"),
        CheckConstraint(f"region IN ({_quoted(codes(vocabulary.BODY_REGIONS))})", name="region_known"),
        CheckConstraint(f"side IN ({_quoted(codes(vocabulary.SIDES))})", name="side_known"),
        CheckConstraint(f"duration IN ({_quoted(codes(vocabulary.DURATIONS))})", name="duration_known"),
        CheckConstraint(f"onset IN ({_quoted(codes(vocabulary.ONSETS))})", name="onset_known"),
        CheckConstraint("pain_now BETWEEN 0 AND 10", name="pain_now_range"),
        CheckConstraint("pain_worst BETWEEN 0 AND 10", name="pain_worst_range"),
        *(CheckConstraint(rule, name=name) for name, rule in ERASURE_CHECKS.items()),
        *(CheckConstraint(rule, name=name) for name, rule in BACK_SCREEN_CHECKS.items()),
        Index("ix_assessment_requests_urgency_created", "urgency", "created_at"),
        Index("ix_assessment_requests_status_created", "status", "created_at"),
        # The back office lists emergency, then urgent, then routine; within each, high back-pain
        # risk, then medium, then the rest; then newest first (id breaks ties). Each order it offers
        # has an index in exactly that order: no sorting at any size.
        Index("ix_assessment_requests_rank_created", "urgency_rank", "back_risk_rank", text("created_at DESC"), text("id DESC")),
        Index(
            "ix_assessment_requests_status_rank_created", "status", "urgency_rank", "back_risk_rank", text("created_at DESC"), text("id DESC"),
        ),
        Index("ix_assessment_requests_created_id", "created_at", "id"),
        # A search typed whole (intake.staff.listing.resolve_search): a surname, a first name and
        # surname, each in the list's order so a page reads just its rows however many share the
        # name; the names included so counting reads the index alone. And a whole email address.
        *(Index(name, text(expression), "urgency_rank", "back_risk_rank", text("created_at DESC"), text("id DESC"),
                postgresql_include=["first_name", "last_name"])
          for name, expression in WHOLE_NAME_INDEXES.items()),
        Index("ix_assessment_requests_email_lower", text("lower(email)")),
        # The back office's search by part of a name, email or phone number: trigram indexes on exactly
        # the expressions intake.staff.listing searches (PostgreSQL's pg_trgm; SQLite scans instead).
        *(Index(name, text(f"{expression} gin_trgm_ops"), postgresql_using="gin").ddl_if(dialect="postgresql")
          for name, expression in TRIGRAM_INDEXES.items()),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(8), unique=True)
    # The draft token this request came from: unique, so a repeated submit stores one request.
    submission_key: Mapped[str] = mapped_column(String(64), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="new")
    urgency: Mapped[str] = mapped_column(String(16))
    urgency_rank: Mapped[int] = mapped_column(default=2)  # 0 emergency, 1 urgent, 2 routine: sorts flagged first
    urgency_reasons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    soft_flags: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    # The red flags the patient's own words showed (journey/words.py: flags_in_words), with their
    # answer when asked directly; kept even when they took the words out before sending.
    free_text_flags: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")

    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    email: Mapped[str] = mapped_column(String(254))
    phone: Mapped[str] = mapped_column(String(20), index=True)  # E.164, as texts and searches (a whole number: this index) need it
    # The same number as the patient would write it, worked out once when the request is stored
    # (formatting a number costs more than the rest of a row of the back-office list).
    phone_display: Mapped[str] = mapped_column(String(32), default="", server_default="")
    contact_method: Mapped[str | None] = mapped_column(String(16))
    postcode: Mapped[str | None] = mapped_column(String(10))

    region: Mapped[str | None] = mapped_column(String(32))
    side: Mapped[str | None] = mapped_column(String(16))
    duration: Mapped[str | None] = mapped_column(String(32))
    onset: Mapped[str | None] = mapped_column(String(32))
    pain_now: Mapped[int | None]
    pain_worst: Mapped[int | None]
    sensations: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[str] = mapped_column(Text, default="")
    safety_answers: Mapped[dict[str, bool]] = mapped_column(JSON, default=dict)
    # The back-pain screen, asked of a lower-back problem: the answers by item code (intake.clinic.
    # back_screen), and their score (intake.triage.back_risk). Not asked: {} and None, and the queue
    # place of low risk (0 high, 1 medium, 2 low or not asked).
    back_screen: Mapped[dict[str, str]] = mapped_column(JSON, default=dict, server_default="{}")
    back_screen_total: Mapped[int | None]
    back_screen_psychological: Mapped[int | None]
    back_risk: Mapped[str | None] = mapped_column(String(8))
    back_risk_rank: Mapped[int] = mapped_column(default=2, server_default="2")

    site_code: Mapped[str] = mapped_column(String(40), index=True)
    available_days: Mapped[list[str]] = mapped_column(JSON, default=list)
    available_times: Mapped[list[str]] = mapped_column(JSON, default=list)
    earliest_date: Mapped[date | None] = mapped_column(Date)
    availability_note: Mapped[str] = mapped_column(Text, default="")

    consent_given_at: Mapped[datetime] = mapped_column(UTCDateTime)
    marketing_opt_in: Mapped[bool] = mapped_column(default=False)
    # The privacy notice's version the patient agreed to (None: sent before versions were kept).
    privacy_notice_version: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Set when the patient's personal data was erased: the request keeps only its reference, dates,
    # site, urgency and status, for the clinic's counts (the answers above are then None or empty).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    erased_because: Mapped[str | None] = mapped_column(String(16))

    @property
    def erased(self) -> bool:
        return self.erased_at is not None


class StatusCount(db.Model):
    """How many requests are in each status, so the back office can show counts without
    counting every row. The database keeps them, by triggers on assessment_requests
    (below, and migration 0007), whatever statement inserts, changes or deletes a request."""

    __tablename__ = "request_status_counts"

    status: Mapped[str] = mapped_column(String(16), primary_key=True)
    requests: Mapped[int] = mapped_column(default=0)

    @staticmethod
    def create_rows() -> None:
        """Add a zero count for every status (optional: a status gets its row when a request first takes it)."""
        db.session.add_all(StatusCount(status=status, requests=0) for status in REQUEST_STATUSES)


# The same triggers as migration 0007, for a database built from the models (db.create_all()).
_JOIN_COUNT = (
    "INSERT INTO request_status_counts (status, requests) VALUES (NEW.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET requests = request_status_counts.requests + 1"
)
_LEAVE_COUNT = "UPDATE request_status_counts SET requests = requests - 1 WHERE status = OLD.status"
STATUS_COUNT_TRIGGERS = {
    "sqlite": [
        f"CREATE TRIGGER IF NOT EXISTS request_status_counts_insert AFTER INSERT ON assessment_requests BEGIN {_JOIN_COUNT}; END",
        f"CREATE TRIGGER IF NOT EXISTS request_status_counts_update AFTER UPDATE OF status ON assessment_requests "
        f"WHEN OLD.status IS NOT NEW.status BEGIN {_LEAVE_COUNT}; {_JOIN_COUNT}; END",
        f"CREATE TRIGGER IF NOT EXISTS request_status_counts_delete AFTER DELETE ON assessment_requests BEGIN {_LEAVE_COUNT}; END",
    ],
    "postgresql": [
        "CREATE OR REPLACE FUNCTION count_request_statuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {_LEAVE_COUNT}; END IF; "
        f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {_JOIN_COUNT}; END IF; "
        "RETURN NULL; END $$",
        "CREATE OR REPLACE TRIGGER request_status_counts_insert_delete AFTER INSERT OR DELETE ON assessment_requests "
        "FOR EACH ROW EXECUTE FUNCTION count_request_statuses()",
        "CREATE OR REPLACE TRIGGER request_status_counts_update AFTER UPDATE OF status ON assessment_requests "
        "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_request_statuses()",
    ],
}


@event.listens_for(AssessmentRequest.__table__, "after_create")
def _keep_status_counts_in_the_database(table, connection, **kw) -> None:
    """Create the counting triggers with the table (their bodies find request_status_counts when they run)."""
    for statement in STATUS_COUNT_TRIGGERS.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


@event.listens_for(AssessmentRequest.__table__, "before_create")
def _trigram_indexes_need_pg_trgm(table, connection, **kw) -> None:
    """The search's GIN indexes use pg_trgm's operator class (PostgreSQL's contrib, shipped with it)."""
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")

"""Patients' data can be erased: on request, and by the retention purge

Revision ID: 0015_erasure_retention
Revises: 0014
Create Date: 2026-11-30 06:50:00

- assessment_requests: `erased_at` and `erased_because`; the answers every request holds become
  nullable, and three checks say when: answers may be missing only from an erased request, an
  erased request holds nothing of the patient's, and every erasure records why.
- request_notes: still never deleted, and never edited, except for the one change erasure makes:
  the body emptied, every other column as it was. The audit log stays wholly append-only.
- outbox_messages: `body_removed_at`, and an index for finding sent messages by when they went.

On SQLite, making columns nullable rebuilds the table, and with it would go the triggers that
keep the status counts (migration 0007) and raise the diary's version (migration 0012), and the
DESC order of the list's indexes (migration 0005): all are made again here.
"""
import sqlalchemy as sa
from alembic import op

revision = '0015_erasure_retention'
down_revision = '0014'
branch_labels = None
depends_on = None

# Frozen copies of the rules at this revision (intake.journey.models.ERASURE_CHECKS builds the same).
ANSWERS = {
    'date_of_birth': sa.Date(), 'contact_method': sa.String(16), 'region': sa.String(32), 'side': sa.String(16),
    'duration': sa.String(32), 'onset': sa.String(32), 'pain_now': sa.Integer(), 'pain_worst': sa.Integer(),
}
BLANK = ('first_name', 'last_name', 'email', 'phone', 'phone_display', 'description', 'goals', 'availability_note')
NULL = (*ANSWERS, 'postcode', 'earliest_date')
EMPTY_LISTS = ('urgency_reasons', 'soft_flags', 'sensations', 'available_days', 'available_times')
CHECKS = {
    'answers_until_erased': 'erased_at IS NOT NULL OR (' + ' AND '.join(f'{column} IS NOT NULL' for column in ANSWERS) + ')',
    'nothing_kept_when_erased': 'erased_at IS NULL OR (' + ' AND '.join([
        *(f"{column} = ''" for column in BLANK), *(f'{column} IS NULL' for column in NULL),
        *(f"CAST({column} AS TEXT) = '[]'" for column in EMPTY_LISTS), "CAST(safety_answers AS TEXT) = '{}'",
        'NOT marketing_opt_in',
    ]) + ')',
    'erasure_recorded': "(erased_at IS NULL AND erased_because IS NULL) OR "
                        "(erased_at IS NOT NULL AND erased_because IN ('patient_request', 'retention'))",
}

# Migration 0007's status-count triggers, for SQLite's rebuilt table.
JOIN_COUNT = (
    "INSERT INTO request_status_counts (status, requests) VALUES (NEW.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET requests = request_status_counts.requests + 1"
)
LEAVE_COUNT = "UPDATE request_status_counts SET requests = requests - 1 WHERE status = OLD.status"
SQLITE_COUNT_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS request_status_counts_insert AFTER INSERT ON assessment_requests BEGIN {JOIN_COUNT}; END",
    "CREATE TRIGGER IF NOT EXISTS request_status_counts_update AFTER UPDATE OF status ON assessment_requests "
    f"WHEN OLD.status IS NOT NEW.status BEGIN {LEAVE_COUNT}; {JOIN_COUNT}; END",
    f"CREATE TRIGGER IF NOT EXISTS request_status_counts_delete AFTER DELETE ON assessment_requests BEGIN {LEAVE_COUNT}; END",
)

# Migration 0012's trigger: the diary's version rises when what it shows of a booked patient changes.
SHOWN_IN_THE_DIARY = ("first_name", "last_name", "phone", "phone_display", "urgency", "reference")
SQLITE_DIARY_TRIGGER = (
    f"CREATE TRIGGER IF NOT EXISTS assessment_requests_bump_diary_version AFTER UPDATE OF {', '.join(SHOWN_IN_THE_DIARY)} "
    f"ON assessment_requests WHEN {' OR '.join(f'OLD.{column} IS NOT NEW.{column}' for column in SHOWN_IN_THE_DIARY)} "
    "BEGIN UPDATE diary_version SET version = version + 1; END"
)

# Migration 0005's indexes in the back-office list's orders: SQLite's rebuild would lose their DESC.
ORDERED_INDEXES = {
    'ix_assessment_requests_rank_created': 'urgency_rank, created_at DESC, id DESC',
    'ix_assessment_requests_status_rank_created': 'status, urgency_rank, created_at DESC, id DESC',
}


def _after_sqlite_rebuild() -> None:
    """Put back what SQLite's rebuild of assessment_requests loses: its triggers, the ordered indexes."""
    for statement in (*SQLITE_COUNT_TRIGGERS, SQLITE_DIARY_TRIGGER):
        op.execute(statement)
    for name, columns in ORDERED_INDEXES.items():
        op.execute(f"DROP INDEX IF EXISTS {name}")
        op.execute(f"CREATE INDEX {name} ON assessment_requests ({columns})")


# The one change a note allows: its body emptied, nothing else.
ERASING_THE_BODY_ONLY = (
    "NEW.body = '' AND NEW.id = OLD.id AND NEW.request_id = OLD.request_id "
    "AND NEW.author_id = OLD.author_id AND NEW.created_at = OLD.created_at"
)
NOTE_REFUSAL = 'request_notes rows cannot be changed or deleted; erasure may only empty a body'


def _note_triggers_allow_erasure(postgresql: bool) -> None:
    if postgresql:
        op.execute("DROP TRIGGER request_notes_append_only ON request_notes")
        op.execute(
            "CREATE OR REPLACE FUNCTION request_notes_erase_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP = 'UPDATE' AND {ERASING_THE_BODY_ONLY} THEN RETURN NEW; END IF; "
            f"RAISE EXCEPTION '{NOTE_REFUSAL}'; END $$"
        )
        op.execute("CREATE TRIGGER request_notes_erase_only BEFORE UPDATE OR DELETE ON request_notes "
                   "FOR EACH ROW EXECUTE FUNCTION request_notes_erase_only()")
    else:
        op.execute("DROP TRIGGER request_notes_no_update")
        op.execute(f"CREATE TRIGGER request_notes_erase_only BEFORE UPDATE ON request_notes WHEN NOT ({ERASING_THE_BODY_ONLY}) "
                   f"BEGIN SELECT RAISE(ABORT, '{NOTE_REFUSAL}'); END")


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('erased_because', sa.String(length=16), nullable=True))
        for column, type_ in ANSWERS.items():
            batch_op.alter_column(column, existing_type=type_, nullable=True)
        for name, rule in CHECKS.items():
            batch_op.create_check_constraint(name, rule)
    if not postgresql:
        _after_sqlite_rebuild()
    _note_triggers_allow_erasure(postgresql)
    op.add_column('outbox_messages', sa.Column('body_removed_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_outbox_messages_status_sent', 'outbox_messages', ['status', 'sent_at'])


def downgrade():
    """Refused by the database while any request is erased (its answers cannot be NOT NULL again)."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.drop_index('ix_outbox_messages_status_sent', table_name='outbox_messages')
    op.execute("ALTER TABLE outbox_messages DROP COLUMN body_removed_at")  # SQLite 3.35+ and PostgreSQL alike
    if postgresql:
        op.execute("DROP TRIGGER request_notes_erase_only ON request_notes")
        op.execute("DROP FUNCTION request_notes_erase_only()")
        op.execute("CREATE TRIGGER request_notes_append_only BEFORE UPDATE OR DELETE ON request_notes "
                   "FOR EACH ROW EXECUTE FUNCTION refuse_change()")
    else:
        op.execute("DROP TRIGGER request_notes_erase_only")
        op.execute("CREATE TRIGGER request_notes_no_update BEFORE UPDATE ON request_notes "
                   "BEGIN SELECT RAISE(ABORT, 'request_notes rows cannot be changed or deleted'); END")
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        for name in CHECKS:
            batch_op.drop_constraint(name, type_='check')
        for column, type_ in ANSWERS.items():
            batch_op.alter_column(column, existing_type=type_, nullable=False)
        batch_op.drop_column('erased_because')
        batch_op.drop_column('erased_at')
    if not postgresql:
        _after_sqlite_rebuild()

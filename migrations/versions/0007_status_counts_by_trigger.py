"""The database keeps the per-status request counts itself, by triggers on assessment_requests

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29 23:40:00

Before, the app added and took away from the counts as it changed a status, so any write that
went round it (a script, a bulk update, a delete) left them wrong. The counts are worked out
afresh here, then triggers keep them: after every insert, status change and delete.
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

JOIN_COUNT = (
    "INSERT INTO request_status_counts (status, requests) VALUES (NEW.status, 1) "
    "ON CONFLICT (status) DO UPDATE SET requests = request_status_counts.requests + 1"
)
LEAVE_COUNT = "UPDATE request_status_counts SET requests = requests - 1 WHERE status = OLD.status"
RECOUNT = (
    "UPDATE request_status_counts SET requests = "
    "(SELECT COUNT(*) FROM assessment_requests WHERE assessment_requests.status = request_status_counts.status)"
)
SQLITE_TRIGGERS = ('request_status_counts_insert', 'request_status_counts_update', 'request_status_counts_delete')
POSTGRESQL_TRIGGERS = ('request_status_counts_insert_delete', 'request_status_counts_update')


def upgrade():
    op.execute(RECOUNT)
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "CREATE OR REPLACE FUNCTION count_request_statuses() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF TG_OP IN ('UPDATE', 'DELETE') THEN {LEAVE_COUNT}; END IF; "
            f"IF TG_OP IN ('INSERT', 'UPDATE') THEN {JOIN_COUNT}; END IF; "
            "RETURN NULL; END $$"
        )
        op.execute("CREATE TRIGGER request_status_counts_insert_delete AFTER INSERT OR DELETE ON assessment_requests "
                   "FOR EACH ROW EXECUTE FUNCTION count_request_statuses()")
        op.execute("CREATE TRIGGER request_status_counts_update AFTER UPDATE OF status ON assessment_requests "
                   "FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status) EXECUTE FUNCTION count_request_statuses()")
    else:
        op.execute(f"CREATE TRIGGER request_status_counts_insert AFTER INSERT ON assessment_requests BEGIN {JOIN_COUNT}; END")
        op.execute("CREATE TRIGGER request_status_counts_update AFTER UPDATE OF status ON assessment_requests "
                   f"WHEN OLD.status IS NOT NEW.status BEGIN {LEAVE_COUNT}; {JOIN_COUNT}; END")
        op.execute(f"CREATE TRIGGER request_status_counts_delete AFTER DELETE ON assessment_requests BEGIN {LEAVE_COUNT}; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for trigger in POSTGRESQL_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger} ON assessment_requests")
        op.execute("DROP FUNCTION count_request_statuses()")
    else:
        for trigger in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER {trigger}")

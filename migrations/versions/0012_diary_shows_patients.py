"""The diary's version also rises when a booked patient's name, phone, reference or urgency changes

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 07:10:00

The diary shows each appointment's patient: their name, reference and urgency (and on the day
list, their phone). Pages kept for a version of the diary (the week's table, see
intake.platform.page_cache) must never show a name or an urgency that has since changed, so a
change to any of those columns of a request raises the version too, in the same transaction.
Only a real change counts: saving the same value again, or any other column, does not.
"""
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SHOWN_IN_THE_DIARY = ("first_name", "last_name", "phone", "phone_display", "urgency", "reference")
BUMP = "UPDATE diary_version SET version = version + 1"


def upgrade():
    columns = ", ".join(SHOWN_IN_THE_DIARY)
    if op.get_bind().dialect.name == 'postgresql':
        changed = " OR ".join(f"OLD.{column} IS DISTINCT FROM NEW.{column}" for column in SHOWN_IN_THE_DIARY)
        op.execute(f"CREATE TRIGGER assessment_requests_bump_diary_version AFTER UPDATE OF {columns} ON assessment_requests "
                   f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION bump_diary_version()")
    else:
        changed = " OR ".join(f"OLD.{column} IS NOT NEW.{column}" for column in SHOWN_IN_THE_DIARY)
        op.execute(f"CREATE TRIGGER assessment_requests_bump_diary_version AFTER UPDATE OF {columns} ON assessment_requests "
                   f"WHEN {changed} BEGIN {BUMP}; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER assessment_requests_bump_diary_version ON assessment_requests")
    else:
        op.execute("DROP TRIGGER assessment_requests_bump_diary_version")

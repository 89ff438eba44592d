"""Check constraints on the answer codes stored with each request

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 16:10:00

"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None

# Frozen copies of the codes at this revision: later changes to intake.clinic.vocabulary need their own migration.
CHECKS = {
    'contact_method_known': ('contact_method', ('phone', 'text', 'email')),
    'region_known': ('region', ('lower_back', 'upper_back', 'neck', 'shoulder', 'elbow', 'wrist_hand', 'hip',
                                'knee', 'ankle_foot', 'head_jaw', 'other')),
    'side_known': ('side', ('left', 'right', 'both', 'centre')),
    'duration_known': ('duration', ('under_2_weeks', '2_to_6_weeks', '6_to_12_weeks', 'over_3_months')),
    'onset_known': ('onset', ('injury', 'gradual', 'after_surgery', 'not_sure')),
}


def upgrade():
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        for name, (column, values) in CHECKS.items():
            batch_op.create_check_constraint(name, f"{column} IN ({', '.join(repr(value) for value in values)})")


def downgrade():
    with op.batch_alter_table('assessment_requests', schema=None) as batch_op:
        for name in CHECKS:
            batch_op.drop_constraint(name, type_='check')

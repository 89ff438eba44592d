"""Each request keeps the back-pain screen's answers and score; the list orders by its risk after urgency

Revision ID: 0021_back_pain_risk
Revises: 0020_waitlist
Create Date: 2026-11-30 09:30:00

- assessment_requests: `back_screen` (the answers by item code), `back_screen_total` (0-9),
  `back_screen_psychological` (0-5), `back_risk` (low, medium, high) and `back_risk_rank` (0 high,
  1 medium, 2 low or not asked). Requests stored before were never screened: {} and None, rank 2.
  Two checks: the risk and rank follow from the scores (or all are empty), and an erased request
  keeps none of it.
- The back office's two ordered indexes take `back_risk_rank` after `urgency_rank`, so the list,
  now ordered by urgency, then risk, then newest, still reads an index without sorting.

SQLite cannot add a table's check to an existing table without rebuilding it (which would lose the
triggers of migrations 0007 and 0012): there, the checks are attached to the last column added,
which SQLite enforces just the same.
"""
import sqlalchemy as sa
from alembic import op

revision = '0021_back_pain_risk'
down_revision = '0020_waitlist'
branch_labels = None
depends_on = None

# Frozen copies of the rules at this revision (intake.journey.models.BACK_SCREEN_CHECKS holds the same).
CHECKS = {
    'ck_assessment_requests_back_screen_scored':
        "(back_risk IS NULL AND back_screen_total IS NULL AND back_screen_psychological IS NULL AND back_risk_rank = 2)"
        " OR (back_risk IS NOT NULL AND back_screen_total IS NOT NULL AND back_screen_psychological IS NOT NULL"
        " AND back_screen_psychological BETWEEN 0 AND 5"
        " AND back_screen_total BETWEEN back_screen_psychological AND back_screen_psychological + 4 AND back_screen_total <= 9"
        " AND ((back_risk = 'high' AND back_screen_psychological >= 4 AND back_risk_rank = 0)"
        " OR (back_risk = 'medium' AND back_screen_psychological < 4 AND back_screen_total >= 4 AND back_risk_rank = 1)"
        " OR (back_risk = 'low' AND back_screen_total < 4 AND back_risk_rank = 2)))",
    'ck_assessment_requests_back_screen_erased': "erased_at IS NULL OR (back_risk IS NULL AND CAST(back_screen AS TEXT) = '{}')",
}
ORDERED_INDEXES = {
    'ix_assessment_requests_rank_created': ('urgency_rank', 'created_at DESC', 'id DESC'),
    'ix_assessment_requests_status_rank_created': ('status', 'urgency_rank', 'created_at DESC', 'id DESC'),
}


def _create_ordered_indexes(after_urgency: tuple[str, ...]) -> None:
    """The list's two indexes, with `after_urgency` columns following urgency_rank."""
    for name, columns in ORDERED_INDEXES.items():
        at = columns.index('urgency_rank') + 1
        ordered = (*columns[:at], *after_urgency, *columns[at:])
        op.create_index(name, 'assessment_requests', [sa.text(column) for column in ordered])


def upgrade():
    sqlite = op.get_bind().dialect.name == 'sqlite'
    op.add_column('assessment_requests', sa.Column('back_screen', sa.JSON(), nullable=False, server_default='{}'))
    op.add_column('assessment_requests', sa.Column('back_screen_total', sa.Integer(), nullable=True))
    op.add_column('assessment_requests', sa.Column('back_screen_psychological', sa.Integer(), nullable=True))
    op.add_column('assessment_requests', sa.Column('back_risk', sa.String(length=8), nullable=True))
    if sqlite:
        checks = " ".join(f"CONSTRAINT {name} CHECK ({rule})" for name, rule in CHECKS.items())
        op.execute(f"ALTER TABLE assessment_requests ADD COLUMN back_risk_rank INTEGER DEFAULT '2' NOT NULL {checks}")
    else:
        op.add_column('assessment_requests', sa.Column('back_risk_rank', sa.Integer(), nullable=False, server_default='2'))
        for name, rule in CHECKS.items():
            op.create_check_constraint(op.f(name), 'assessment_requests', rule)
    for name in ORDERED_INDEXES:
        op.drop_index(name, table_name='assessment_requests')
    _create_ordered_indexes(('back_risk_rank',))


def downgrade():
    for name in ORDERED_INDEXES:
        op.drop_index(name, table_name='assessment_requests')
    _create_ordered_indexes(())
    if op.get_bind().dialect.name != 'sqlite':
        for name in CHECKS:
            op.drop_constraint(op.f(name), 'assessment_requests', type_='check')
    # Plain ALTER TABLE, not batch mode (which would rebuild the table on SQLite and lose its triggers);
    # on SQLite the checks go with the column they are attached to, so it goes first.
    for column in ('back_risk_rank', 'back_risk', 'back_screen_psychological', 'back_screen_total', 'back_screen'):
        op.execute(f"ALTER TABLE assessment_requests DROP COLUMN {column}")

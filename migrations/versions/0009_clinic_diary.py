"""The clinic's diary: practitioners, working hours, exceptions, appointment types, booking rules;
appointments belong to a practitioner and block their time, and the database refuses overlaps

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 02:20:00

Appointments booked before were booked with a clinician's staff account: each such clinician
becomes a practitioner linked to that account, working at the sites they were booked at.
An old appointment blocks only its own length (it had no buffer).
"""
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

OVERLAPS = (
    "EXISTS (SELECT 1 FROM appointments AS other WHERE other.practitioner_id = NEW.practitioner_id "
    "AND NOT other.cancelled AND other.id IS NOT NEW.id "
    "AND other.starts_at < NEW.blocked_until AND other.blocked_until > NEW.starts_at)"
)
SQLITE_TRIGGERS = [
    "CREATE TRIGGER appointments_no_overlap_insert BEFORE INSERT ON appointments "
    f"WHEN NOT NEW.cancelled AND {OVERLAPS} BEGIN SELECT RAISE(ABORT, 'appointments_no_overlap'); END",
    "CREATE TRIGGER appointments_no_overlap_update BEFORE UPDATE OF practitioner_id, starts_at, blocked_until, cancelled "
    f"ON appointments WHEN NOT NEW.cancelled AND {OVERLAPS} BEGIN SELECT RAISE(ABORT, 'appointments_no_overlap'); END",
]


def upgrade():
    op.create_table('practitioners',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('staff_user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['staff_user_id'], ['staff_users.id'], name=op.f('fk_practitioners_staff_user_id_staff_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioners')),
        sa.UniqueConstraint('staff_user_id', name=op.f('uq_practitioners_staff_user_id')),
    )
    op.create_table('practitioner_sites',
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('site_code', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_practitioner_sites_practitioner_id_practitioners')),
        sa.PrimaryKeyConstraint('practitioner_id', 'site_code', name=op.f('pk_practitioner_sites')),
    )
    op.create_table('working_hours',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=False),
        sa.Column('site_code', sa.String(length=40), nullable=False),
        sa.Column('weekday', sa.SmallInteger(), nullable=False),
        sa.Column('starts', sa.Time(), nullable=False),
        sa.Column('ends', sa.Time(), nullable=False),
        sa.CheckConstraint('weekday BETWEEN 0 AND 6', name=op.f('ck_working_hours_weekday_known')),
        sa.CheckConstraint('ends > starts', name=op.f('ck_working_hours_ends_after_start')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_working_hours_practitioner_id_practitioners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_working_hours')),
    )
    op.create_index('ix_working_hours_practitioner', 'working_hours', ['practitioner_id', 'weekday'])
    op.create_table('diary_exceptions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('practitioner_id', sa.Integer(), nullable=True),
        sa.Column('site_code', sa.String(length=40), nullable=True),
        sa.Column('starts_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ends_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.CheckConstraint("kind IN ('away', 'extra')", name=op.f('ck_diary_exceptions_kind_known')),
        sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_diary_exceptions_ends_after_start')),
        sa.CheckConstraint("kind = 'away' OR (practitioner_id IS NOT NULL AND site_code IS NOT NULL)",
                           name=op.f('ck_diary_exceptions_extra_has_who_and_where')),
        sa.ForeignKeyConstraint(['practitioner_id'], ['practitioners.id'], name=op.f('fk_diary_exceptions_practitioner_id_practitioners')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_diary_exceptions')),
    )
    op.create_index('ix_diary_exceptions_ends', 'diary_exceptions', ['ends_at'])
    op.create_table('appointment_types',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('minutes', sa.Integer(), nullable=False),
        sa.Column('buffer_minutes', sa.Integer(), nullable=False),
        sa.CheckConstraint('minutes BETWEEN 5 AND 480', name=op.f('ck_appointment_types_minutes_sensible')),
        sa.CheckConstraint('buffer_minutes BETWEEN 0 AND 120', name=op.f('ck_appointment_types_buffer_sensible')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_appointment_types')),
        sa.UniqueConstraint('code', name=op.f('uq_appointment_types_code')),
    )
    op.create_table('booking_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('notice_working_days', sa.Integer(), nullable=False),
        sa.Column('horizon_days', sa.Integer(), nullable=False),
        sa.Column('step_minutes', sa.Integer(), nullable=False),
        sa.Column('bank_holidays', sa.String(length=20), nullable=False),
        sa.Column('patients_choose_times', sa.Boolean(), nullable=False),
        sa.CheckConstraint('id = 1', name=op.f('ck_booking_rules_single_row')),
        sa.CheckConstraint('notice_working_days BETWEEN 0 AND 20', name=op.f('ck_booking_rules_notice_sensible')),
        sa.CheckConstraint('horizon_days BETWEEN 1 AND 366', name=op.f('ck_booking_rules_horizon_sensible')),
        sa.CheckConstraint('step_minutes BETWEEN 5 AND 120', name=op.f('ck_booking_rules_step_sensible')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_booking_rules')),
    )

    with op.batch_alter_table('appointments') as batch:
        batch.add_column(sa.Column('practitioner_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('buffer_minutes', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('blocked_until', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column('cancel_reason', sa.String(length=200), server_default='', nullable=False))
        batch.add_column(sa.Column('sequence', sa.Integer(), server_default='0', nullable=False))
        batch.add_column(sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True))
    _practitioners_from_clinicians()
    with op.batch_alter_table('appointments') as batch:
        batch.drop_index('ix_appointments_clinician_starts')
        batch.drop_constraint('fk_appointments_clinician_id_staff_users', type_='foreignkey')
        batch.drop_column('clinician_id')
        batch.alter_column('practitioner_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('blocked_until', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column('updated_at', existing_type=sa.DateTime(timezone=True), nullable=False)
        batch.alter_column('booked_by_id', existing_type=sa.Integer(), nullable=True)
        batch.create_foreign_key('fk_appointments_practitioner_id_practitioners', 'practitioners', ['practitioner_id'], ['id'])
        batch.create_check_constraint(op.f('ck_appointments_blocks_some_time'), 'blocked_until > starts_at')
        batch.create_index('ix_appointments_practitioner_starts', ['practitioner_id', 'starts_at'])
        batch.create_index('ix_appointments_site_starts', ['site_code', 'starts_at'])

    if op.get_bind().dialect.name == 'postgresql':
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
        op.execute(
            "ALTER TABLE appointments ADD CONSTRAINT appointments_no_overlap EXCLUDE USING gist "
            "(practitioner_id WITH =, tstzrange(starts_at, blocked_until) WITH &&) WHERE (NOT cancelled)"
        )
    else:
        for statement in SQLITE_TRIGGERS:
            op.execute(statement)


def _practitioners_from_clinicians():
    """Make each clinician booked before a practitioner, and point their appointments at them."""
    connection = op.get_bind()
    booked = connection.execute(sa.text(
        "SELECT DISTINCT a.clinician_id, a.site_code, s.name, s.active FROM appointments a JOIN staff_users s ON s.id = a.clinician_id"
    )).all()
    made: dict[int, int] = {}
    for clinician_id, site_code, name, active in booked:
        if clinician_id not in made:
            made[clinician_id] = connection.execute(sa.text(
                "INSERT INTO practitioners (name, active, staff_user_id, created_at) VALUES (:name, :active, :staff, CURRENT_TIMESTAMP) RETURNING id"
            ), {"name": name, "active": active, "staff": clinician_id}).scalar_one()
        connection.execute(sa.text(
            "INSERT INTO practitioner_sites (practitioner_id, site_code) SELECT :id, :site "
            "WHERE NOT EXISTS (SELECT 1 FROM practitioner_sites WHERE practitioner_id = :id AND site_code = :site)"
        ), {"id": made[clinician_id], "site": site_code})
    rows = connection.execute(sa.text("SELECT id, clinician_id, starts_at, minutes, created_at FROM appointments")).all()
    for row in rows:
        connection.execute(sa.text(
            "UPDATE appointments SET practitioner_id = :practitioner, blocked_until = :until, updated_at = :updated WHERE id = :id"
        ), {"practitioner": made[row.clinician_id], "until": _plus_minutes(row.starts_at, row.minutes), "updated": row.created_at, "id": row.id})


def _plus_minutes(moment, minutes):
    """A stored time plus some minutes, as the database gave it back (a datetime, or SQLite's text)."""
    if isinstance(moment, str):
        return (datetime.fromisoformat(moment) + timedelta(minutes=minutes)).isoformat(sep=" ", timespec="microseconds")
    return moment + timedelta(minutes=minutes)


def downgrade():
    """Back to appointments with a clinician's account. Appointments with a practitioner who has no
    staff account cannot be kept (nothing before 0009 could hold them) and are removed."""
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("ALTER TABLE appointments DROP CONSTRAINT appointments_no_overlap")
    else:
        op.execute("DROP TRIGGER appointments_no_overlap_insert")
        op.execute("DROP TRIGGER appointments_no_overlap_update")
    with op.batch_alter_table('appointments') as batch:
        batch.add_column(sa.Column('clinician_id', sa.Integer(), nullable=True))
    op.execute("UPDATE appointments SET clinician_id = (SELECT staff_user_id FROM practitioners WHERE practitioners.id = appointments.practitioner_id)")
    op.execute("DELETE FROM appointments WHERE clinician_id IS NULL")
    op.execute("UPDATE appointments SET booked_by_id = clinician_id WHERE booked_by_id IS NULL")
    with op.batch_alter_table('appointments') as batch:
        batch.drop_index('ix_appointments_site_starts')
        batch.drop_index('ix_appointments_practitioner_starts')
        batch.drop_constraint(op.f('ck_appointments_blocks_some_time'), type_='check')
        batch.drop_constraint('fk_appointments_practitioner_id_practitioners', type_='foreignkey')
        for column in ('practitioner_id', 'buffer_minutes', 'blocked_until', 'cancelled_at', 'cancel_reason', 'sequence', 'updated_at'):
            batch.drop_column(column)
        batch.alter_column('clinician_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('booked_by_id', existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key('fk_appointments_clinician_id_staff_users', 'staff_users', ['clinician_id'], ['id'])
        batch.create_index('ix_appointments_clinician_starts', ['clinician_id', 'starts_at'])
    for table in ('booking_rules', 'appointment_types', 'diary_exceptions', 'working_hours', 'practitioner_sites', 'practitioners'):
        op.drop_table(table)

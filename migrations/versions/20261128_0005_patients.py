"""patients: one record per person; contact details leave bookings and intakes; scores encrypted

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 11:57:10.317074

Data: every intake gets a patient (a correction shares the patient of the intake it
corrects) holding the intake's contact details and date of birth; a booking joins its
intake's patient, and a booking without an intake (a phone booking) gets a patient of its
own. Bookings' clear-text name, email and phone and intakes' clear scores and flag codes
are then dropped (the codes are already inside the encrypted flags). The keys come from the
app running the upgrade (INTAKE_ENCRYPTION_KEYS, PATIENT_SEARCH_KEY); the search index is
computed with the app's booking.patients.search, and `flask rotate-search-key` rebuilds it
should its format ever change.
"""
# Frozen history: the overlap guard's SQL is written out here rather than imported from
# booking.models.appointments (a SQLite table rebuild drops its triggers, so they are re-created).
from alembic import op
import sqlalchemy as sa
from flask import current_app


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


OVERLAP_CHECK = (
    "SELECT RAISE(ABORT, 'booking_no_overlap: the clinician already has a booking at that time') "
    "WHERE EXISTS (SELECT 1 FROM booking AS other WHERE other.clinician_id = NEW.clinician_id "
    "AND other.status <> 'cancelled' AND other.id IS NOT NEW.id "
    "AND other.starts_at < NEW.busy_until AND NEW.starts_at < other.busy_until)"
)
ACTIVE = sa.text("status <> 'cancelled'")
UPCOMING = sa.text("status = 'booked'")


def _sqlite():
    return op.get_bind().dialect.name == "sqlite"


def _drop_sqlite_booking_guards():
    """A SQLite batch rebuild of `booking` would lose its triggers and partial indexes."""
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_insert")
    op.execute("DROP TRIGGER IF EXISTS booking_no_overlap_update")
    op.drop_index('uq_booking_clinician_start_active', table_name='booking')
    op.drop_index('uq_booking_intake_active', table_name='booking')


def _create_sqlite_booking_guards():
    op.create_index('uq_booking_clinician_start_active', 'booking', ['clinician_id', 'starts_at'], unique=True,
                    sqlite_where=ACTIVE)
    op.create_index('uq_booking_intake_active', 'booking', ['intake_id'], unique=True, sqlite_where=ACTIVE)
    op.execute("CREATE TRIGGER booking_no_overlap_insert BEFORE INSERT ON booking "
               f"WHEN NEW.status <> 'cancelled' BEGIN {OVERLAP_CHECK}; END")
    op.execute("CREATE TRIGGER booking_no_overlap_update BEFORE UPDATE OF clinician_id, starts_at, busy_until, status "
               f"ON booking WHEN NEW.status <> 'cancelled' BEGIN {OVERLAP_CHECK}; END")


def _sqlite_foreign_keys_off():
    """SQLite rebuilds `intake` and `booking` (a copy, a DROP, a rename) while other rows point
    at them, which foreign keys forbid. The pragma only works outside a transaction, that is
    before this run's first write; with it still on, the rebuild would fail on existing rows,
    so say how to proceed instead."""
    op.execute("PRAGMA foreign_keys = OFF")
    still_on = op.get_bind().exec_driver_sql("PRAGMA foreign_keys").scalar()
    has_rows = op.get_bind().exec_driver_sql("SELECT EXISTS (SELECT 1 FROM intake) OR EXISTS (SELECT 1 FROM booking)").scalar()
    if still_on and has_rows:
        raise RuntimeError("Revision 0005 rebuilds tables that hold rows: run it on its own, "
                           "`flask db upgrade 0005`, then `flask db upgrade` for any later revision.")


def _sqlite_foreign_keys_checked():
    """After the rebuild: every reference must still hold (the check works inside the transaction)."""
    broken = op.get_bind().exec_driver_sql("PRAGMA foreign_key_check").all()
    if broken:
        raise RuntimeError(f"Revision 0005 left broken references: {broken[:5]}")


def upgrade():
    if _sqlite():
        _sqlite_foreign_keys_off()
    op.create_table('patient',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('contact_encrypted', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.Column('erased_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('questionnaire_token_hash', sa.String(length=64), nullable=True),
    sa.Column('questionnaire_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['merged_into_id'], ['patient.id'], name=op.f('fk_patient_merged_into_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient')),
    sa.UniqueConstraint('questionnaire_token_hash', name=op.f('uq_patient_questionnaire_token_hash'))
    )
    op.create_table('patient_index',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('value', sa.String(length=16), nullable=False),
    sa.CheckConstraint("kind IN ('email', 'phone', 'dob', 'name')", name=op.f('ck_patient_index_kind')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_index_patient_id_patient'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_index'))
    )
    with op.batch_alter_table('patient_index', schema=None) as batch_op:
        batch_op.create_index('ix_patient_index_lookup', ['kind', 'value', 'patient_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_index_patient_id'), ['patient_id'], unique=False)

    op.create_table('patient_note',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('body_encrypted', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['staff_user.id'], name=op.f('fk_patient_note_author_id_staff_user')),
    sa.ForeignKeyConstraint(['patient_id'], ['patient.id'], name=op.f('fk_patient_note_patient_id_patient')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_note'))
    )
    with op.batch_alter_table('patient_note', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_note_patient_id'), ['patient_id'], unique=False)

    # Nullable first, filled by the data step, then made required.
    op.add_column('booking', sa.Column('patient_id', sa.Integer(), nullable=True))
    op.add_column('intake', sa.Column('patient_id', sa.Integer(), nullable=True))
    op.add_column('intake', sa.Column('scores_encrypted', sa.Text(), nullable=True))
    op.add_column('intake', sa.Column('urgent_seen_at', sa.DateTime(timezone=True), nullable=True))

    move_contacts_into_patients(op.get_bind())

    if _sqlite():
        _drop_sqlite_booking_guards()
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_booking_patient_id'), ['patient_id'], unique=False)
        batch_op.create_index('uq_booking_patient_upcoming', ['patient_id'], unique=True,
                              sqlite_where=UPCOMING, postgresql_where=UPCOMING)
        batch_op.create_foreign_key(batch_op.f('fk_booking_patient_id_patient'), 'patient', ['patient_id'], ['id'])
        batch_op.drop_column('patient_name')
        batch_op.drop_column('patient_phone')
        batch_op.drop_column('patient_email')
    if _sqlite():
        _create_sqlite_booking_guards()

    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.alter_column('patient_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_index(batch_op.f('ix_intake_patient_id'), ['patient_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_intake_patient_id_patient'), 'patient', ['patient_id'], ['id'])
        batch_op.drop_column('flag_codes')
        batch_op.drop_column('phq9_total')
        batch_op.drop_column('pcl5_total')
        batch_op.drop_column('gad7_total')
        batch_op.drop_column('contact_encrypted')
    if _sqlite():
        _sqlite_foreign_keys_checked()
        op.execute("PRAGMA foreign_keys = ON")  # takes effect once the transaction ends, if it can


def move_contacts_into_patients(connection):
    """The data step: a patient per intake chain and per phone booking, encrypted and indexed."""
    from booking.crypto import cipher_for
    from booking.patients.search import index_rows
    from booking.timeutil import utcnow

    cipher, key, now = cipher_for(current_app.config), current_app.config["PATIENT_SEARCH_KEY"], utcnow()
    patient = sa.table('patient', sa.column('id', sa.Integer), sa.column('contact_encrypted', sa.Text),
                       sa.column('created_at', sa.DateTime(timezone=True)),
                       sa.column('updated_at', sa.DateTime(timezone=True)))
    patient_index = sa.table('patient_index', sa.column('patient_id', sa.Integer), sa.column('kind', sa.String),
                             sa.column('value', sa.String))
    if connection.dialect.name == "sqlite":
        now = now.replace(tzinfo=None)  # the app stores naive UTC on SQLite (booking.timeutil.UTCDateTime)

    def new_patient(contact):
        patient_id = connection.execute(sa.insert(patient).values(
            contact_encrypted=cipher.encrypt(contact), created_at=now, updated_at=now).returning(patient.c.id)).scalar()
        rows = index_rows(key, patient_id, contact)
        if rows:
            connection.execute(sa.insert(patient_index), rows)
        return patient_id

    patient_of_intake = {}
    intakes = connection.execute(sa.text(
        "SELECT id, previous_id, contact_encrypted, answers_encrypted, phq9_total, gad7_total, pcl5_total "
        "FROM intake ORDER BY id")).all()
    for intake_id, previous_id, contact_text, answers_text, phq9, gad7, pcl5 in intakes:
        if previous_id in patient_of_intake:
            patient_id = patient_of_intake[previous_id]
        else:
            contact = cipher.decrypt(contact_text) or {}
            about = (cipher.decrypt(answers_text) or {}).get("about") or {}
            patient_id = new_patient({"name": contact.get("name"), "date_of_birth": about.get("date_of_birth"),
                                      "email": contact.get("email"), "phone": contact.get("phone")})
        patient_of_intake[intake_id] = patient_id
        totals = {name: total for name, total in (("phq9", phq9), ("gad7", gad7), ("pcl5", pcl5)) if total is not None}
        connection.execute(sa.text("UPDATE intake SET patient_id = :patient, scores_encrypted = :scores WHERE id = :id"),
                           {"patient": patient_id, "scores": cipher.encrypt(totals) if totals else None, "id": intake_id})

    bookings = connection.execute(sa.text(
        "SELECT id, intake_id, patient_name, patient_email, patient_phone FROM booking ORDER BY id")).all()
    for booking_id, intake_id, name, email, phone in bookings:
        patient_id = patient_of_intake.get(intake_id)
        if patient_id is None:
            patient_id = new_patient({"name": name, "date_of_birth": None,
                                      "email": (email or "").strip().lower() or None, "phone": phone})
        connection.execute(sa.text("UPDATE booking SET patient_id = :patient WHERE id = :id"),
                           {"patient": patient_id, "id": booking_id})


def downgrade():
    # Contact details go back into the clear columns they came from.
    from booking.crypto import cipher_for

    if _sqlite():
        _sqlite_foreign_keys_off()
    cipher = cipher_for(current_app.config)
    op.add_column('intake', sa.Column('contact_encrypted', sa.TEXT(), nullable=True))
    op.add_column('intake', sa.Column('gad7_total', sa.INTEGER(), nullable=True))
    op.add_column('intake', sa.Column('pcl5_total', sa.INTEGER(), nullable=True))
    op.add_column('intake', sa.Column('phq9_total', sa.INTEGER(), nullable=True))
    op.add_column('intake', sa.Column('flag_codes', sa.VARCHAR(length=500), nullable=False, server_default=""))
    op.add_column('booking', sa.Column('patient_email', sa.VARCHAR(length=254), nullable=True))
    op.add_column('booking', sa.Column('patient_phone', sa.VARCHAR(length=40), nullable=True))
    op.add_column('booking', sa.Column('patient_name', sa.VARCHAR(length=120), nullable=False, server_default=""))
    connection = op.get_bind()
    contacts = {row.id: cipher.decrypt(row.contact_encrypted) or {}
                for row in connection.execute(sa.text("SELECT id, contact_encrypted FROM patient"))}
    for row in connection.execute(sa.text("SELECT id, patient_id, scores_encrypted, flags_encrypted FROM intake")).all():
        contact, scores = contacts.get(row.patient_id, {}), cipher.decrypt(row.scores_encrypted) or {}
        codes = " ".join(dict.fromkeys(flag["code"] for flag in cipher.decrypt(row.flags_encrypted) or []))[:500]
        connection.execute(sa.text(
            "UPDATE intake SET contact_encrypted = :contact, phq9_total = :phq9, gad7_total = :gad7, "
            "pcl5_total = :pcl5, flag_codes = :codes WHERE id = :id"),
            {"contact": cipher.encrypt({k: contact.get(k) for k in ("name", "email", "phone")}),
             "phq9": scores.get("phq9"), "gad7": scores.get("gad7"), "pcl5": scores.get("pcl5"), "codes": codes,
             "id": row.id})
    for row in connection.execute(sa.text("SELECT id, patient_id FROM booking")).all():
        contact = contacts.get(row.patient_id, {})
        connection.execute(sa.text("UPDATE booking SET patient_name = :name, patient_email = :email, "
                                   "patient_phone = :phone WHERE id = :id"),
                           {"name": (contact.get("name") or "")[:120], "email": contact.get("email"),
                            "phone": contact.get("phone"), "id": row.id})

    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.alter_column('flag_codes', server_default=None, existing_type=sa.VARCHAR(length=500))
        batch_op.drop_constraint(batch_op.f('fk_intake_patient_id_patient'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_intake_patient_id'))
        batch_op.drop_column('urgent_seen_at')
        batch_op.drop_column('scores_encrypted')
        batch_op.drop_column('patient_id')

    if _sqlite():
        _drop_sqlite_booking_guards()
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.alter_column('patient_name', server_default=None, existing_type=sa.VARCHAR(length=120))
        batch_op.drop_constraint(batch_op.f('fk_booking_patient_id_patient'), type_='foreignkey')
        batch_op.drop_index('uq_booking_patient_upcoming', sqlite_where=UPCOMING, postgresql_where=UPCOMING)
        batch_op.drop_index(batch_op.f('ix_booking_patient_id'))
        batch_op.drop_column('patient_id')
    if _sqlite():
        _create_sqlite_booking_guards()

    with op.batch_alter_table('patient_note', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_note_patient_id'))
    op.drop_table('patient_note')
    with op.batch_alter_table('patient_index', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_patient_index_patient_id'))
        batch_op.drop_index('ix_patient_index_lookup')
    op.drop_table('patient_index')
    op.drop_table('patient')
    if _sqlite():
        _sqlite_foreign_keys_checked()
        op.execute("PRAGMA foreign_keys = ON")

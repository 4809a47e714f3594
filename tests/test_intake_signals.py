"""Intake emails are queued by the intake's rules layer (the service), like every other feature's,
so any caller of the service (a view, the demo, a script) gets them."""

import sqlalchemy as sa

from booking.intake_review.decisions import clear_for_booking
from booking.models import OutboxMessage
from tests.factories import create_staff_user
from tests.intake_factories import answers_with, create_intake
from tests.outbox_helpers import body_of, recipient_of


def queued(db):
    """(kind, recipient) of every queued message, oldest first."""
    rows = db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id)).all()
    return [(row.kind, recipient_of(row)) for row in rows]


def test_the_service_queues_the_submit_notice_and_the_urgent_one_once(app, db):
    doctor = create_staff_user(db.session, "clinician")
    create_intake(db.session, app.config)
    assert queued(db) == [("staff_new_intake", doctor.email)]
    create_intake(db.session, app.config, answers=answers_with(phq9={"phq9_9": 1}))
    assert queued(db)[1:] == [("staff_urgent_intake", doctor.email)]


def test_clearing_an_intake_queues_the_patients_booking_link(app, db):
    doctor = create_staff_user(db.session, "clinician")
    intake = create_intake(db.session, app.config, answers=answers_with(medical={"conditions": ["aneurysm"]}))
    token = clear_for_booking(db.session, intake, staff=doctor, now=intake.submitted_at,
                              link_for=lambda token: f"https://clinic.example/book/start/{token}")
    db.session.commit()
    message = db.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.kind != "staff_new_intake")).one()
    assert recipient_of(message) == "jordan@example.org"
    assert f"https://clinic.example/book/start/{token}" in body_of(message)
